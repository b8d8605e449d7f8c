import type { EventPublisher, LifecycleEvent } from "@inferencekey/core";
import { AwsJsonClient } from "./aws-json-client";

/** The `source` of every event the platform puts on its bus (rules match on it). */
export const LIFECYCLE_EVENT_SOURCE = "inferencekey";
/** PutEvents takes at most this many entries per call. */
export const PUT_EVENTS_MAX_ENTRIES = 10;
/** EventBridge's limit for one entry (and for a whole PutEvents request), in bytes. */
export const EVENT_ENTRY_MAX_BYTES = 256 * 1024;
/** Lifecycle events carry ids only: an entry larger than this is a bug, refused long before the 256 KB cap. */
export const LIFECYCLE_ENTRY_MAX_BYTES = 8 * 1024;
/** Entries EventBridge failed (throttled, internal error) are put again this many times. */
const PUT_ATTEMPTS = 3;

/** One PutEvents entry, as the SDK's `PutEventsRequestEntry` has it (`Time` a Date). */
export interface PutEventsRequestEntry {
  EventBusName?: string;
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Resources?: string[];
  Time?: Date;
  TraceHeader?: string;
}

/** An entry on the wire: the JSON protocol sends timestamps as epoch seconds, as the SDK serializes them. */
function wireEntry({ Time, ...entry }: PutEventsRequestEntry): Record<string, unknown> {
  return { ...entry, ...(Time === undefined ? {} : { Time: Time.getTime() / 1000 }) };
}

/**
 * An entry's size as EventBridge counts it: Source, DetailType, Detail, Resources and Time (14
 * bytes when set), in UTF-8 bytes.
 */
export function eventEntrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time === undefined ? 0 : 14;
  for (const text of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (text !== undefined) size += Buffer.byteLength(text);
  }
  return size;
}

/** The PutEvents entry of a lifecycle event: detail-type is the event type, detail the event (ids and states only). */
export function lifecycleEventEntry(event: LifecycleEvent, busName: string): PutEventsRequestEntry {
  return {
    EventBusName: busName,
    Source: LIFECYCLE_EVENT_SOURCE,
    DetailType: event.type,
    Detail: JSON.stringify(event),
    Time: new Date(event.at),
  };
}

interface PutEventsOutput {
  FailedEntryCount?: number;
  Entries?: { EventId?: string; ErrorCode?: string; ErrorMessage?: string }[];
}

/**
 * Lifecycle events on the deployment's EventBridge bus (`PutEvents`, ten entries per call).
 * Entries EventBridge reports as failed are put again with backoff; those still failing are logged
 * with their error code and dropped, as the port asks: an event never fails the change it reports.
 * Calls go through `AwsJsonClient` (`AWSEvents.PutEvents`), not the SDK's EventBridge client, whose
 * load every cold start would pay.
 */
export class EventBridgePublisher implements EventPublisher {
  private readonly client: Pick<AwsJsonClient, "call">;
  private readonly log: (line: string) => void;

  constructor(
    private readonly options: {
      busName: string;
      /** Default: an `AwsJsonClient` for EventBridge (the environment's region, endpoint and credentials). */
      client?: Pick<AwsJsonClient, "call">;
      log?: (line: string) => void;
      /** Waits between attempts (tests shorten it). Default 100 ms, doubled each time. */
      backoffMs?: number;
    },
  ) {
    this.client = options.client ?? new AwsJsonClient({ service: "events" });
    this.log = options.log ?? ((line) => console.error(line));
  }

  async publish(events: readonly LifecycleEvent[]): Promise<void> {
    const entries: { entry: PutEventsRequestEntry; event: LifecycleEvent }[] = [];
    for (const event of events) {
      const entry = lifecycleEventEntry(event, this.options.busName);
      const size = eventEntrySize(entry);
      if (size > LIFECYCLE_ENTRY_MAX_BYTES) {
        this.log(`events: dropped ${event.type} for ${event.project}/${event.workload}: its entry is ${size} bytes, over ${LIFECYCLE_ENTRY_MAX_BYTES}`);
        continue;
      }
      entries.push({ entry, event });
    }
    for (let i = 0; i < entries.length; i += PUT_EVENTS_MAX_ENTRIES) {
      await this.putBatch(entries.slice(i, i + PUT_EVENTS_MAX_ENTRIES));
    }
  }

  private async putBatch(batch: { entry: PutEventsRequestEntry; event: LifecycleEvent }[]): Promise<void> {
    let pending = batch;
    let lastErrors: string[] = [];
    for (let attempt = 0; attempt < PUT_ATTEMPTS && pending.length > 0; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, (this.options.backoffMs ?? 100) * 2 ** (attempt - 1)));
      try {
        const out = await this.client.call<PutEventsOutput>("PutEvents", { Entries: pending.map(({ entry }) => wireEntry(entry)) });
        // Results are in request order; a failed one has an ErrorCode and no EventId.
        const results = out.Entries ?? [];
        const failed = pending.filter((_, index) => results[index]?.EventId === undefined);
        lastErrors = pending.flatMap((_, index) => {
          const result = results[index];
          return result?.EventId === undefined ? [result?.ErrorCode ?? "no result"] : [];
        });
        pending = failed;
      } catch (error) {
        // The client already retried the call itself: count the whole batch as failed this attempt.
        lastErrors = pending.map(() => (error instanceof Error ? error.name : "error"));
      }
    }
    pending.forEach(({ event }, index) => {
      const subject = "job_id" in event ? event.job_id : `${event.project}/${event.workload}`;
      this.log(`events: could not publish ${event.type} for ${subject} after ${PUT_ATTEMPTS} attempts (${lastErrors[index] ?? "unknown"}); dropped`);
    });
  }
}
