import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalPlatform, startLocalPlatform } from "@inferencekey/local";
import { DataClient, JobNotCancellableError, ManagementClient } from "@inferencekey/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/platform-process";
import { processesWith, waitFor } from "../support/processes";

/**
 * The TypeScript SDK's jobs methods against the real jobs API on the local platform: the guide's
 * reranker ensured (the TEST DOUBLE test/replicas/openai-replica.mjs as its command), then
 * `jobs.rerank`, `classify`, `reward`, `submitJob`/`waitForJob`, `listJobs` and `cancelJob`.
 */
const marker = `e2e-jobs-sdk-${process.pid}`;
const REPLICA = join(REPO_ROOT, "test/replicas/openai-replica.mjs");

function spec(slug: string, model: string, taskType: "reranker" | "classification" | "reward") {
  return {
    name: slug,
    slug,
    model,
    backend: "vllm",
    taskType,
    command: `${process.execPath} ${REPLICA} serve ${model} --task score --marker ${marker}`,
    executionPolicy: "autoscaling" as const,
    executionPolicyConfig: {
      min_workers: 0,
      max_workers: 3,
      max_hourly_cost_usd: 5.0,
      workers: { source: "cloud" as const, cloud_pool: { gpu_pool: ["NVIDIA A100-SXM4-80GB"], max_hourly_cost_usd: 5.0, max_instances: 3 } },
    },
  };
}

describe("the TypeScript SDK's jobs on the local platform", () => {
  let platform: LocalPlatform;
  let mgmt: ManagementClient;
  let data: DataClient;

  beforeAll(async () => {
    platform = await startLocalPlatform({ dir: mkdtempSync(join(tmpdir(), "ik-jobs-sdk-")), port: 0, tickMs: 500, log: () => undefined });
    const token = readFileSync(platform.devEnvPath, "utf8").match(/INFERENCEKEY_SDK_TOKEN=(\S+)/)?.[1] as string;
    mgmt = new ManagementClient({ token, baseUrl: platform.url, project: "acme" });
    data = new DataClient({ project: "acme", baseUrl: platform.url });
  });

  afterAll(async () => {
    await platform?.close();
    await waitFor("no backend left", () => processesWith(marker).length === 0 || undefined);
  });

  it("jobs.rerank scales the reranker from zero and answers in score order; submit, list and cancel work on the real API", async () => {
    // Prepare
    await mgmt.ensure(spec("search-reranker", "BAAI/bge-reranker-v2-m3", "reranker"));
    const ep = data.endpoint("search-reranker", { apiKey: (await mgmt.keys.create("search-reranker", { name: "sdk" })).key });
    const documents = ["bananas are yellow", "paris is the capital of france", "the capital of spain is madrid"];

    // Act
    const ranked = await ep.jobs.rerank({ query: "what is the capital of france", documents, timeoutMs: 90_000 });
    const submitted = await ep.submitJob({ input: { query: "red apples", documents: ["green pears", "red apples"] } });
    const finished = await ep.waitForJob(submitted, { timeoutMs: 90_000 });
    const listed = await ep.listJobs({ status: "succeeded" });
    const refused = await ep.cancelJob(finished.id).catch((e: unknown) => e);

    // Assess
    expect(ranked.results.map((r) => r.index)).toEqual([1, 2, 0]);
    expect(finished.status).toBe("succeeded");
    expect(listed.data.map((j) => j.id)).toContain(finished.id);
    expect(refused).toBeInstanceOf(JobNotCancellableError);
  }, 120_000);

  it("classify and reward run their jobs and answer per input", async () => {
    // Prepare
    await mgmt.ensure(spec("classifier", "jason9693/Qwen2.5-1.5B-apeach", "classification"));
    await mgmt.ensure(spec("reward-model", "Skywork/Skywork-Reward-V2-Llama-3.2-1B", "reward"));
    const classifier = data.endpoint("classifier", { apiKey: (await mgmt.keys.create("classifier", { name: "sdk" })).key });
    const rewarder = data.endpoint("reward-model", { apiKey: (await mgmt.keys.create("reward-model", { name: "sdk" })).key });

    // Act
    const classes = await classifier.classify({ input: ["a great and helpful answer", "a terrible answer"], timeoutMs: 90_000 });
    const rewards = await rewarder.reward({ input: ["correct and helpful", "wrong and useless"], timeoutMs: 90_000 });

    // Assess
    expect(classes.data.map((c) => c.label)).toEqual(["positive", "negative"]);
    expect(rewards.data[0]?.reward as number).toBeGreaterThan(rewards.data[1]?.reward as number);
  }, 120_000);
});
