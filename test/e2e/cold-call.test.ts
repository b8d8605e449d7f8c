import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalPlatform, startLocalPlatform } from "@inferencekey/local";
import { DataClient, ManagementClient } from "@inferencekey/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/platform-process";
import { processesWith, waitFor } from "../support/processes";

/**
 * The first call to a workload scaled to zero, on the local platform as `npm start` runs it (default
 * controller tick), with the TEST DOUBLE test/replicas/openai-replica.mjs as the backend. The bar: the
 * SDK's cold `generateText` (default options) and a raw request held with `X-Scale-Up-Timeout: 30`
 * each answer 200 within 2 s of being sent. The measured times are printed.
 */
const marker = `e2e-cold-${process.pid}`;
const COLD_CALL_BAR_MS = 2000;

describe("a cold first call on the local platform", () => {
  let platform: LocalPlatform;
  let mgmt: ManagementClient;
  let data: DataClient;

  beforeAll(async () => {
    platform = await startLocalPlatform({ dir: mkdtempSync(join(tmpdir(), "ik-cold-")), port: 0, log: () => undefined });
    const token = readFileSync(platform.devEnvPath, "utf8").match(/INFERENCEKEY_SDK_TOKEN=(\S+)/)?.[1] as string;
    mgmt = new ManagementClient({ token, baseUrl: platform.url, project: "acme" });
    data = new DataClient({ project: "acme", baseUrl: platform.url });
  });

  afterAll(async () => {
    await platform?.close();
    await waitFor("no backend left", () => processesWith(marker).length === 0 || undefined);
  });

  /** An autoscaling workload at zero workers, its local worker's agent already running, and a key. */
  async function scaledToZero(slug: string): Promise<string> {
    const model = `${marker}/${slug}`;
    await mgmt.ensure({
      name: slug,
      slug,
      model,
      backend: "vllm",
      command: `${process.execPath} ${join(REPO_ROOT, "test/replicas/openai-replica.mjs")} serve ${model}`,
      executionPolicy: "autoscaling",
      executionPolicyConfig: {
        min_workers: 0,
        max_workers: 1,
        max_hourly_cost_usd: 5,
        workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"] } },
      },
    });
    const key = await mgmt.keys.create(slug, { name: "cold" });
    await waitFor("the workload decided on zero workers", async () => {
      const status = (await mgmt.get(slug)).status;
      return (status.desiredReplicas === 0 && status.replicas.length === 0 && status.decision !== "") || undefined;
    });
    return key.key;
  }

  it("the SDK's generateText answers a cold workload within 2 s", async () => {
    // Prepare
    const apiKey = await scaledToZero("cold-sdk");
    const endpoint = data.endpoint("cold-sdk", { apiKey });

    // Act
    const started = performance.now();
    const out = await endpoint.generateText({ prompt: "wake up" });
    const elapsed = performance.now() - started;

    // Assess
    console.log(`cold generateText (TypeScript SDK, default options): ${Math.round(elapsed)} ms`);
    expect(out.text).toContain("wake up");
    expect(elapsed).toBeLessThan(COLD_CALL_BAR_MS);
  }, 60_000);

  it("a raw request with X-Scale-Up-Timeout: 30 is answered within 2 s of a cold start", async () => {
    // Prepare
    const apiKey = await scaledToZero("cold-http");

    // Act
    const started = performance.now();
    const response = await fetch(`${platform.url}/endpoint/acme/cold-http/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json", "x-scale-up-timeout": "30" },
      body: JSON.stringify({ messages: [{ role: "user", content: "wake up" }] }),
    });
    const body = await response.text();
    const elapsed = performance.now() - started;

    // Assess
    console.log(`cold raw HTTP with X-Scale-Up-Timeout: 30: ${Math.round(elapsed)} ms`);
    expect(response.status, body).toBe(200);
    expect(elapsed).toBeLessThan(COLD_CALL_BAR_MS);
  }, 60_000);
});
