import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { mkdtempSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyWebhook } from "@inferencekey/core";
import { type LocalPlatform, startLocalPlatform } from "@inferencekey/local";
import { ManagementClient } from "@inferencekey/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PlatformProcess, REPO_ROOT, startPlatformProcess } from "../support/platform-process";
import { processesWith, waitFor } from "../support/processes";

/**
 * Async jobs end to end on the local platform (`npm start`'s code, in this process), over raw HTTP:
 * the guide's reranker spec (and classification and reward in the same shape) ensured with the
 * TEST DOUBLE test/replicas/openai-replica.mjs as the command (with the guide's `--task score`),
 * scaled from zero by its first job, results in score order, a signed webhook delivered to a
 * receiver here, lifecycle events in the events log, and back to zero once idle.
 */
const marker = `e2e-jobs-${process.pid}`;
const REPLICA = join(REPO_ROOT, "test/replicas/openai-replica.mjs");

/** The guide's provision block, as written, except the command (the test double, keeping `--task score`). */
function guideSpec(slug: string, model: string, taskType: "reranker" | "classification" | "reward") {
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

interface WireJob {
  id: string;
  status: string;
  attempts: number;
  history: { status: string }[];
  result: Record<string, unknown> | null;
  error: unknown;
  webhook: { delivery: { status: string; attempts: number; last_status: number | null } } | null;
}

describe("async jobs on the local platform", () => {
  let platform: LocalPlatform;
  let mgmt: ManagementClient;
  let token: string;
  let skippedMs = 0;
  let receiver: Server;
  const deliveries: { headers: IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    platform = await startLocalPlatform({
      dir: mkdtempSync(join(tmpdir(), "ik-jobs-")),
      port: 0,
      tickMs: 500,
      log: () => undefined,
      now: () => new Date(Date.now() + skippedMs),
    });
    token = readFileSync(platform.devEnvPath, "utf8").match(/INFERENCEKEY_SDK_TOKEN=(\S+)/)?.[1] as string;
    mgmt = new ManagementClient({ token, baseUrl: platform.url, project: "acme" });
    receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        deliveries.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((done) => receiver.listen(0, "127.0.0.1", done));
  });

  afterAll(async () => {
    await platform?.close();
    await new Promise<void>((done) => receiver.close(() => done()));
    await waitFor("no backend left", () => processesWith(marker).length === 0 || undefined);
  });

  async function control(method: string, path: string): Promise<Record<string, unknown>> {
    const response = await fetch(`${platform.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    return (await response.json()) as Record<string, unknown>;
  }

  /** Submits a job with raw HTTP and long-polls it until it is finished. */
  async function runJob(slug: string, key: string, body: unknown): Promise<{ submitted: Response; job: WireJob }> {
    const base = `${platform.url}/endpoint/acme/${slug}/v1/jobs`;
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const submitted = await fetch(base, { method: "POST", headers, body: JSON.stringify(body) });
    const { id } = (await submitted.clone().json()) as WireJob;
    const job = await waitFor(
      `job ${id} finished`,
      async () => {
        const polled = (await (await fetch(`${base}/${id}?wait=20`, { headers })).json()) as WireJob;
        return ["succeeded", "failed", "cancelled", "expired"].includes(polled.status) ? polled : undefined;
      },
      90_000,
    );
    return { submitted, job };
  }

  it("the guide's reranker at zero scales up on its first job, ranks by relevance, signs the webhook, and returns to zero when idle", async () => {
    // Prepare
    await mgmt.ensure(guideSpec("search-reranker", "BAAI/bge-reranker-v2-m3", "reranker"));
    const key = (await mgmt.keys.create("search-reranker", { name: "jobs" })).key;
    const secret = (await control("POST", "/v1/projects/acme/workloads/search-reranker/webhook-secret")).secret as string;
    const before = await mgmt.get("search-reranker");
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/jobs`;

    // Act
    const { submitted, job } = await runJob("search-reranker", key, {
      query: "what is the capital of france",
      documents: ["bananas are yellow", "paris is the capital of france", "the capital of spain is madrid"],
      webhook: { url: hook },
    });
    await waitFor("the webhook delivered", () => deliveries.length > 0 || undefined, 10_000);
    const view = await control("GET", "/v1/projects/acme/workloads/search-reranker");
    const events = ((await control("GET", "/v1/projects/acme/workloads/search-reranker/events")).data as { type: string; message: string }[]).map((e) => e.type);
    // Idle: skip past the scale-down window and the idle period, let heartbeats catch up, then tick.
    skippedMs += 1_000_000;
    await new Promise((r) => setTimeout(r, 2500));
    await platform.controller.tick();
    const after = await mgmt.get("search-reranker");

    // Assess
    expect(before.status.desiredReplicas).toBe(0);
    expect(submitted.status).toBe(202);
    expect(job.status).toBe("succeeded");
    expect(job.history.map((h) => h.status)).toEqual(["queued", "waiting", "queued", "running", "succeeded"]);
    const results = (job.result as { results: { index: number; relevance_score: number; document: { text: string } }[] }).results;
    expect(results.map((r) => r.index)).toEqual([1, 2, 0]);
    expect(results.map((r) => r.relevance_score)).toEqual([...results.map((r) => r.relevance_score)].sort((a, b) => b - a));
    const [delivery] = deliveries;
    const signature = { id: String(delivery?.headers["webhook-id"]), timestamp: String(delivery?.headers["webhook-timestamp"]), signature: String(delivery?.headers["webhook-signature"]) };
    expect(verifyWebhook(secret, signature, delivery?.body ?? "", Math.floor(Date.parse(String(JSON.parse(delivery?.body ?? "{}").timestamp)) / 1000))).toBe(true);
    expect(JSON.parse(delivery?.body ?? "{}").data.id).toBe(job.id);
    expect(((view.status as { warnings?: string[] }).warnings ?? [])[0]).toContain("--runner pooling --convert classify");
    expect(events).toEqual(expect.arrayContaining(["job.succeeded", "workload.scaled", "workload.ready"]));
    expect(after.status.desiredReplicas).toBe(0);
  }, 120_000);

  it("jobs wait through a slow start (the backend loads for 4 s) without spending receives", async () => {
    // Prepare: the reranker's spec with a backend that listens only after 4 s.
    const spec = guideSpec("slow-reranker", "BAAI/bge-reranker-base", "reranker");
    await mgmt.ensure({ ...spec, command: `${spec.command} --startup-delay-ms 4000` });
    const key = (await mgmt.keys.create("slow-reranker", { name: "jobs" })).key;

    // Act
    const jobs = await Promise.all(
      ["alpha beta", "beta gamma", "gamma delta"].map((query) => runJob("slow-reranker", key, { query, documents: ["alpha beta", "gamma delta"] })),
    );

    // Assess
    for (const { job } of jobs) {
      expect(job.status).toBe("succeeded");
      expect(job.attempts).toBe(1);
      expect(job.history.map((h) => h.status)).toContain("waiting");
    }
    expect(platform.jobQueue.deadLetters()).toEqual([]);
  }, 120_000);

  it.each([
    ["classifier", "jason9693/Qwen2.5-1.5B-apeach", "classification", { input: ["a great and helpful answer", "a terrible answer"] }],
    ["reward-model", "Skywork/Skywork-Reward-V2-Llama-3.2-1B", "reward", { input: ["correct and helpful", "wrong and useless"] }],
  ] as const)("the guide's shape for %s (%s) runs its jobs from zero", async (slug, model, taskType, body) => {
    // Prepare
    await mgmt.ensure(guideSpec(slug, model, taskType));
    const key = (await mgmt.keys.create(slug, { name: "jobs" })).key;

    // Act
    const { job } = await runJob(slug, key, body);

    // Assess
    expect(job.status).toBe("succeeded");
    const data = (job.result as { data: Record<string, unknown>[] }).data;
    if (taskType === "classification") {
      expect(data.map((d) => d.label)).toEqual(["positive", "negative"]);
    } else {
      expect(data.map((d) => d.index)).toEqual([0, 1]);
      expect(data[0]?.reward as number).toBeGreaterThan(data[1]?.reward as number);
    }
  }, 120_000);
});

