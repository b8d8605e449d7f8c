import { editDistance } from "../schedule/edit-distance";

export { editDistance };

/** Longer inputs are no typo of any name here, and comparing them would cost length x candidates. */
const MAX_SUGGESTION_INPUT = 128;

/** The closest candidate when it is a plausible typo (distance within a third of the length, at least 2). */
export function closest(input: string, candidates: readonly string[]): string | undefined {
  if (input.length > MAX_SUGGESTION_INPUT) return undefined;
  const normalized = input.replace(/[-_\s]/g, "").toLowerCase();
  const exactish = candidates.find((c) => c.replace(/[-_\s]/g, "").toLowerCase() === normalized);
  if (exactish !== undefined) return exactish;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(input, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = Math.max(2, Math.floor(Math.max(input.length, 1) / 3));
  return bestDistance <= allowed ? best : undefined;
}
