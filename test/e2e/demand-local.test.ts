import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalPlatform, startLocalPlatform } from "@inferencekey/local";
import { ManagementClient } from "@inferencekey/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Under `npm start`, calls the gateway refuses and `GET /v1/models` must not wake a workload scaled
 * to zero (they once scaled a reranker 0 -> 1). Ticks are driven by the test; no local worker runs,
 * so the controller's decision is what is looked at.
 */
describe("refused calls do not wake a workload on the local platform", () => {
  let platform: LocalPlatform;
  let mgmt: ManagementClient;

  beforeAll(async () => {
    platform = await startLocalPlatform({
      dir: mkdtempSync(join(tmpdir(), "ik-demand-")),
      port: 0,
      tickMs: 3_600_000,
      runLocalWorker: false,
      log: () => undefined,
    });
    const token = readFileSync(platform.devEnvPath, "utf8").match(/INFERENCEKEY_SDK_TOKEN=(\S+)/)?.[1] as string;
    mgmt = new ManagementClient({ token, baseUrl: platform.url, project: "acme" });
  });

  afterAll(async () => {
    await platform?.close();
  });

  it("a reranker at zero stays at zero after refused calls and model listings", async () => {
    // Prepare
    await mgmt.ensure({
      name: "Ranker",
      slug: "ranker",
      model: "acme/ranker",
      backend: "vllm",
      taskType: "reranker",
      command: "true",
      executionPolicy: "autoscaling",
      executionPolicyConfig: {
        min_workers: 0,
        max_workers: 2,
        max_hourly_cost_usd: 5,
        workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"] } },
      },
    });
    const key = (await mgmt.keys.create("ranker", { name: "refused" })).key;
    const base = `${platform.url}/endpoint/acme/ranker/v1`;
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };

    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      statuses.push((await fetch(`${base}/rerank`, { method: "POST", headers, body: "{}" })).status);
      statuses.push((await fetch(`${base}/chat/completions`, { method: "POST", headers, body: "{}" })).status);
      statuses.push((await fetch(`${base}/models`, { headers })).status);
      statuses.push((await fetch(`${base}/rerank`, { method: "POST", body: "{}" })).status);
    }
    await platform.controller.tick();
    const status = (await mgmt.get("ranker")).status;

    // Assess
    // A rerank without query and documents is refused (400) before it counts; chat is not a reranker's route.
    expect(new Set(statuses)).toEqual(new Set([400, 404, 200, 401]));
    expect(status.desiredReplicas).toBe(0);
    expect(status.replicas).toEqual([]);
  });
});
