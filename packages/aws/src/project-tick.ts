import type { ProjectTick } from "@inferencekey/core";

// Apart from the dispatcher: the project consumer reads messages without loading the SQS client.
/** A project pass from an SQS message body, or undefined when the body is not one. */
export function projectTickOf(body: string): ProjectTick | undefined {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed === null || typeof parsed !== "object") return undefined;
    const { project, tick } = parsed as Record<string, unknown>;
    return typeof project === "string" && typeof tick === "string" && project.length <= 63 && tick.length <= 40 ? { project, tick } : undefined;
  } catch {
    return undefined;
  }
}
