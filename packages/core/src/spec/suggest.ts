/** Levenshtein distance, case-insensitive: small inputs only (field names, enum values). */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, i) => i);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[y.length] ?? 0;
}

/** The closest candidate when it is a plausible typo (distance within a third of the length, at least 2). */
export function closest(input: string, candidates: readonly string[]): string | undefined {
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
