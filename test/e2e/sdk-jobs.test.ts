import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalPlatform, startLocalPlatform } from "@inferencekey/local";
import {
  type ClassificationResult,
  DataClient,
  IdempotencyKeyReusedError,
  JobNotCancellableError,
  JobNotFoundError,
  ManagementClient,
  type ReadinessEvent,
} from "@inferencekey/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/platform-process";
import { processesWith, waitFor } from "../support/processes";

/**
 * The TypeScript SDK against the local platform as `npm start` runs it, for the async-only
 * modalities (issue 14) and the vendor-parity extras (issue 18): `waitUntilReady` on the readiness
 * stream, the synchronous `rerank`, and reranker, classification and reward jobs through
 * `jobs.rerank`, `classify`, `reward`, `submitJob`/`waitForJob`/`cancelJob`/`listAllJobs`. The
 * backend is the TEST DOUBLE test/replicas/openai-replica.mjs in vLLM's shapes (deterministic scores).
 */
const marker = `e2e-sdk-jobs-${process.pid}`;
const DOCUMENTS = ["Shipping is free over 50 EUR.", "Refunds are accepted within 30 days.", "We ship to 40 countries."];

describe("the TypeScript SDK's jobs, rerank and waitUntilReady on the local platform", () => {
  let platform: LocalPlatform;
  let mgmt: ManagementClient;
  let data: DataClient;
  const keys: Record<string, string> = {};
  const progress: Record<string, ReadinessEvent[]> = {};

  async function provision(slug: string, taskType: string): Promise<void> {
    const model = `${marker}/${slug}`;
    await mgmt.ensure({
      name: slug,
      slug,
      model,
      backend: "vllm",
      taskType,
      command: `${process.execPath} ${join(REPO_ROOT, "test/replicas/openai-replica.mjs")} serve ${model}`,
      executionPolicy: "fixed",
      executionPolicyConfig: { replicas: 1 },
    });
    keys[slug] = (await mgmt.keys.create(slug, { name: "e2e" })).key;
    progress[slug] = [];
    await mgmt.waitUntilReady(slug, { timeoutMs: 60_000, onProgress: (event) => progress[slug]?.push(event) });
  }

  beforeAll(async () => {
    platform = await startLocalPlatform({ dir: mkdtempSync(join(tmpdir(), "ik-sdk-jobs-")), port: 0, log: () => undefined });
    const token = readFileSync(platform.devEnvPath, "utf8").match(/INFERENCEKEY_SDK_TOKEN=(\S+)/)?.[1] as string;
    mgmt = new ManagementClient({ token, baseUrl: platform.url, project: "acme" });
    data = new DataClient({ project: "acme", baseUrl: platform.url });
    await Promise.all([
      provision("search-reranker", "reranker"),
      provision("sentiment", "classification"),
      provision("reward-model", "reward"),
    ]);
  }, 120_000);

  afterAll(async () => {
    await platform?.close();
    await waitFor("no backend left", () => processesWith(marker).length === 0 || undefined);
  });

  it("waitUntilReady followed each workload's phases to ready", () => {
    // Prepare
    const phases = Object.fromEntries(Object.entries(progress).map(([slug, events]) => [slug, events.map((e) => e.phase)]));

    // Assess
    for (const [slug, seen] of Object.entries(phases)) {
      expect(seen.at(-1), slug).toBe("ready");
      expect(seen, slug).not.toContain("error");
    }
  });

  it("the synchronous rerank and the rerank job answer the same results, in score order", async () => {
    // Prepare
    const ep = data.endpoint("search-reranker", { apiKey: keys["search-reranker"] });
    const query = "how do refunds work?";

    // Act
    const sync = await ep.rerank({ query, documents: DOCUMENTS });
    const job = await ep.jobs.rerank({ query, documents: DOCUMENTS, timeoutMs: 60_000 });

    // Assess
    const scores = sync.results.map((r) => r.relevanceScore);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(sync.results.map((r) => r.index).sort()).toEqual([0, 1, 2]);
    expect(job.results.map((r) => [r.index, r.relevanceScore])).toEqual(sync.results.map((r) => [r.index, r.relevanceScore]));
  }, 90_000);

  it("classify and reward submit a job each and return one entry per input", async () => {
    // Prepare
    const sentiment = data.endpoint("sentiment", { apiKey: keys.sentiment });
    const reward = data.endpoint("reward-model", { apiKey: keys["reward-model"] });

    // Act
    const classes = await sentiment.classify({ input: ["great product", "never again"], timeoutMs: 60_000 });
    const scores = await reward.reward({ input: ["The answer is 4.", "The answer is 5."], timeoutMs: 60_000 });
    const conversation = await reward.reward({
      messages: [
        { role: "user", content: "What is 2+2?" },
        { role: "assistant", content: "4" },
      ],
      timeoutMs: 60_000,
    });

    // Assess
    expect(classes.data.map((c) => c.index)).toEqual([0, 1]);
    for (const c of classes.data) {
      expect(c.label).not.toBe("");
      expect(c.probs).toHaveLength(c.numClasses);
    }
    expect(scores.data.map((s) => s.index)).toEqual([0, 1]);
    expect(conversation.data).toHaveLength(1);
  }, 120_000);

  it("submitJob is idempotent by key, refuses the key for another body, and the job reads back terminal", async () => {
    // Prepare
    const ep = data.endpoint("sentiment", { apiKey: keys.sentiment });
    const idempotencyKey = `${marker}-order-42`;

    // Act
    const first = await ep.submitJob({ input: { input: "great product" }, idempotencyKey });
    const again = await ep.submitJob({ input: { input: "great product" }, idempotencyKey });
    const reused = await ep.submitJob({ input: { input: "awful" }, idempotencyKey }).catch((e: unknown) => e);
    const done = await ep.waitForJob<ClassificationResult>(first.id, { timeoutMs: 60_000 });
    const tooLate = await ep.cancelJob(first.id).catch((e: unknown) => e);
    const missing = await ep.getJob("job_0000000000000000").catch((e: unknown) => e);
    const listed: string[] = [];
    for await (const job of ep.listAllJobs({ limit: 1 })) listed.push(job.id);

    // Assess
    expect(again.id).toBe(first.id);
    expect(first.idempotencyKey).toBe(idempotencyKey);
    expect(reused).toBeInstanceOf(IdempotencyKeyReusedError);
    expect(done.status).toBe("succeeded");
    expect(done.result?.data[0]?.label).not.toBe("");
    expect(done.history.map((h) => h.status)).toContain("running");
    expect(tooLate).toBeInstanceOf(JobNotCancellableError);
    expect(missing).toBeInstanceOf(JobNotFoundError);
    expect(listed).toContain(first.id);
  }, 120_000);
});
