import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listProjectWorkers, recordColdRequest } from "@inferencekey/core";
import { type LocalPlatform, startLocalPlatform } from "@inferencekey/local";
import { ManagementClient } from "@inferencekey/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anchorsAroundToday } from "../support/clock";
import { REPO_ROOT } from "../support/platform-process";
import { processesWith, waitFor } from "../support/processes";

/**
 * Execution policies on the local platform under a fake clock: the controller's "now" is moved by
 * the test, while the in-process agent runs real backend processes (the TEST DOUBLE
 * test/replicas/openai-replica.mjs). Ticks are driven by the test (the timer is set to an hour).
 * The scenario is written for Friday 19:59 in Madrid and runs years before and years after the real
 * today: nothing in the platform may compare the fake clock with the machine's.
 */
describe.each(anchorsAroundToday("2026-11-27T18:59:00Z"))("policies on the local platform with a fake clock, $label", ({ at: start }) => {
  const marker = `e2e-policies-${process.pid}-${start}`;
  let clock = start; // a Friday, 19:59 in Madrid
  let platform: LocalPlatform;
  let mgmt: ManagementClient;

  beforeAll(async () => {
    platform = await startLocalPlatform({
      dir: mkdtempSync(join(tmpdir(), "ik-policies-")),
      port: 0,
      now: () => new Date(clock),
      tickMs: 3_600_000,
      log: () => undefined,
    });
    const token = readFileSync(platform.devEnvPath, "utf8").match(/INFERENCEKEY_SDK_TOKEN=(\S+)/)?.[1] as string;
    mgmt = new ManagementClient({ token, baseUrl: platform.url, project: "acme" });
  });

  afterAll(async () => {
    await platform?.close();
    await waitFor("no backend left", () => processesWith(marker).length === 0 || undefined);
  });

  /** Moves the fake clock, waits until the local worker has heartbeated at the new time, then ticks. */
  async function tickAt(at: number): Promise<void> {
    clock = at;
    await waitFor("a heartbeat at the new time", async () => {
      const workers = await listProjectWorkers(platform.ctx, "acme");
      const local = workers.find((w) => w.labels["inferencekey.local"] === "true");
      return local === undefined || (local.last_heartbeat_at !== undefined && Date.parse(local.last_heartbeat_at) >= at) || undefined;
    });
    await platform.controller.tick();
  }

  const command = (model: string) => `${process.execPath} ${join(REPO_ROOT, "test/replicas/openai-replica.mjs")} serve ${model}`;
  const ready = async (slug: string) => (await mgmt.get(slug)).status.readyReplicas;

  it("a scheduled workload comes up when its window opens and goes away when it closes", async () => {
    const model = `${marker}/window`;
    await mgmt.ensure({
      name: "Daytime",
      slug: "daytime",
      model,
      backend: "vllm",
      command: command(model),
      executionPolicy: "scheduled",
      executionPolicyConfig: { window: "Mon-Fri 08:00-20:00 Europe/Madrid" },
    });

    await platform.controller.tick(); // registers the local worker and starts its agent
    await tickAt(clock + 1000);
    await waitFor("ready inside the window", async () => (await ready("daytime")) === 1 || undefined);

    await tickAt(start + 90_000); // 20:00:30 Madrid: closed
    await waitFor("backend gone after the window", async () => {
      await platform.controller.tick();
      return processesWith(model).length === 0 || undefined;
    });
    const status = (await mgmt.get("daytime")).status;
    expect(status.desiredReplicas).toBe(0);
    expect(status.decision).toBe("window closed, opens Mon 08:00 Europe/Madrid");
  });

  it("an autoscaling workload with min_workers 0 scales up on a request and back to zero after idle", async () => {
    const model = `${marker}/auto`;
    await mgmt.ensure({
      name: "Spiky",
      slug: "spiky",
      model,
      backend: "vllm",
      command: command(model),
      executionPolicy: "autoscaling",
      executionPolicyConfig: {
        min_workers: 0,
        max_workers: 2,
        max_hourly_cost_usd: 5,
        workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"] } },
        scale_to_zero_after_seconds: 600,
      },
    });
    await tickAt(clock + 1000);
    expect(processesWith(model)).toEqual([]);

    // The gateway's hook when a request finds no ready replica.
    await recordColdRequest(platform.ctx, "acme", "spiky");
    await tickAt(clock + 1000);
    await waitFor("scaled up to 1", async () => (await ready("spiky")) === 1 || undefined);

    await tickAt(clock + 601_000);
    await waitFor("scaled back to zero", async () => {
      await platform.controller.tick();
      return processesWith(model).length === 0 || undefined;
    });
    expect((await mgmt.get("spiky")).status.decision).toMatch(/scal(ing 1 -> 0: idle|ed to zero)/);
  });

  it("a fixed workload whose replica is killed is ready again within one tick", async () => {
    const model = `${marker}/fixed`;
    await mgmt.ensure({ name: "Fixed", slug: "fixed", model, backend: "vllm", command: command(model) });
    await tickAt(clock + 1000);
    await waitFor("ready", async () => (await ready("fixed")) === 1 || undefined);
    const before = processesWith(model);

    for (const pid of before) process.kill(pid, "SIGKILL");
    await waitFor("the old process gone", () => before.every((pid) => !processesWith(model).includes(pid)) || undefined);
    await tickAt(clock + 2000); // one tick (the local tick period is 2 s)

    await waitFor("ready again", async () => {
      const replica = (await mgmt.get("fixed")).status.replicas[0];
      return replica?.phase === "ready" && replica.restarts >= 1 && (await ready("fixed")) === 1 ? true : undefined;
    }, 10_000);
    expect(processesWith(model).some((pid) => !before.includes(pid))).toBe(true);
  });
});
