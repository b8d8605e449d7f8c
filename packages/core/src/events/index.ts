import { randomBase62 } from "../ids";
import { keys, type PlatformContext } from "../platform/context";
import { redactSecrets } from "../secrets";

export interface WorkloadEvent {
  at: string;
  type: string;
  message: string;
  generation?: number;
}

const EVENT_RETENTION_SECONDS = 14 * 24 * 3600;

/** Orders events recorded in the same millisecond by this process (a fake clock makes that common). */
let sequence = 0;

/**
 * Appends an event to a workload's history (kept 14 days). Never throws: events are informational.
 * Messages quote backend output, so credentials and the server secret are redacted here, once.
 */
export async function recordEvent(
  ctx: PlatformContext,
  project: string,
  workload: string,
  event: Omit<WorkloadEvent, "at">,
): Promise<void> {
  const at = ctx.now();
  const recorded: WorkloadEvent = { ...event, message: redactSecrets(event.message, ctx.serverSecret), at: at.toISOString() };
  try {
    await ctx.store.put(
      {
        pk: keys.events(project, workload),
        sk: `${at.toISOString()}#${String(sequence++ % 1e8).padStart(8, "0")}${randomBase62(4)}`,
        expiresAt: Math.floor(at.getTime() / 1000) + EVENT_RETENTION_SECONDS,
        data: { ...recorded },
      },
      { kind: "absent" },
    );
    ctx.onEvent?.(project, workload, recorded);
  } catch {
    // A lost event (or a failing listener) must not fail the state change it describes.
  }
}

export async function recentEvents(
  ctx: PlatformContext,
  project: string,
  workload: string,
  limit = 20,
): Promise<WorkloadEvent[]> {
  const page = await ctx.store.query({ pk: keys.events(project, workload), descending: true, limit });
  return page.items.map((item) => item.data as unknown as WorkloadEvent);
}

/**
 * A workload's events, newest first, a page at a time (`next_cursor` goes further back). Each carries
 * its `id` (ordered like the events: a later event has a greater id), so a follower polls the first
 * page and shows the events whose id is greater than the last it showed.
 */
export async function eventsPage(
  ctx: PlatformContext,
  project: string,
  workload: string,
  page: { limit?: number; cursor?: string },
): Promise<{ data: (WorkloadEvent & { id: string })[]; next_cursor?: string }> {
  const limit = Math.min(Math.max(Math.trunc(page.limit ?? 100), 1), 500);
  const result = await ctx.store.query({
    pk: keys.events(project, workload),
    descending: true,
    limit,
    ...(page.cursor === undefined ? {} : { cursor: page.cursor }),
  });
  const data = result.items.map((item) => ({ id: `evt_${item.sk}`, ...(item.data as unknown as WorkloadEvent) }));
  return { data, ...(result.cursor === undefined ? {} : { next_cursor: result.cursor }) };
}