describe("async jobs through npm start's entry point", () => {
  let platform: PlatformProcess | undefined;

  afterAll(async () => {
    await platform?.stop();
    await waitFor("no backend left", () => processesWith(`${marker}-npm`).length === 0 || undefined);
  });

  it("runs a reranker job over raw HTTP; INFERENCEKEY_ALLOW_PRIVATE_WEBHOOKS=false refuses an http webhook", async () => {
    // Prepare
    platform = await startPlatformProcess({ env: { INFERENCEKEY_ALLOW_PRIVATE_WEBHOOKS: "false" } });
    const mgmt = new ManagementClient({ token: platform.sdkToken, baseUrl: platform.baseUrl, project: "acme" });
    const spec = guideSpec("search-reranker", "BAAI/bge-reranker-v2-m3", "reranker");
    await mgmt.ensure({ ...spec, command: spec.command.replace(marker, `${marker}-npm`) });
    const key = (await mgmt.keys.create("search-reranker", { name: "jobs" })).key;
    const base = `${platform.baseUrl}/endpoint/acme/search-reranker/v1/jobs`;
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };

    // Act
    const refused = await fetch(base, { method: "POST", headers, body: JSON.stringify({ query: "q", documents: ["q"], webhook: { url: "http://127.0.0.1:9/x" } }) });
    const submitted = (await (await fetch(base, { method: "POST", headers, body: JSON.stringify({ query: "red apples", documents: ["green pears", "red apples"] }) })).json()) as WireJob;
    const job = await waitFor(
      "the job finished",
      async () => {
        const polled = (await (await fetch(`${base}/${submitted.id}?wait=20`, { headers })).json()) as WireJob;
        return polled.status === "succeeded" || polled.status === "failed" ? polled : undefined;
      },
      90_000,
    );

    // Assess
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { details: { path: string }[] } }).error.details[0]?.path).toBe("webhook.url");
    expect(job.status).toBe("succeeded");
    expect((job.result as { results: { index: number }[] }).results.map((r) => r.index)).toEqual([1, 0]);
  }, 150_000);
});
