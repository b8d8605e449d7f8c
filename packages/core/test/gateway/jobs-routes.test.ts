import { afterEach, describe, expect, it } from "vitest";
import { JobWatcher } from "../../src/gateway/jobs-routes";
import { processJobMessage } from "../../src/jobs/consumer";
import { MemoryJobQueue } from "../../src/jobs/queue";
import { readUsage } from "../../src/usage";
import { ScriptedExecutor } from "../jobs/support";
import { bearer, GATEWAY_BINDINGS, type ServedGateway, serveGateway, TestPlatform } from "./support";

const RERANK = { query: "capital of france", documents: ["paris", "bananas"] };

let served: ServedGateway | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

describe.each(GATEWAY_BINDINGS)("/v1/jobs on the gateway ($binding)", ({ binding }) => {
  async function setup(keyInput: { rate_limit_per_minute?: number } = {}) {
    const platform = new TestPlatform();
    await platform.workload("acme", { slug: "ranker", task_type: "reranker" });
    await platform.workload("acme", { slug: "chat", task_type: "text2text" });
    const key = await platform.key("acme", "ranker", keyInput);
    const chatKey = await platform.key("acme", "chat");
    const queue = new MemoryJobQueue();
    const watcher = new JobWatcher();
    served = await serveGateway(platform, { jobs: { queue, watcher } }, binding);
    const base = `${served.url}/endpoint/acme/ranker/v1`;
    const headers = { ...bearer(key.secret), "content-type": "application/json" };
    const consume = async () => {
      for (const message of await queue.receive({ max: 10, visibilitySeconds: 30 })) {
        await processJobMessage(
          { ctx: platform.ctx, executor: new ScriptedExecutor(), maxReceives: 3, onJobChange: (job) => watcher.notify(job) },
          message.body,
          message.receiveCount,
        );
      }
    };
    return { platform, key, chatKey, queue, base, headers, consume };
  }

  it("POST answers 202 with the queued job; the same Idempotency-Key and body answer it again, another body 409", async () => {
    // Prepare
    const { base, headers, queue } = await setup();

    // Act
    const first = await fetch(`${base}/jobs`, { method: "POST", headers: { ...headers, "idempotency-key": "k1" }, body: JSON.stringify(RERANK) });
    const again = await fetch(`${base}/jobs`, { method: "POST", headers: { ...headers, "idempotency-key": "k1" }, body: JSON.stringify(RERANK) });
    const reused = await fetch(`${base}/jobs`, { method: "POST", headers: { ...headers, "idempotency-key": "k1" }, body: JSON.stringify({ ...RERANK, top_n: 1 }) });

    // Assess
    const job = await first.json();
    expect(first.status).toBe(202);
    expect(job).toMatchObject({ object: "job", status: "queued", project: "acme", workload: "ranker", task_type: "reranker", idempotency_key: "k1", result: null });
    expect(job.id).toMatch(/^job_[0-9A-Za-z]+$/);
    expect(again.status).toBe(200);
    expect((await again.json()).id).toBe(job.id);
    expect(reused.status).toBe(409);
    expect((await reused.json()).error).toMatchObject({ code: "idempotency_key_reused", type: "invalid_request_error" });
    expect(queue.sent).toHaveLength(1);
  });

  it("refuses bodies over 1 MiB (413), bad JSON (400) and bad input (400 validation_failed naming the field)", async () => {
    // Prepare
    const { base, headers } = await setup();

    // Act
    const big = await fetch(`${base}/jobs`, { method: "POST", headers, body: JSON.stringify({ query: "q", documents: ["x".repeat(1100 * 1024)] }) });
    const bad = await fetch(`${base}/jobs`, { method: "POST", headers, body: "{nope" });
    const invalid = await fetch(`${base}/jobs`, { method: "POST", headers, body: JSON.stringify({ query: "q" }) });

    // Assess
    expect(big.status).toBe(413);
    expect((await big.json()).error).toMatchObject({ code: "payload_too_large", limit_bytes: 1048576 });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe("invalid_request_body");
    expect(invalid.status).toBe(400);
    expect((await invalid.json()).error).toMatchObject({ code: "validation_failed", details: [{ path: "documents" }] });
  });

  it("GET ?wait long-polls until the job finishes; unknown ids are job_not_found; wait is bounded to 20 s", async () => {
    // Prepare
    const { base, headers, consume } = await setup();
    const job = await (await fetch(`${base}/jobs`, { method: "POST", headers, body: JSON.stringify(RERANK) })).json();

    // Act
    const started = performance.now();
    const polling = fetch(`${base}/jobs/${job.id}?wait=10`, { headers });
    setTimeout(() => void consume(), 200);
    const finished = await polling;
    const waitedMs = performance.now() - started;
    const missing = await fetch(`${base}/jobs/job_0000000000000000`, { headers });
    const tooLong = await fetch(`${base}/jobs/${job.id}?wait=21`, { headers });

    // Assess
    const body = await finished.json();
    expect(finished.status).toBe(200);
    expect(body.status).toBe("succeeded");
    expect(body.result.results.map((r: { index: number }) => r.index)).toEqual([0, 1]);
    expect(waitedMs).toBeLessThan(5000);
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe("job_not_found");
    expect(tooLong.status).toBe(400);
    expect((await tooLong.json()).error).toMatchObject({ code: "validation_failed", details: [{ path: "wait" }] });
  });

  it("lists with a signed next_cursor, filters by status, and DELETE cancels only queued or waiting jobs", async () => {
    // Prepare
    const { base, headers, consume } = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await (await fetch(`${base}/jobs`, { method: "POST", headers, body: JSON.stringify({ ...RERANK, query: `q${i}` }) })).json()).id);
    const cancelled = await fetch(`${base}/jobs/${ids[0]}`, { method: "DELETE", headers });
    await consume();

    // Act
    const page = await (await fetch(`${base}/jobs?limit=2`, { headers })).json();
    const next = await (await fetch(`${base}/jobs?limit=2&cursor=${encodeURIComponent(page.next_cursor)}`, { headers })).json();
    const succeeded = await (await fetch(`${base}/jobs?status=succeeded`, { headers })).json();
    const notCancellable = await fetch(`${base}/jobs/${ids[1]}`, { method: "DELETE", headers });
    const forged = await fetch(`${base}/jobs?cursor=abc.def`, { headers });

    // Assess
    expect(cancelled.status).toBe(200);
    expect((await cancelled.json()).status).toBe("cancelled");
    expect(page.object).toBe("list");
    expect([...page.data, ...next.data].map((j: { id: string }) => j.id)).toEqual([ids[2], ids[1], ids[0]]);
    expect(next.next_cursor).toBeNull();
    expect(succeeded.data.map((j: { id: string }) => j.id)).toEqual([ids[2], ids[1]]);
    expect(notCancellable.status).toBe(409);
    expect((await notCancellable.json()).error.code).toBe("job_not_cancellable");
    expect(forged.status).toBe(400);
  });

  it("jobs obey the key's rate limit and count in usage", async () => {
    // Prepare
    const { platform, base, headers } = await setup({ rate_limit_per_minute: 2 });

    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${base}/jobs`, { method: "POST", headers, body: JSON.stringify(RERANK) })).status);
    await served?.gateway.flushUsage();
    const usage = await readUsage(platform.ctx, "acme", "ranker", { from: new Date(Date.now() - 60_000), to: new Date(Date.now() + 60_000) });

    // Assess
    expect(statuses).toEqual([202, 202, 429]);
    expect(usage.totals.requests).toBe(3);
  });

  it("sync routes of a reranker point to /v1/jobs; /v1/jobs of a sync workload is route_not_served", async () => {
    // Prepare
    const { base, headers, chatKey } = await setup();

    // Act
    const sync = await fetch(`${base}/chat/completions`, { method: "POST", headers, body: "{}" });
    const chatJobs = await fetch(`${served?.url}/endpoint/acme/chat/v1/jobs`, { method: "POST", headers: bearer(chatKey.secret), body: JSON.stringify(RERANK) });

    // Assess
    const error = (await sync.json()).error;
    expect(sync.status).toBe(404);
    expect(error.code).toBe("route_not_served");
    expect(error.message).toContain("POST /endpoint/acme/ranker/v1/jobs");
    expect(chatJobs.status).toBe(404);
    expect((await chatJobs.json()).error.code).toBe("route_not_served");
  });
});

describe("jobs and the workload's life", () => {
  it("a slug deleted and re-created does not show the former life's jobs", async () => {
    // Prepare
    const platform = new TestPlatform();
    await platform.workload("acme", { slug: "ranker", task_type: "reranker" });
    const oldKey = await platform.key("acme", "ranker");
    served = await serveGateway(platform, { jobs: { queue: new MemoryJobQueue() } });
    const base = `${served.url}/endpoint/acme/ranker/v1/jobs`;
    const old = await (await fetch(base, { method: "POST", headers: { ...bearer(oldKey.secret), "content-type": "application/json" }, body: JSON.stringify(RERANK) })).json();
    await platform.remove("acme", "ranker");
    await platform.workload("acme", { slug: "ranker", task_type: "reranker" });
    served.gateway.invalidate("acme", "ranker");
    const newKey = await platform.key("acme", "ranker");

    // Act
    const read = await fetch(`${base}/${old.id}`, { headers: bearer(newKey.secret) });
    const listed = await (await fetch(base, { headers: bearer(newKey.secret) })).json();
    const cancel = await fetch(`${base}/${old.id}`, { method: "DELETE", headers: bearer(newKey.secret) });

    // Assess
    expect(read.status).toBe(404);
    expect(listed.data).toEqual([]);
    expect(cancel.status).toBe(404);
  });
});
