import { describe, expect, it } from "vitest";
import {
  bootstrapAdminToken,
  createControlApi,
  createReplica,
  keys,
  MemoryStore,
  type PlatformContext,
  type ReplicaRecord,
  updateReplica,
  type WorkerRecord,
  writePlacedStatus,
} from "../../src";

/**
 * Issue 18 point 2: readiness events from the workload's real progress, as `text/event-stream` on
 * /v1 and /api (docs/api.md, "Readiness events"). The platform's state is written as the controller
 * and agents write it; the stream is read as `curl -N` would, event by event.
 */
const NOW = new Date("2030-01-07T10:00:00Z");

async function setup() {
  const ctx: PlatformContext = { store: new MemoryStore(), serverSecret: "s", now: () => NOW };
  const admin = (await bootstrapAdminToken(ctx))?.secret as string;
  const api = createControlApi(ctx, { log: () => undefined, readinessStream: { pollMs: 10, keepAliveMs: 60_000 } });
  const call = (path: string, init: RequestInit = {}) =>
    api(new Request(`http://local${path}`, { ...init, headers: { authorization: `Bearer ${admin}`, accept: "text/event-stream", ...init.headers } }));
  await call("/v1/projects/acme/workloads/bot", {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "Bot", model: "org/m", backend: "vllm" }),
  });
  return { ctx, api, call, admin };
}

async function worker(ctx: PlatformContext, input: { online: boolean; platform?: boolean }): Promise<void> {
  const record: WorkerRecord = {
    id: "wrk_box1",
    project: "acme",
    name: "box",
    labels: {},
    state: "registered",
    created_at: NOW.toISOString(),
    token_prefix: "ik_wrk_",
    token_last4: "abcd",
    ...(input.platform ? { managed_by: "platform" as const } : {}),
    ...(input.online ? { last_heartbeat_at: NOW.toISOString() } : {}),
  };
  await ctx.store.put({ ...keys.worker("acme", record.id), data: { ...record } }, { kind: "any" });
}

async function replica(ctx: PlatformContext, phase: ReplicaRecord["phase"], reason?: string): Promise<void> {
  const record: ReplicaRecord = {
    id: "rep_one",
    project: "acme",
    workload: "bot",
    slot: 0,
    generation: 1,
    worker_id: "wrk_box1",
    host: "127.0.0.1",
    port: 9000,
    desired: "running",
    phase,
    ...(reason === undefined ? {} : { reason }),
    restarts: 0,
    backend: "vllm",
    task_type: "text2text",
    model: "org/m",
    command: "vllm serve org/m",
    gpu_indexes: [],
    hourly_price_usd: 0,
    created_at: NOW.toISOString(),
    updated_at: NOW.toISOString(),
  };
  if (!(await createReplica(ctx, record))) {
    await updateReplica(ctx, "acme", "bot", 0, 1, (r) => ({ ...r, phase, ...(reason === undefined ? {} : { reason }) }));
  }
}

/** Reads events one at a time from an SSE body, as they arrive. */
function events(response: Response) {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const comments: string[] = [];
  return {
    comments,
    // biome-ignore lint/suspicious/noExplicitAny: events are arbitrary JSON the assertions check
    async next(): Promise<Record<string, any> | undefined> {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith(":")) {
            comments.push(block);
            continue;
          }
          return JSON.parse(block.replace(/^data: /, ""));
        }
        const { done, value } = await reader.read();
        if (done) return undefined;
        buffer += decoder.decode(value, { stream: true });
      }
    },
  };
}

