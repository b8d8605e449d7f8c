import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { processQueueMessage } from "../../src/jobs/dispatch";
import { acceptProducerMessage, signProducerMessage } from "../../src/jobs/producer";
import { listJobs } from "../../src/jobs/service";
import { rotateSigningSecret } from "../../src/jobs/signing-secrets";
import { REPO_ROOT } from "../gateway/support";
import { jobsHarness } from "./support";

const INPUT = { query: "capital of france", documents: ["bananas", "Paris"] };

describe("direct producers", () => {
  it("a signed submit message becomes a job, once, however often it is delivered", async () => {
    // Prepare
    const h = await jobsHarness();
    const { secret } = await rotateSigningSecret(h.platform.ctx, "producer", await h.record());
    const now = Math.floor(h.clock.now().getTime() / 1000);
    const message = signProducerMessage(secret, { project: "acme", workload: "ranker", idempotency_key: "nightly-0001", input: INPUT }, now);
    const deps = { ...h.consumer, queue: h.queue };

    // Act
    const outcomes = [await processQueueMessage(deps, JSON.stringify(message), 1), await processQueueMessage(deps, JSON.stringify(message), 2)];
    const jobs = await listJobs(h.service, "acme", "ranker", {});

    // Assess
    expect(secret).toMatch(/^iksp_/);
    expect(outcomes).toEqual(["done", "done"]);
    expect(jobs.data).toHaveLength(1);
    expect(jobs.data[0]).toMatchObject({ status: "queued", idempotency_key: "nightly-0001" });
    expect(h.queue.sent.filter((m) => m.type === "job")).toHaveLength(1);
  });

  it("refuses a forged, tampered, stale or other workload's message, and creates nothing", async () => {
    // Prepare
    const h = await jobsHarness();
    await h.platform.workload("acme", { slug: "other", task_type: "reranker" });
    const { secret } = await rotateSigningSecret(h.platform.ctx, "producer", await h.record());
    const other = (await rotateSigningSecret(h.platform.ctx, "producer", await h.record("other"))).secret;
    const now = Math.floor(h.clock.now().getTime() / 1000);
    const fields = { project: "acme", workload: "ranker", idempotency_key: "k", input: INPUT };

    // Act
    const outcomes = await Promise.all([
      acceptProducerMessage(h.service, signProducerMessage(other, fields, now)),
      acceptProducerMessage(h.service, { ...signProducerMessage(secret, fields, now), input: { ...INPUT, query: "changed" } }),
      acceptProducerMessage(h.service, signProducerMessage(secret, fields, now - 7200)),
      acceptProducerMessage(h.service, { ...signProducerMessage(secret, fields, now), signature: "v1,AAAA" }),
      acceptProducerMessage(h.service, { hello: "world" }),
    ]);

    // Assess
    expect(outcomes.map((o) => o.kind)).toEqual(["refused", "refused", "refused", "refused", "refused"]);
    expect((await listJobs(h.service, "acme", "ranker", {})).data).toEqual([]);
  });

  it("the Python producer of docs/jobs.md signs messages the platform accepts", async () => {
    // Prepare: the documented function, as written, run by python3.
    const docs = readFileSync(join(REPO_ROOT, "docs/jobs.md"), "utf8");
    const snippet = /```python\n([\s\S]*?)```/.exec(docs)?.[1] ?? "";
    const h = await jobsHarness();
    const { secret } = await rotateSigningSecret(h.platform.ctx, "producer", await h.record());
    const script = `${snippet}\nimport sys\nprint(json.dumps(sign_producer_message(sys.argv[1], {"project": "acme", "workload": "ranker", "idempotency_key": "py-1", "input": {"query": "caf\\u00e9 de paris", "documents": ["a", "b"]}})))\n`;

    // Act
    const run = spawnSync("python3", ["-c", script, secret], { encoding: "utf8" });
    h.clock.current = new Date();
    const outcome = await acceptProducerMessage(h.service, JSON.parse(run.stdout));

    // Assess
    expect(run.status, run.stderr).toBe(0);
    expect(outcome).toMatchObject({ kind: "accepted", created: true });
  });
});
