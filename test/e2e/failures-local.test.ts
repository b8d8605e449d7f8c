import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalPlatform, startLocalPlatform } from "@inferencekey/local";
import { DataClient, ManagementClient, WorkloadFailedError } from "@inferencekey/sdk";
import { afterAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/processes";

/**
 * Failures as a user of `npm start` meets them: a backend that cannot start, and an admin token a
 * restart replaced. The platform runs in-process on a temporary state directory.
 */
const tokenIn = (devEnvPath: string) => readFileSync(devEnvPath, "utf8").match(/INFERENCEKEY_SDK_TOKEN=(\S+)/)?.[1] as string;

describe("local platform: failures say what to do", () => {
  const started: LocalPlatform[] = [];
  // The platform's clock runs with the real one, plus whatever a test skips ahead.
  let skippedMs = 0;
  const start = async (dir: string) => {
    const platform = await startLocalPlatform({ dir, port: 0, tickMs: 500, log: () => undefined, now: () => new Date(Date.now() + skippedMs) });
    started.push(platform);
    return platform;
  };

  afterAll(async () => {
    for (const platform of started) await platform.close().catch(() => undefined);
  });

  it("a command that is not found: status names it and the retry, the data plane answers workload_failed once", async () => {
    // Prepare
    const platform = await start(mkdtempSync(join(tmpdir(), "ik-failures-")));
    const mgmt = new ManagementClient({ token: tokenIn(platform.devEnvPath), baseUrl: platform.url, project: "acme" });
    const missing = `ik-e2e-no-such-backend-${process.pid}`;
    await mgmt.ensure({ name: "Broken", slug: "broken", model: "m/m", backend: "vllm", command: `${missing} serve m/m` });
    const key = await mgmt.keys.create("broken", { name: "app" });

    // Act: the agent fails the replica at once (exit 127); the controller schedules its retry.
    const status = await waitFor(
      "the retry scheduled",
      async () => {
        const s = (await mgmt.get("broken")).status;
        return s.nextRetryAt !== undefined ? s : undefined;
      },
      20_000,
    );
    let requests = 0;
    const data = new DataClient({
      project: "acme",
      baseUrl: platform.url,
      fetch: (input, init) => {
        requests++;
        return fetch(input, init);
      },
    });
    const error = await data
      .endpoint("broken", { apiKey: key.key })
      .generateText({ prompt: "hi" })
      .catch((e: unknown) => e);

    // Assess
    expect(status.replicas[0]).toMatchObject({ phase: "failed", reason: expect.stringContaining(`${missing}: not found`) });
    expect(Date.parse(status.nextRetryAt as string) - (Date.now() + skippedMs)).toBeGreaterThan(10_000);
    expect(error).toBeInstanceOf(WorkloadFailedError);
    expect(error).toMatchObject({ status: 503, code: "workload_failed", nextRetryAt: status.nextRetryAt });
    expect((error as WorkloadFailedError).reason).toContain(`${missing}: not found`);
    expect(requests).toBe(1);

    // Act: past the retry time, the controller starts a new attempt, which the agent runs (and fails).
    const failedId = status.replicas[0]?.id;
    skippedMs += Date.parse(status.nextRetryAt as string) - Date.now() + 1_000;
    const retried = await waitFor(
      "the second attempt failed and rescheduled",
      async () => {
        const s = (await mgmt.get("broken")).status;
        const replica = s.replicas[0];
        return replica !== undefined && replica.id !== failedId && replica.phase === "failed" && s.nextRetryAt !== undefined ? s : undefined;
      },
      20_000,
    );

    // Assess: a new replica id, failed for the same reason, retried after twice the wait.
    expect(retried.replicas).toHaveLength(1);
    expect(retried.replicas[0]?.reason).toContain(`${missing}: not found`);
    expect(retried.events.map((e) => e.type)).toEqual(expect.arrayContaining(["ReplicaRetryScheduled", "ReplicaRetrying"]));
    const wait = Date.parse(retried.nextRetryAt as string) - (Date.now() + skippedMs);
    expect(wait).toBeGreaterThan(40_000);
    expect(wait).toBeLessThanOrEqual(60_000);
  }, 60_000);

  it("a revoked admin token (dev.env lost, a restart replaced it) says to source dev.env again", async () => {
    // Prepare: a first start, then dev.env is lost and the platform restarts on the same state.
    const dir = mkdtempSync(join(tmpdir(), "ik-failures-token-"));
    const first = await start(dir);
    const old = tokenIn(first.devEnvPath);
    await first.close();
    rmSync(first.devEnvPath);
    const second = await start(dir);

    // Act
    const response = await fetch(`${second.url}/v1/projects`, { headers: { authorization: `Bearer ${old}` } });
    const body = (await response.json()) as { error: { message: string } };

    // Assess
    expect(second.adminTokenIssued).toBe(true);
    expect(response.status).toBe(401);
    expect(body.error.message).toContain("The token has been revoked.");
    expect(body.error.message).toContain(`source ${join(dir, "dev.env")}`);
  }, 40_000);
});
