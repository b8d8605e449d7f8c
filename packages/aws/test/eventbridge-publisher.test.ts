import { CreateEventBusCommand, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { LifecycleEvent } from "@inferencekey/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsError, fakeAwsJson } from "./support/aws-json-fake";
import { type RunningMoto, startMoto } from "../../../test/support/moto";
import { AwsJsonClient } from "../src/aws-json-client";
import { createEventBridgeClient } from "../src/eventbridge-client";
import { EventBridgePublisher, eventEntrySize, LIFECYCLE_ENTRY_MAX_BYTES, lifecycleEventEntry } from "../src/eventbridge-publisher";
import { createSqsClient } from "../src/sqs-client";

const AT = "2026-06-01T10:00:00.000Z";

function jobEvent(n: number, type: "job.succeeded" | "job.failed" = "job.succeeded"): LifecycleEvent {
  return { type, project: "acme", workload: "ranker", job_id: `job_${String(n).padStart(8, "0")}`, at: AT };
}

/** EventBridge accepting every entry. */
const accepting = () => fakeAwsJson((_, input) => ({ FailedEntryCount: 0, Entries: (input.Entries as unknown[]).map((_, i) => ({ EventId: `e${i}` })) }));
const details = (calls: { input: Record<string, unknown> }[]) =>
  calls.map((c) => (c.input.Entries as { Detail: string }[]).map((e) => (JSON.parse(e.Detail) as { job_id: string }).job_id));

describe("EventBridgePublisher (the calls it makes)", () => {
  it("puts each event on the bus: source inferencekey, detail-type the event type, detail its ids, time in epoch seconds", async () => {
    // Prepare
    const eventBridge = accepting();
    const publisher = new EventBridgePublisher({ busName: "inferencekey-prod", client: eventBridge });
    const scaled: LifecycleEvent = { type: "workload.scaled", project: "acme", workload: "ranker", from: 0, to: 1, at: AT };

    // Act
    await publisher.publish([jobEvent(1), scaled]);

    // Assess: the JSON protocol's timestamps, as the SDK sends a Date.
    expect(eventBridge.calls).toEqual([
      {
        operation: "PutEvents",
        input: {
          Entries: [
            { EventBusName: "inferencekey-prod", Source: "inferencekey", DetailType: "job.succeeded", Detail: JSON.stringify(jobEvent(1)), Time: Date.parse(AT) / 1000 },
            { EventBusName: "inferencekey-prod", Source: "inferencekey", DetailType: "workload.scaled", Detail: JSON.stringify(scaled), Time: Date.parse(AT) / 1000 },
          ],
        },
      },
    ]);
    expect(lifecycleEventEntry(scaled, "bus").Time).toEqual(new Date(AT));
  });

  it("sends ten entries per call (PutEvents' limit)", async () => {
    // Prepare
    const eventBridge = accepting();
    const publisher = new EventBridgePublisher({ busName: "bus", client: eventBridge });

    // Act
    await publisher.publish(Array.from({ length: 23 }, (_, i) => jobEvent(i)));

    // Assess
    expect(eventBridge.calls.map((call) => (call.input.Entries as unknown[]).length)).toEqual([10, 10, 3]);
  });

  it("puts failed entries again, only those, and logs and drops what still fails", async () => {
    // Prepare: the second entry is throttled twice, the third always fails.
    const logs: string[] = [];
    const eventBridge = fakeAwsJson((_, input, index) => ({
      FailedEntryCount: 1,
      Entries: (input.Entries as { Detail: string }[]).map((entry) => {
        const id = (JSON.parse(entry.Detail) as { job_id: string }).job_id;
        if (id.endsWith("2") && index < 2) return { ErrorCode: "ThrottlingException", ErrorMessage: "slow down" };
        if (id.endsWith("3")) return { ErrorCode: "InternalFailure", ErrorMessage: "oops" };
        return { EventId: `e-${id}` };
      }),
    }));
    const publisher = new EventBridgePublisher({ busName: "bus", client: eventBridge, log: (line) => logs.push(line), backoffMs: 1 });

    // Act
    await publisher.publish([jobEvent(1), jobEvent(2), jobEvent(3, "job.failed")]);

    // Assess
    expect(details(eventBridge.calls)).toEqual([
      ["job_00000001", "job_00000002", "job_00000003"],
      ["job_00000002", "job_00000003"],
      ["job_00000002", "job_00000003"],
    ]);
    expect(logs).toEqual(["events: could not publish job.failed for job_00000003 after 3 attempts (InternalFailure); dropped"]);
  });

  it("a call that keeps failing is logged, not thrown: an event never fails the change it reports", async () => {
    // Prepare
    const logs: string[] = [];
    const eventBridge = fakeAwsJson(() => Promise.reject(awsError("ResourceNotFoundException", "no route")));
    const publisher = new EventBridgePublisher({ busName: "bus", client: eventBridge, log: (line) => logs.push(line), backoffMs: 1 });

    // Act
    await publisher.publish([jobEvent(7)]);

    // Assess
    expect(eventBridge.calls).toHaveLength(3);
    expect(logs).toEqual(["events: could not publish job.succeeded for job_00000007 after 3 attempts (ResourceNotFoundException); dropped"]);
  });

  it("entries are ids only, far under EventBridge's 256 KB; an oversized one is refused before the call", async () => {
    // Prepare
    const eventBridge = accepting();
    const logs: string[] = [];
    const publisher = new EventBridgePublisher({ busName: "bus", client: eventBridge, log: (line) => logs.push(line) });
    const huge = { ...jobEvent(1), workload: "w".repeat(LIFECYCLE_ENTRY_MAX_BYTES) } as LifecycleEvent;

    // Act
    await publisher.publish([huge]);

    // Assess
    expect(eventEntrySize(lifecycleEventEntry(jobEvent(1), "bus"))).toBeLessThan(300);
    expect(eventBridge.calls).toHaveLength(0);
    expect(logs[0]).toMatch(/^events: dropped job.succeeded for acme\/w+: its entry is \d+ bytes, over 8192$/);
  });
});

describe("EventBridgePublisher on moto server", () => {
  let moto: RunningMoto;
  const credentials = { accessKeyId: "local", secretAccessKey: "local" };

  beforeAll(async () => {
    moto = await startMoto();
  }, 60_000);

  afterAll(async () => {
    await moto?.stop();
  });

  it("the events reach a rule's target with their source, detail-type, detail and time", async () => {
    // Prepare: a bus whose rule sends the platform's events to a queue.
    const sqs = createSqsClient({ region: "us-east-1", endpoint: moto.endpoint, credentials });
    const admin = createEventBridgeClient({ region: "us-east-1", endpoint: moto.endpoint, credentials });
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: "events" }))).QueueUrl as string;
    const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }))).Attributes?.QueueArn;
    await admin.send(new CreateEventBusCommand({ Name: "inferencekey-test" }));
    await admin.send(new PutRuleCommand({ Name: "all", EventBusName: "inferencekey-test", EventPattern: JSON.stringify({ source: ["inferencekey"] }) }));
    await admin.send(new PutTargetsCommand({ Rule: "all", EventBusName: "inferencekey-test", Targets: [{ Id: "q", Arn: queueArn }] }));
    const logs: string[] = [];
    const publisher = new EventBridgePublisher({
      busName: "inferencekey-test",
      client: new AwsJsonClient({ service: "events", region: "us-east-1", endpoint: moto.endpoint, credentials }),
      log: (line) => logs.push(line),
    });

    // Act
    await publisher.publish([jobEvent(1), jobEvent(2, "job.failed")]);
    const received = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }))).Messages ?? [];

    // Assess
    const events = received.map((m) => JSON.parse(m.Body ?? "{}") as Record<string, unknown>);
    expect(logs).toEqual([]);
    expect(events.map((e) => [e.source, e["detail-type"], e.detail, e.time]).sort()).toEqual([
      ["inferencekey", "job.failed", jobEvent(2, "job.failed"), "2026-06-01T10:00:00Z"],
      ["inferencekey", "job.succeeded", jobEvent(1), "2026-06-01T10:00:00Z"],
    ]);
    sqs.destroy();
    admin.destroy();
  });
});
