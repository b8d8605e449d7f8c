import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workloadFailure } from "../../src/gateway";
import { updateReplica } from "../../src/replicas";
import { bearer, GATEWAY_BINDINGS, type ServedGateway, serveGateway, TestPlatform } from "./support";
import { replica as replicaRecord } from "../controller/replica-fixture";

const REASON = "exited with code 127 (command not found): sh: 1: vllm: not found";
const NEXT_RETRY_AT = "2026-12-02T07:00:30.000Z";

interface ErrorBody {
  error: { code: string; message: string; type: string; reason?: string; next_retry_at?: string | null };
}

describe("workloadFailure", () => {
  it("is set only when every running replica failed and none is pending, starting or ready", () => {
    const failed = replicaRecord(0, 1, { phase: "failed", reason: REASON, next_retry_at: NEXT_RETRY_AT });
    expect(workloadFailure([failed])).toEqual({ reason: REASON, nextRetryAt: NEXT_RETRY_AT });
    expect(workloadFailure([failed, replicaRecord(1, 1, { phase: "starting" })])).toBeUndefined();
    expect(workloadFailure([failed, replicaRecord(1, 1, { phase: "pending" })])).toBeUndefined();
    expect(workloadFailure([replicaRecord(0, 1, { desired: "stopped", phase: "failed" })])).toBeUndefined();
    expect(workloadFailure([])).toBeUndefined();
  });

  it("gives the soonest retry, and null before the controller scheduled one", () => {
    const later = replicaRecord(0, 1, { phase: "failed", reason: REASON, next_retry_at: "2026-12-02T08:00:00.000Z" });
    const sooner = replicaRecord(1, 1, { phase: "failed", reason: "other", next_retry_at: NEXT_RETRY_AT });
    expect(workloadFailure([later, sooner])?.nextRetryAt).toBe(NEXT_RETRY_AT);
    expect(workloadFailure([replicaRecord(0, 1, { phase: "failed" })])).toEqual({
      reason: "the backend failed (no reason reported)",
      nextRetryAt: null,
    });
  });
});

describe.each(GATEWAY_BINDINGS)("gateway: every replica failed ($binding binding)", ({ binding }) => {
  const platform = new TestPlatform();
  const scaleUps: string[] = [];
  let served: ServedGateway;
  let key = "";
  let mixedKey = "";

  beforeAll(async () => {
    await platform.workload("acme", { slug: "broken" });
    await platform.replica("acme", "broken", { port: 20_000, phase: "failed" });
    await updateReplica(platform.ctx, "acme", "broken", 0, 1, (r) => ({ ...r, reason: REASON, next_retry_at: NEXT_RETRY_AT }));
    key = (await platform.key("acme", "broken")).secret;
    await platform.workload("acme", { slug: "mixed", execution_policy: "fixed", execution_policy_config: { replicas: 2 } });
    await platform.replica("acme", "mixed", { slot: 0, port: 20_001, phase: "failed" });
    await platform.replica("acme", "mixed", { slot: 1, port: 20_002, phase: "starting" });
    mixedKey = (await platform.key("acme", "mixed")).secret;
    served = await serveGateway(platform, { requestScaleUp: (p, w) => void scaleUps.push(`${p}/${w}`), scaleUpPollMs: 100 }, binding);
  });

  afterAll(async () => {
    await served?.close();
  });

  const chat = (workload: string, secret: string, headers: Record<string, string> = {}) =>
    fetch(`${served.url}/endpoint/acme/${workload}/v1/chat/completions`, {
      method: "POST",
      headers: { ...bearer(secret), "content-type": "application/json", ...headers },
      body: JSON.stringify({ model: "test-model", messages: [{ role: "user", content: "hi" }] }),
    });

  it("answers 503 workload_failed with the reason, next_retry_at and x-should-retry: false", async () => {
    // Act
    const response = await chat("broken", key);

    // Assess
    const body = (await response.json()) as ErrorBody;
    expect(response.status).toBe(503);
    expect(response.headers.get("x-should-retry")).toBe("false");
    expect(response.headers.get("retry-after")).toBeNull();
    expect(body.error).toMatchObject({ code: "workload_failed", type: "service_unavailable", reason: REASON, next_retry_at: NEXT_RETRY_AT });
    expect(body.error.message).toContain("vllm: not found");
    expect(body.error.message).toContain(NEXT_RETRY_AT);
    expect(body.error.message).not.toContain("one is starting");
    expect(scaleUps).not.toContain("acme/broken");
  });

  it("does not hold a request that asked to wait: nothing will become ready before the retry", async () => {
    // Act
    const started = performance.now();
    const response = await chat("broken", key, { "x-scale-up-timeout": "30" });

    // Assess
    expect(response.status).toBe(503);
    expect(((await response.json()) as ErrorBody).error.code).toBe("workload_failed");
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("a failed replica next to a starting one is still scaling up", async () => {
    const response = await chat("mixed", mixedKey);
    expect(response.status).toBe(503);
    expect(((await response.json()) as ErrorBody).error.code).toBe("workload_scaling_up");
  });

  it("the official openai client (default retries) makes exactly one request and surfaces the code", async () => {
    // Prepare: count what reaches the gateway.
    let requests = 0;
    const client = new OpenAI({
      apiKey: key,
      baseURL: `${served.url}/endpoint/acme/broken/v1`,
      fetch: (input, init) => {
        requests++;
        return fetch(input, init);
      },
    });

    // Act
    const error = await client.chat.completions.create({ model: "test-model", messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);

    // Assess
    expect(requests).toBe(1);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe("workload_failed");
  });
});
