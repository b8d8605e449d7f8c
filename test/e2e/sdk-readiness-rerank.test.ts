import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalPlatform, startLocalPlatform } from "@inferencekey/local";
import { DataClient, ManagementClient, type ReadinessEvent, WorkloadNotReadyError } from "@inferencekey/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/platform-process";
import { processesWith, waitFor } from "../support/processes";

/**
 * The TypeScript SDK's vendor-parity extras (issue 18 point 6) against the local platform as
 * `npm start` runs it: `waitUntilReady` on the readiness stream (to ready, and to a failing
 * command's error) and the synchronous `rerank`, with the TEST DOUBLE test/replicas/openai-replica.mjs
 * as the reranker (vLLM's shapes, deterministic scores).
 */
const marker = `e2e-sdk-ready-${process.pid}`;
const DOCUMENTS = ["Shipping is free over 50 EUR.", "Refunds are accepted within 30 days.", "We ship to 40 countries."];

describe("the TypeScript SDK's waitUntilReady and rerank on the local platform", () => {
  let platform: LocalPlatform;
  let mgmt: ManagementClient;
  let data: DataClient;

  beforeAll(async () => {
    platform = await startLocalPlatform({ dir: mkdtempSync(join(tmpdir(), "ik-sdk-ready-")), port: 0, log: () => undefined });
    const token = readFileSync(platform.devEnvPath, "utf8").match(/INFERENCEKEY_SDK_TOKEN=(\S+)/)?.[1] as string;
    mgmt = new ManagementClient({ token, baseUrl: platform.url, project: "acme" });
    data = new DataClient({ project: "acme", baseUrl: platform.url });
  });

  afterAll(async () => {
    await platform?.close();
    await waitFor("no backend left", () => processesWith(marker).length === 0 || undefined);
  });

  it("waitUntilReady follows a reranker to ready, then rerank answers in score order", async () => {
    // Prepare
    const model = `${marker}/reranker`;
    await mgmt.ensure({
      name: "Search reranker",
      slug: "search-reranker",
      model,
      backend: "vllm",
      taskType: "reranker",
      command: `${process.execPath} ${join(REPO_ROOT, "test/replicas/openai-replica.mjs")} serve ${model}`,
      executionPolicy: "fixed",
      executionPolicyConfig: { replicas: 1 },
    });
    const apiKey = (await mgmt.keys.create("search-reranker", { name: "e2e" })).key;
    const seen: ReadinessEvent[] = [];

    // Act
    const ready = await mgmt.waitUntilReady("search-reranker", { timeoutMs: 60_000, onProgress: (e) => seen.push(e) });
    const out = await data.endpoint("search-reranker", { apiKey }).rerank({ query: "how do refunds work?", documents: DOCUMENTS });
    const top = await data.endpoint("search-reranker", { apiKey }).rerank({ query: "how do refunds work?", documents: DOCUMENTS, topN: 1 });

    // Assess
    expect(ready.phase).toBe("ready");
    expect(seen.at(-1)?.phase).toBe("ready");
    expect(seen.map((e) => e.phase)).not.toContain("error");
    const scores = out.results.map((r) => r.relevanceScore);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(out.results.map((r) => r.index).sort()).toEqual([0, 1, 2]);
    expect(out.results[0]?.index).toBe(1);
    expect(top.results.map((r) => r.index)).toEqual([1]);
  }, 90_000);

  it("waitUntilReady throws WorkloadNotReadyError with the reason when the command cannot start", async () => {
    // Prepare
    await mgmt.ensure({
      name: "Broken",
      slug: "broken-bot",
      model: `${marker}/broken`,
      backend: "vllm",
      command: `sh -c 'echo ${marker} no such backend >&2; exit 127'`,
      executionPolicy: "fixed",
      executionPolicyConfig: { replicas: 1 },
    });

    // Act
    const error = await mgmt.waitUntilReady("broken-bot", { timeoutMs: 90_000, silent: true }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(WorkloadNotReadyError);
    expect((error as WorkloadNotReadyError).phase).toBe("error");
    expect((error as WorkloadNotReadyError).message).toMatch(/127|exited/);
  }, 120_000);
});
