import { describe, expect, it } from "vitest";
import { MemoryStore, type Principal, type ValidationError, ensureWorkload, getWorkload, specWarnings, validateSpec } from "../../src";

const base = { name: "Search reranker", slug: "search-reranker", model: "BAAI/bge-reranker-v2-m3", backend: "vllm" };
const ADMIN: Principal = { tokenId: "tok_testadmin", admin: true };

function problems(spec: Record<string, unknown>): { path: string; message: string }[] {
  try {
    validateSpec(spec);
    return [];
  } catch (error) {
    return (error as ValidationError).details;
  }
}

describe("async task types in the spec", () => {
  it("default commands start vLLM and sglang as pooling models (vLLM's --task before 0.10)", () => {
    // Act
    const commands = [
      validateSpec({ ...base, task_type: "reranker" }).command,
      validateSpec({ ...base, task_type: "classification" }).command,
      validateSpec({ ...base, task_type: "reward" }).command,
      validateSpec({ ...base, task_type: "reranker", vllm_version: "0.9.2" }).command,
      validateSpec({ ...base, backend: "sglang", task_type: "reward" }).command,
      validateSpec({ ...base, task_type: "text2text" }).command,
    ];

    // Assess
    expect(commands).toEqual([
      "vllm serve BAAI/bge-reranker-v2-m3 --runner pooling --convert classify",
      "vllm serve BAAI/bge-reranker-v2-m3 --runner pooling --convert classify",
      "vllm serve BAAI/bge-reranker-v2-m3 --runner pooling --convert reward",
      "vllm serve BAAI/bge-reranker-v2-m3 --task score",
      "python -m sglang.launch_server --model-path BAAI/bge-reranker-v2-m3 --is-embedding",
      "vllm serve BAAI/bge-reranker-v2-m3",
    ]);
  });

  it("ollama is refused for reranker, classification and reward with the reason", () => {
    for (const taskType of ["reranker", "classification", "reward"]) {
      // Act
      const [problem] = problems({ ...base, backend: "ollama", task_type: taskType });

      // Assess
      expect(problem?.path).toBe("backend");
      expect(problem?.message).toContain("ollama has no rerank, classify or pooling route");
    }
  });

  it("text2video and image2video are refused at ensure with a reason naming them", () => {
    for (const taskType of ["text2video", "image2video"]) {
      // Act
      const [problem] = problems({ ...base, backend: "vllm-omni", task_type: taskType });

      // Assess
      expect(problem?.path).toBe("task_type");
      expect(problem?.message).toContain(`task_type "${taskType}" is not served yet`);
    }
  });

  it("jobs: {max_queue_seconds, result_ttl_seconds} is accepted for async task types only, within bounds", () => {
    // Act
    const spec = validateSpec({ ...base, task_type: "reranker", jobs: { max_queue_seconds: 600, result_ttl_seconds: 86_400 } });
    const onChat = problems({ ...base, task_type: "text2text", jobs: { max_queue_seconds: 600 } });
    const tooLong = problems({ ...base, task_type: "reranker", jobs: { max_queue_seconds: 0, extra: 1 } });

    // Assess
    expect(spec.jobs).toEqual({ max_queue_seconds: 600, result_ttl_seconds: 86_400 });
    expect(onChat.map((p) => p.path)).toEqual(["jobs"]);
    expect(tooLong.map((p) => p.path).sort()).toEqual(["jobs.extra", "jobs.max_queue_seconds"]);
  });

  it("the guide's `--task score` command is accepted with a warning in the status naming the replacement", async () => {
    // Prepare
    const ctx = { store: new MemoryStore(), serverSecret: "pooling-test-secret", now: () => new Date() };

    // Act
    await ensureWorkload(ctx, ADMIN, "acme", { ...base, task_type: "reranker", command: "vllm serve BAAI/bge-reranker-v2-m3 --task score" });
    const view = await getWorkload(ctx, ADMIN, "acme", "search-reranker");

    // Assess
    expect(view.status.warnings).toEqual([expect.stringContaining("--runner pooling --convert classify")]);
    expect(view.status.conditions[0]?.message).toContain("warning: command uses --task score");
    expect(specWarnings({ backend: "vllm", task_type: "reranker", command: "vllm serve m --task=score", vllm_version: "0.8.5" })).toEqual([]);
    expect(specWarnings({ backend: "vllm", task_type: "reranker", command: "vllm serve m --runner pooling" })).toEqual([]);
  });
});