describe("readiness events", () => {
  it("follow the workload from scheduling to ready through placing, launching, pulling and starting, then end", async () => {
    const { ctx, call } = await setup();

    const response = await call("/v1/projects/acme/workloads/bot/readiness-events");
    const stream = events(response);
    const seen = [await stream.next()];
    await worker(ctx, { online: false });
    await replica(ctx, "pending");
    seen.push(await stream.next());
    await worker(ctx, { online: false, platform: true });
    seen.push(await stream.next());
    await worker(ctx, { online: true, platform: true });
    seen.push(await stream.next());
    await replica(ctx, "starting", "pulling manifest 40%");
    seen.push(await stream.next());
    await replica(ctx, "starting", "waiting for the backend to answer");
    seen.push(await stream.next());
    await replica(ctx, "ready");
    seen.push(await stream.next());
    const after = await stream.next();

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    expect(seen.map((e) => [e?.phase, e?.step])).toEqual([
      ["scheduling", 1],
      ["placing", 2],
      ["launching", 3],
      ["launching", 3],
      ["pulling", 4],
      ["starting", 5],
      ["ready", 6],
    ]);
    expect(seen.every((e) => typeof e?.message === "string" && Number.isInteger(e?.elapsed_ms))).toBe(true);
    expect(seen[2]?.message).toBe("launching worker wrk_box1 for replica rep_one");
    expect(seen[3]?.message).toBe("worker wrk_box1 is launching replica rep_one");
    expect(seen[4]?.message).toContain("pulling manifest 40%");
    expect(after).toBeUndefined();
  });

  it("on shared cloud capacity, a node launched for the workload is launching; no capacity yet is placing, with the reason", async () => {
    const { ctx, call } = await setup();

    const stream = events(await call("/v1/projects/acme/workloads/bot/readiness-events"));
    const first = await stream.next();
    await writePlacedStatus(ctx, "acme", "bot", { placed: false, reason: "InsufficientCapacity", message: "g6.xlarge: no availability zone with capacity", generation: 1 });
    const waiting = await stream.next();
    await writePlacedStatus(ctx, "acme", "bot", { placed: false, reason: "AwaitingNode", message: "a node will be launched (cheapest fit: 1 GPU(s) of g6.xlarge)", generation: 1 });
    const launching = await stream.next();

    expect(first?.phase).toBe("scheduling");
    expect(waiting).toMatchObject({ phase: "placing", step: 2 });
    expect(waiting?.message).toContain("InsufficientCapacity");
    expect(launching).toMatchObject({ phase: "launching", step: 3 });
    expect(launching?.message).toContain("g6.xlarge");
  });

  it("a failed replica ends the stream with error and its reason", async () => {
    const { ctx, call } = await setup();
    await worker(ctx, { online: true });
    await replica(ctx, "starting");

    const stream = events(await call("/v1/projects/acme/workloads/bot/readiness-events"));
    const first = await stream.next();
    await replica(ctx, "failed", "the backend exited with code 1: CUDA out of memory");
    const failed = await stream.next();

    expect(first?.phase).toBe("starting");
    expect(failed).toMatchObject({ phase: "error", step: 5 });
    expect(failed?.message).toContain("CUDA out of memory");
    expect(await stream.next()).toBeUndefined();
  });

  it("on /api the step is a string (the vendor SDK's type); an unknown workload is a plain 404 before any stream", async () => {
    const { ctx, call } = await setup();
    await worker(ctx, { online: true });
    await replica(ctx, "ready");

    const ready = await (await call("/api/projects/acme/workloads/bot/readiness-events")).text();
    const missing = await call("/v1/projects/acme/workloads/nope/readiness-events");

    expect(ready).toMatch(/^data: \{"phase":"ready","message":"1\/1 replica\(s\) ready","elapsed_ms":\d+,"step":"6\/6"\}\n\n$/);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toContain("application/json");
  });

  it("a quiet stream sends keep-alive comments, and closes when its lifetime is over", async () => {
    const ctx: PlatformContext = { store: new MemoryStore(), serverSecret: "s", now: () => NOW };
    const admin = (await bootstrapAdminToken(ctx))?.secret as string;
    const api = createControlApi(ctx, { log: () => undefined, readinessStream: { pollMs: 5, keepAliveMs: 20, maxMs: 120 } });
    const headers = { authorization: `Bearer ${admin}`, "content-type": "application/json" };
    await api(new Request("http://local/v1/projects/acme/workloads/bot", { method: "PUT", headers, body: JSON.stringify({ name: "Bot", model: "org/m", backend: "vllm" }) }));

    const stream = events(await api(new Request("http://local/v1/projects/acme/workloads/bot/readiness-events", { headers })));
    const first = await stream.next();
    const end = await stream.next();

    expect(first?.phase).toBe("scheduling");
    expect(end).toBeUndefined();
    expect(stream.comments.filter((c) => c === ": keep-alive").length).toBeGreaterThanOrEqual(2);
    expect(stream.comments.at(-1)).toContain("reconnect");
  });

  it("a client that goes away stops the stream", async () => {
    const { call } = await setup();
    const abort = new AbortController();

    const response = await call("/v1/projects/acme/workloads/bot/readiness-events", { signal: abort.signal });
    const stream = events(response);
    await stream.next();
    abort.abort();

    expect(await stream.next()).toBeUndefined();
  });
});
