import { join } from "node:path";
import { ManagementClient } from "@inferencekey/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PlatformProcess, REPO_ROOT, startPlatformProcess } from "../support/platform-process";
import { processesWith, waitFor } from "../support/processes";

/**
 * What `npm start` prints, read from a real platform process. Backends are the OpenAI-compatible
 * TEST DOUBLE (`test/replicas/openai-replica.mjs`, also in its ollama mode with a simulated pull);
 * each workload's model name carries a marker that finds its processes.
 */
const replicaScript = join(REPO_ROOT, "test/replicas/openai-replica.mjs");
const marker = `e2e-terminal-${process.pid}`;
const doubleCommand = (model: string, flags = "") => `${process.execPath} ${replicaScript} serve ${model} ${flags}`.trim();

describe("npm start's terminal", () => {
  let platform: PlatformProcess;
  let mgmt: ManagementClient;
  let key: { id: string; key: string };
  const model = `${marker}/bot`;

  const chat = () =>
    fetch(`${platform.baseUrl}/endpoint/acme/bot/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
    }).then((response) => response.arrayBuffer().then(() => response.status));
  const lines = () => platform.output().split("\n");

  beforeAll(async () => {
    platform = await startPlatformProcess();
    mgmt = new ManagementClient({ token: platform.sdkToken, baseUrl: platform.baseUrl, project: "acme" });
    await mgmt.ensure({
      name: "Bot",
      slug: "bot",
      model,
      backend: "vllm",
      command: doubleCommand(model),
      executionPolicy: "autoscaling",
      executionPolicyConfig: {
        min_workers: 1,
        max_workers: 2,
        max_hourly_cost_usd: 5,
        // Set explicitly, the request rate sizes the workload too (it is the signal these calls move).
        target_requests_per_minute_per_worker: 30,
        workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"], max_instances: 2 } },
      },
    } as Parameters<ManagementClient["ensure"]>[0]);
    await waitFor("a ready replica", async () => ((await mgmt.get("bot")).status.readyReplicas === 1 ? true : undefined), 30_000);
    const created = await mgmt.keys.create("bot", { name: "terminal test" });
    key = { id: created.id, key: created.key };
  });

  afterAll(async () => {
    await platform?.stop();
    await waitFor("replicas to stop", () => processesWith(marker).length === 0 || undefined, 20_000).catch(() => {
      for (const pid of processesWith(marker)) process.kill(pid, "SIGKILL");
    });
  });

  it("a line per data-plane request: workload, route, status, ms and key id, never the key", async () => {
    // Act
    const statuses = [await chat(), await chat()];
    await waitFor("two request lines", () => lines().filter((l) => l.startsWith("acme/bot  POST /v1/chat/completions 200")).length >= 2 || undefined);

    // Assess
    expect(statuses).toEqual([200, 200]);
    expect(lines()).toContainEqual(expect.stringMatching(new RegExp(`^acme/bot  POST /v1/chat/completions 200 \\d+ ms ${key.id}$`)));
    expect(platform.output()).not.toContain(key.key);
  });

  it("under load, the requests past 20 a second are summed into one line per workload and second", async () => {
    // Act: 120 requests at once.
    const statuses = await Promise.all(Array.from({ length: 120 }, () => chat()));
    const listed = () => lines().filter((l) => l.startsWith("acme/bot  POST /v1/chat/completions")).length;
    const summaries = () => lines().filter((l) => /^acme\/bot {2}\+\d+ more requests? this second: /.test(l));
    const summed = () => summaries().reduce((sum, l) => sum + Number(/\+(\d+)/.exec(l)?.[1]), 0);
    await waitFor("all 122 requests listed or summed", () => listed() + summed() === 122 || undefined, 5_000);

    // Assess: at most 20 lines per second one by one; one summary per second spanned.
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(summaries().length).toBeGreaterThanOrEqual(1);
    for (const summary of summaries()) expect(summary).toMatch(/^acme\/bot {2}\+\d+ more requests? this second: 200 x\d+; \d+ ms avg, \d+ ms max; 1 key$/);
    expect(listed()).toBeLessThanOrEqual(2 + 20 * (summaries().length + 1));
  });

  it("the controller's decisions show with their reasons, rounded, and no scale-down countdown at the min_workers floor", async () => {
    // Act: the controller ticks every 2 s and sees the request rate of the calls above.
    await waitFor("a decision on the request rate", () => lines().some((l) => l.startsWith("acme/bot  controller: ") && l.includes("requests/min")) || undefined);

    // Assess: the first decision for a min_workers 1 workload with no load, then the load's.
    const decisions = lines().filter((l) => l.startsWith("acme/bot  controller: "));
    expect(decisions[0]).toMatch(/^acme\/bot {2}controller: wants 1 replica: at the floor of 1 \(min_workers\); /);
    expect(decisions.join("\n")).not.toMatch(/\d\.\d{3,}/);
    expect(platform.output()).not.toContain("before scaling down");
  });

  it("every line about a replica names its workload, and an ollama model pull shows its progress", async () => {
    // Prepare: ollama mode of the double, whose model must be pulled first (about 2 s).
    const ollamaModel = `${marker}-llm`;
    await mgmt.ensure({ name: "LLM", slug: "llm", model: ollamaModel, backend: "ollama", command: doubleCommand(ollamaModel, "--no-api-key --ollama --ollama-pull-ms 2000") } as Parameters<ManagementClient["ensure"]>[0]);

    // Act
    await waitFor("the ollama replica ready", async () => ((await mgmt.get("llm")).status.readyReplicas === 1 ? true : undefined), 30_000);

    // Assess
    const output = platform.output();
    expect(output).toMatch(new RegExp(`replica acme/llm rep_\\w+: pulling model ${ollamaModel} into ollama: pulling \\w+: \\d+% \\(`));
    expect(output).toMatch(new RegExp(`replica acme/llm rep_\\w+: pulled model ${ollamaModel} into ollama in \\d+ s`));
    const aboutReplicas = lines().filter((l) => /\brep_\w+/.test(l));
    expect(aboutReplicas.length).toBeGreaterThan(5);
    for (const line of aboutReplicas) expect(line).toMatch(/acme\/(bot|llm)\b/);
  });
});
