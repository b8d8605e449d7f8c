import type { PlatformContext } from "../platform/context";
import { recordEvent } from "./index";

/**
 * Job and workload lifecycle events for other systems (EventBridge in AWS, the events log under
 * `npm start`). They carry ids and states only, never inputs or results: a consumer reads the job
 * by id (EventBridge entries are capped at 256 KB, and results are the caller's data).
 */
export type LifecycleEvent =
  | { type: "job.succeeded" | "job.failed"; project: string; workload: string; job_id: string; at: string }
  | { type: "workload.ready"; project: string; workload: string; ready_replicas: number; at: string }
  | { type: "workload.scaled"; project: string; workload: string; from: number; to: number; at: string };

export const LIFECYCLE_EVENT_TYPES = ["job.succeeded", "job.failed", "workload.ready", "workload.scaled"] as const;

/** Where lifecycle events go. Publishing never fails the state change it reports: adapters log and drop. */
export interface EventPublisher {
  publish(events: readonly LifecycleEvent[]): Promise<void>;
}

/** The one-line wording of an event in the events log. */
export function describeLifecycleEvent(event: LifecycleEvent): string {
  switch (event.type) {
    case "job.succeeded":
      return `job ${event.job_id} succeeded`;
    case "job.failed":
      return `job ${event.job_id} failed`;
    case "workload.ready":
      return `workload ready (${event.ready_replicas} ready replica${event.ready_replicas === 1 ? "" : "s"})`;
    case "workload.scaled":
      return `workload scaled ${event.from} -> ${event.to}`;
  }
}

/**
 * The local adapter: each event becomes an entry of the workload's events log (type = the event
 * type), where `GET .../events` and the terminal show it.
 */
export function eventsLogPublisher(ctx: PlatformContext): EventPublisher {
  return {
    async publish(events) {
      for (const event of events) {
        await recordEvent(ctx, event.project, event.workload, { type: event.type, message: describeLifecycleEvent(event) });
      }
    },
  };
}

/** Keeps the events in memory (tests), in publish order. */
export class MemoryEventPublisher implements EventPublisher {
  readonly events: LifecycleEvent[] = [];
  async publish(events: readonly LifecycleEvent[]): Promise<void> {
    this.events.push(...events);
  }
}
