import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalPlatform, startLocalPlatform } from "@inferencekey/local";
import { ManagementClient } from "@inferencekey/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/platform-process";
import { processesWith, waitFor } from "../support/processes";

/**
 * The gateway and the autoscaler together on the local platform: sustained requests through the
 * gateway raise an autoscaling workload from 1 to 2 workers. Backends are the TEST DOUBLE
 * test/replicas/openai-replica.mjs started as the workload's command.
 */
const marker = `e2e-gw-auto-${process.pid}`;

describe("gateway + autoscaler on the local platform", () => {
  let platform: LocalPlatform;
  let mgmt: ManagementClient;

  beforeAll(async () => {
    platform = await startLocalPlatform({ dir: mkdtempSync(join(tmpdir(), "ik-gw-auto-")), port: 0, tickMs: 1000, log: () => undefined });
    const token = readFileSync(platform.devEnvPath, "utf8").match(/INFERENCEKEY_SDK_TOKEN=(\S+)/)?.[1] as string;
    mgmt = new ManagementClient({ token, baseUrl: platform.url, project: "acme" });
  });

  afterAll(async () => {
    await platform?.close();
    await waitFor("no backend left", () => processesWith(marker).length === 0 || undefined);
  });

  it("sustained requests raise an autoscaling workload from 1 to 2 workers", async () => {
    // Prepare: one warm worker; each worker should carry 10 requests/minute.
    const model = `${marker}/chat`;
    await mgmt.ensure({
      name: "Chat",
      slug: "chat",
      model,
      backend: "vllm",
      command: `${process.execPath} ${join(REPO_ROOT, "test/replicas/openai-replica.mjs")} serve ${model}`,
      executionPolicy: "autoscaling",
      executionPolicyConfig: {
        min_workers: 1,
        max_workers: 2,
        max_hourly_cost_usd: 5,
        workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"] } },
        target_requests_per_minute_per_worker: 10,
      },
    });
    await waitFor("1 ready worker", async () => (await mgmt.get("chat")).status.readyReplicas === 1 || undefined, 30_000);
    const key = await mgmt.keys.create("chat", { name: "load" });
    const client = new OpenAI({ baseURL: `${platform.url}/endpoint/acme/chat/v1`, apiKey: key.key, maxRetries: 0 });

    // Act: ~4 requests per second through the gateway until the second worker is ready (bounded to 40 s).
    const started = Date.now();
    let sent = 0;
    let failed = 0;
    let scaled = false;
    while (!scaled && Date.now() - started < 40_000) {
      const batch = await Promise.allSettled(
        Array.from({ length: 2 }, () => client.chat.completions.create({ model, messages: [{ role: "user", content: "hello" }] })),
      );
      sent += batch.length;
      failed += batch.filter((r) => r.status === "rejected").length;
      await new Promise((r) => setTimeout(r, 500));
      scaled = (await mgmt.get("chat")).status.readyReplicas === 2;
    }

    // Assess
    const status = (await mgmt.get("chat")).status;
    console.log(`scaled 1 -> 2 after ${sent} requests in ${Date.now() - started} ms: ${status.decision}`);
    expect(scaled).toBe(true);
    expect(failed).toBe(0);
    expect(status.events.some((e) => e.type === "DesiredChanged" && e.message.includes("scaling 1 -> 2"))).toBe(true);
  }, 90_000);
});
