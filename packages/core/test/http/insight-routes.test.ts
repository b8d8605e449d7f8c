import { describe, expect, it } from "vitest";
import {
  bootstrapAdminToken,
  createControlApi,
  MemoryStore,
  type PlatformContext,
  UsageRecorder,
} from "../../src";
import { recordEvent } from "../../src/events";
import { createReplica, type ReplicaRecord } from "../../src/replicas";

const spec = {
  name: "Chat",
  slug: "chat",
  model: "org/model",
  backend: "vllm",
  command: "serve",
  execution_policy: "fixed",
  execution_policy_config: { replicas: 1 },
};
const T0 = Date.parse("2026-06-01T10:00:00Z");

async function setup() {
  let now = T0;
  const ctx: PlatformContext = {
    store: new MemoryStore(() => now),
    serverSecret: "s",
    now: () => new Date(now),
  };
  const admin = (await bootstrapAdminToken(ctx))?.secret as string;
  const api = createControlApi(ctx, { log: () => undefined });
  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const response = await api(
      new Request(`http://local${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
    // biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary JSON bodies
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  expect((await call(admin, "PUT", "/v1/projects/acme/workloads/chat", spec)).status).toBe(201);
  return { ctx, admin, call, at: (ms: number) => (now = T0 + ms) };
}

function replica(id: string, extra: Partial<ReplicaRecord>): ReplicaRecord {
  const at = new Date(T0).toISOString();
  return {
    id,
    project: "acme",
    workload: "chat",
    slot: 0,
    generation: 1,
    worker_id: "wrk_a",
    host: "10.0.0.2",
    port: 20000,
    desired: "running",
    phase: "ready",
    restarts: 0,
    backend: "vllm",
    task_type: "text2text",
    model: "org/model",
    command: "serve",
    gpu_indexes: [0, 1],
    hourly_price_usd: 3,
    created_at: at,
    updated_at: at,
    ...extra,
  };
}

describe("the console's read routes", () => {
  it("GET /v1/whoami says what the token reaches, and nothing more", async () => {
    const { admin, call } = await setup();
    expect((await call(admin, "GET", "/v1/whoami")).body).toEqual({
      token_id: expect.stringMatching(/^tok_/),
      scope: "organisation",
      project: null,
      admin: true,
    });
    const scoped = (await call(admin, "POST", "/v1/tokens", { name: "ci", project: "acme" })).body
      .token as string;
    expect((await call(scoped, "GET", "/v1/whoami")).body).toMatchObject({
      scope: "project",
      project: "acme",
      admin: false,
    });
  });

  it("replica history joins lifecycle events and the records; the series counts requests and ready replica time", async () => {
    const { ctx, admin, call, at } = await setup();
    // A replica that was ready 10:01-10:03, then stopped and was removed (events only) ...
    at(60_000);
    await recordEvent(ctx, "acme", "chat", {
      type: "ReplicaStarting",
      generation: 1,
      message: "replica rep_AAAAAAAAAAAAAAAA (slot 0, generation 1) is starting",
    });
    await recordEvent(ctx, "acme", "chat", {
      type: "ReplicaReady",
      generation: 1,
      message: "replica rep_AAAAAAAAAAAAAAAA (slot 0, generation 1) is ready",
    });
    at(180_000);
    await recordEvent(ctx, "acme", "chat", {
      type: "ReplicaStopping",
      generation: 1,
      message: "replica rep_AAAAAAAAAAAAAAAA (slot 0) stopping: scaled down",
    });
    // ... and one ready since 10:02 that still runs (a record, 2 GPUs at $3/h).
    await createReplica(
      ctx,
      replica("rep_BBBBBBBBBBBBBBBB", {
        created_at: new Date(T0 + 110_000).toISOString(),
        ready_at: new Date(T0 + 120_000).toISOString(),
        restarts: 2,
        reason: "OOM once",
      }),
    );
    const usage = new UsageRecorder(ctx, { instanceId: "gw_t", flushIntervalMs: 0 });
    at(90_000);
    usage.record("acme", "chat", {
      keyId: "key_1",
      status: 200,
      latencyMs: 40,
      promptTokens: 7,
      completionTokens: 3,
    });
    usage.record("acme", "chat", { keyId: "key_1", status: 500, latencyMs: 900 });
    await usage.flush();
    at(300_000);

    const history = (await call(admin, "GET", "/v1/projects/acme/workloads/chat/replicas")).body.data;
    expect(history.map((r: { id: string }) => r.id)).toEqual([
      "rep_BBBBBBBBBBBBBBBB",
      "rep_AAAAAAAAAAAAAAAA",
    ]);
    expect(history[0]).toMatchObject({
      phase: "ready",
      worker_id: "wrk_a",
      restarts: 2,
      last_reason: "OOM once",
      hourly_price_usd: 3,
      gpus: 2,
    });
    expect(history[0].ended_at).toBeUndefined();
    expect(history[1]).toMatchObject({
      phase: "stopping",
      ready_at: "2026-06-01T10:01:00.000Z",
      ended_at: "2026-06-01T10:03:00.000Z",
    });
    expect(history[1].transitions.map((t: { type: string }) => t.type)).toEqual([
      "ReplicaStarting",
      "ReplicaReady",
      "ReplicaStopping",
    ]);

    const series = (
      await call(
        admin,
        "GET",
        "/v1/projects/acme/workloads/chat/series?from=2026-06-01T10:00:00Z&to=2026-06-01T10:05:00Z",
      )
    ).body;
    expect(series.points.map((p: { minute: string }) => p.minute)).toEqual([
      "2026-06-01T10:00",
      "2026-06-01T10:01",
      "2026-06-01T10:02",
      "2026-06-01T10:03",
      "2026-06-01T10:04",
    ]);
    expect(series.points.map((p: { requests: number }) => p.requests)).toEqual([0, 2, 0, 0, 0]);
    expect(series.points[1]).toMatchObject({ errors: 1, total_tokens: 10, latency_ms_p99: 900 });
    expect(series.points.map((p: { ready_replicas: number }) => p.ready_replicas)).toEqual([0, 1, 2, 1, 1]);
    // Ready time: A 2 min (no known price once removed), B 3 min on 2 GPUs at $3/h.
    expect(series.totals).toEqual({
      requests: 2,
      errors: 1,
      total_tokens: 10,
      replica_hours: 0.083333,
      gpu_hours: 0.1,
      cost_usd: 0.15,
    });

    const rates = (await call(admin, "GET", "/v1/projects/acme/workload-rates")).body.data;
    expect(rates).toEqual([{ slug: "chat", requests_per_minute: 0.4, cost_per_hour_usd: 3 }]);
  });

  it("refuses bad ranges and unknown parameters by name, and hides other projects' workloads", async () => {
    const { admin, call } = await setup();
    const wide = await call(
      admin,
      "GET",
      "/v1/projects/acme/workloads/chat/series?from=2026-05-30T00:00:00Z&to=2026-06-01T00:00:00Z",
    );
    expect(wide.status).toBe(400);
    expect(wide.body.error.details[0]).toMatchObject({ path: "from", received: "2026-05-30T00:00:00Z" });
    const unknown = await call(admin, "GET", "/v1/projects/acme/workloads/chat/series?step=5m");
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details[0].path).toBe("step");
    await call(admin, "PUT", "/v1/projects/other/workloads/chat", spec);
    const other = (await call(admin, "POST", "/v1/tokens", { name: "other", project: "other" })).body
      .token as string;
    for (const path of [
      "/v1/projects/acme/workloads/chat/replicas",
      "/v1/projects/acme/workloads/chat/series",
      "/v1/projects/acme/workload-rates",
    ]) {
      expect((await call(other, "GET", path)).status, path).toBe(404);
    }
    expect((await call(admin, "GET", "/v1/projects/acme/workloads/nope/series")).status).toBe(404);
  });
});
