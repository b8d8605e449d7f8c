import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import type { LifecycleEvent } from "@inferencekey/core";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { EventBridgePublisher, eventEntrySize, LIFECYCLE_ENTRY_MAX_BYTES, lifecycleEventEntry } from "../src/eventbridge-publisher";

const client = new EventBridgeClient({ region: "us-east-1", credentials: { accessKeyId: "a", secretAccessKey: "b" } });
const eventBridge = mockClient(client);
const AT = "2026-06-01T10:00:00.000Z";

function jobEvent(n: number, type: "job.succeeded" | "job.failed" = "job.succeeded"): LifecycleEvent {
  return { type, project: "acme", workload: "ranker", job_id: `job_${String(n).padStart(8, "0")}`, at: AT };
}

describe("EventBridgePublisher", () => {
  beforeEach(() => eventBridge.reset());

  it("puts each event on the bus: source inferencekey, detail-type the event type, detail its ids", async () => {
    // Prepare
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "e1" }, { EventId: "e2" }] });
    const publisher = new EventBridgePublisher({ busName: "inferencekey-prod", client });
    const scaled: LifecycleEvent = { type: "workload.scaled", project: "acme", workload: "ranker", from: 0, to: 1, at: AT };

    // Act
    await publisher.publish([jobEvent(1), scaled]);

    // Assess
    expect(eventBridge.commandCalls(PutEventsCommand)[0]?.args[0].input).toEqual({
      Entries: [
        { EventBusName: "inferencekey-prod", Source: "inferencekey", DetailType: "job.succeeded", Detail: JSON.stringify(jobEvent(1)), Time: new Date(AT) },
        { EventBusName: "inferencekey-prod", Source: "inferencekey", DetailType: "workload.scaled", Detail: JSON.stringify(scaled), Time: new Date(AT) },
      ],
    });
  });

  it("sends ten entries per call (PutEvents' limit)", async () => {
    // Prepare
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({ FailedEntryCount: 0, Entries: input.Entries.map((_, i) => ({ EventId: `e${i}` })) }));
    const publisher = new EventBridgePublisher({ busName: "bus", client });

    // Act
    await publisher.publish(Array.from({ length: 23 }, (_, i) => jobEvent(i)));

    // Assess
    expect(eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries?.length)).toEqual([10, 10, 3]);
  });

  it("puts failed entries again, only those, and logs and drops what still fails", async () => {
    // Prepare: the second entry is throttled twice, the third always fails.
    const logs: string[] = [];
    let call = 0;
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: { Detail: string }[] }) => {
      call += 1;
      return {
        FailedEntryCount: 1,
        Entries: input.Entries.map((entry) => {
          const id = (JSON.parse(entry.Detail) as { job_id: string }).job_id;
          if (id.endsWith("2") && call < 3) return { ErrorCode: "ThrottlingException", ErrorMessage: "slow down" };
          if (id.endsWith("3")) return { ErrorCode: "InternalFailure", ErrorMessage: "oops" };
          return { EventId: `e-${id}` };
        }),
      };
    });
    const publisher = new EventBridgePublisher({ busName: "bus", client, log: (line) => logs.push(line), backoffMs: 1 });

    // Act
    await publisher.publish([jobEvent(1), jobEvent(2), jobEvent(3, "job.failed")]);

    // Assess
    const sent = eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries?.map((e) => JSON.parse(e.Detail ?? "{}").job_id));
    expect(sent).toEqual([
      ["job_00000001", "job_00000002", "job_00000003"],
      ["job_00000002", "job_00000003"],
      ["job_00000002", "job_00000003"],
    ]);
    expect(logs).toEqual(["events: could not publish job.failed for job_00000003 after 3 attempts (InternalFailure); dropped"]);
  });

  it("a call that keeps failing is logged, not thrown: an event never fails the change it reports", async () => {
    // Prepare
    const logs: string[] = [];
    eventBridge.on(PutEventsCommand).rejects(Object.assign(new Error("no route"), { name: "ResourceNotFoundException" }));
    const publisher = new EventBridgePublisher({ busName: "bus", client, log: (line) => logs.push(line), backoffMs: 1 });

    // Act
    await publisher.publish([jobEvent(7)]);

    // Assess
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(3);
    expect(logs).toEqual(["events: could not publish job.succeeded for job_00000007 after 3 attempts (ResourceNotFoundException); dropped"]);
  });

  it("entries are ids only, far under EventBridge's 256 KB; an oversized one is refused before the call", async () => {
    // Prepare
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    const logs: string[] = [];
    const publisher = new EventBridgePublisher({ busName: "bus", client, log: (line) => logs.push(line) });
    const huge = { ...jobEvent(1), workload: "w".repeat(LIFECYCLE_ENTRY_MAX_BYTES) } as LifecycleEvent;

    // Act
    await publisher.publish([huge]);

    // Assess
    expect(eventEntrySize(lifecycleEventEntry(jobEvent(1), "bus"))).toBeLessThan(300);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
    expect(logs[0]).toMatch(/^events: dropped job.succeeded for acme\/w+: its entry is \d+ bytes, over 8192$/);
  });
});
