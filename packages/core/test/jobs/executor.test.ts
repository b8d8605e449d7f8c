import { afterAll, describe, expect, it } from "vitest";
import { undiciTransport } from "../../src/gateway/upstream";
import { replicaJobExecutor, normaliseReward } from "../../src/jobs/executor";
import type { JobInput, JobRecord, JobTaskType } from "../../src/jobs/schema";
import { getWorkloadRecord } from "../../src/workloads";
import { startReplica, stopAllReplicas, TestPlatform } from "../gateway/support";
import { ADMIN } from "./support";

afterAll(async () => {
  await stopAllReplicas();
});

/** A workload of this task type and backend with one ready test-replica process (vLLM or sglang shapes). */
async function workloadWithReplica(taskType: JobTaskType, backend: "vllm" | "sglang") {
  const platform = new TestPlatform();
  const slug = `${taskType}-${backend}`;
  await platform.workload("acme", { slug, task_type: taskType, backend });
  const id = platform.replicaIdFor("acme", slug);
  const replica = await startReplica({ id, serverSecret: platform.ctx.serverSecret, extraArgs: backend === "sglang" ? ["--sglang"] : [] });
  await platform.replica("acme", slug, { port: replica.port });
  const record = await getWorkloadRecord(platform.ctx, ADMIN, "acme", slug);
  const executor = replicaJobExecutor(platform.ctx, { transport: undiciTransport(), timeoutMs: 10_000 });
  const run = (input: JobInput) => executor.execute({ id: "job_test0000", project: "acme", workload: slug, task_type: taskType } as JobRecord, input, record);
  return { platform, replica, executor, run };
}

const RERANK = { query: "capital of france", documents: ["bananas are yellow", "paris is the capital of france", "france"] };

describe("replicaJobExecutor against the test replica", () => {
  it.each(["vllm", "sglang"] as const)("%s reranker: results sorted by relevance, with documents and usage", async (backend) => {
    // Prepare
    const { run, replica } = await workloadWithReplica("reranker", backend);

    // Act
    const outcome = await run(RERANK);
    const top = await run({ ...RERANK, top_n: 1 });

    // Assess
    expect(outcome.kind).toBe("succeeded");
    const result = (outcome as { result: { results: { index: number; relevance_score: number; document?: { text: string } }[]; usage: { total_tokens: number } } }).result;
    expect(result.results.map((r) => r.index)).toEqual([1, 2, 0]);
    expect(result.results[0]?.document).toEqual({ text: "paris is the capital of france" });
    expect(result.results[0]?.relevance_score).toBeGreaterThan(result.results[1]?.relevance_score ?? 1);
    expect(result.usage.total_tokens).toBeGreaterThan(0);
    expect((top as { result: { results: unknown[] } }).result.results).toHaveLength(1);
    expect(Object.keys((await replica.stats()).byRoute)).toEqual(["/v1/rerank"]);
  });

  it.each(["vllm", "sglang"] as const)("%s classification: a label and probabilities per input", async (backend) => {
    // Prepare
    const { run, replica } = await workloadWithReplica("classification", backend);

    // Act
    const outcome = await run({ input: ["a great and helpful answer", "a terrible answer"] });

    // Assess
    expect(outcome).toMatchObject({
      kind: "succeeded",
      result: { data: [{ index: 0, label: "positive", num_classes: 2 }, { index: 1, label: "negative", num_classes: 2 }], usage: { total_tokens: 8 } },
    });
    expect(Object.keys((await replica.stats()).byRoute)).toEqual([backend === "vllm" ? "/classify" : "/v1/classify"]);
  });

  it.each(["vllm", "sglang"] as const)("%s reward: one number per input, higher for the better answer", async (backend) => {
    // Prepare
    const { run, replica } = await workloadWithReplica("reward", backend);

    // Act
    const outcome = await run({ input: ["correct and helpful", "wrong and useless"] });

    // Assess
    const data = (outcome as { result: { data: { index: number; reward: number }[] } }).result.data;
    expect(data.map((d) => d.index)).toEqual([0, 1]);
    expect(typeof data[0]?.reward).toBe("number");
    expect(data[0]?.reward).toBeGreaterThan(data[1]?.reward ?? 0);
    expect(Object.keys((await replica.stats()).byRoute)).toEqual([backend === "vllm" ? "/pooling" : "/classify"]);
  });

  it("vLLM reward takes a conversation; sglang refuses one (its /classify takes templated text)", async () => {
    // Prepare
    const vllm = await workloadWithReplica("reward", "vllm");
    const sglang = await workloadWithReplica("reward", "sglang");
    const messages = [{ role: "user", content: "2+2?" }, { role: "assistant", content: "4, correct" }];

    // Act
    const ok = await vllm.run({ messages });
    const refused = await sglang.run({ messages });

    // Assess
    expect(ok).toMatchObject({ kind: "succeeded", result: { data: [{ index: 0, reward: expect.any(Number) }] } });
    expect(refused).toMatchObject({ kind: "failed", retryable: false, code: "invalid_input" });
  });

  it("an unreachable replica is a retryable failure; a replica refusing the input is not", async () => {
    // Prepare
    const { run, replica } = await workloadWithReplica("reranker", "vllm");

    // Act
    const refused = await run({ query: 1 as unknown as string, documents: ["a"] });
    await replica.stop();
    const unreachable = await run(RERANK);

    // Assess
    expect(refused).toMatchObject({ kind: "failed", retryable: false, code: "upstream_rejected" });
    expect(unreachable).toMatchObject({ kind: "failed", retryable: true, code: "upstream_unreachable" });
  });
});

describe("reward shapes", () => {
  it("a sequence reward is a number, per-token rewards a list", () => {
    // Assess
    expect(normaliseReward({ data: [{ index: 0, data: [0.5] }], usage: { total_tokens: 3 } })).toEqual({ data: [{ index: 0, reward: 0.5 }], usage: { total_tokens: 3 } });
    expect(normaliseReward({ data: [{ index: 0, data: [[0.1], [0.2], [0.3]] }] })).toEqual({ data: [{ index: 0, reward: [0.1, 0.2, 0.3] }], usage: { total_tokens: 0 } });
    expect(normaliseReward([{ embedding: [1.5] }])).toEqual({ data: [{ index: 0, reward: 1.5 }], usage: { total_tokens: 0 } });
    expect(() => normaliseReward({ data: [{ index: 0, data: "x" }] })).toThrow();
  });
});
