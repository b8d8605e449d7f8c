import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FaultyNodeProvider } from "../../core/test/capacity/fake-node-provider";
import { startLocalPlatform } from "../src/platform";
import { readDevEnv } from "../src/state-dir";

describe("local platform with shared cloud capacity", () => {
  it("runs the controller on the node pool of the given provider, under the deployment's ceiling, and lists that catalog", async () => {
    // Prepare: a provider standing in for EC2, a deployment ceiling of one instance.
    let clock = Date.parse("2026-11-30T10:00:00Z");
    const provider = new FaultyNodeProvider(() => clock);
    const dir = mkdtempSync(join(tmpdir(), "ik-shared-"));
    const platform = await startLocalPlatform({
      dir,
      port: 0,
      now: () => new Date(clock),
      runLocalWorker: false,
      tickMs: 3_600_000,
      log: () => undefined,
      sharedCapacity: { provider, settings: { maxHourlyCostUsd: 30, maxInstances: 1 } },
    });
    try {
      const token = readDevEnv(platform.devEnvPath).sdkToken as string;
      const call = (method: string, path: string, body?: unknown) =>
        fetch(`${platform.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      const spec = (slug: string) => ({
        name: slug,
        slug,
        model: "meta-llama/Llama-3.1-8B-Instruct",
        backend: "vllm",
        command: "vllm serve meta-llama/Llama-3.1-8B-Instruct --max-model-len 8192",
        execution_policy: "autoscaling",
        execution_policy_config: { min_workers: 1, max_workers: 2, max_hourly_cost_usd: 5, workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA A100-SXM4-80GB", "NVIDIA L4"] } } },
      });

      // Act
      expect((await call("PUT", "/v1/projects/acme/workloads/one", spec("one"))).status).toBe(201);
      // The pool runs after the workloads, at most every 10 s: a tick records the demand, the next launches, the next places.
      for (let i = 0; i < 3; i++) {
        clock += 30_000;
        await platform.controller.tick();
      }

      // Assess: one node of the cheapest fit (an L4), within the ceiling; the catalog route answers.
      expect(provider.launches.map((l) => l.instanceType)).toEqual(["g6.xlarge"]);
      const workload = (await (await call("GET", "/v1/projects/acme/workloads/one")).json()) as { status: { conditions: { type: string; reason: string }[] } };
      expect(workload.status.conditions.find((c) => c.type === "Placed")).toMatchObject({ reason: "Placed" });
      const catalog = (await (await call("GET", "/v1/catalog/gpus")).json()) as { data: { display_name: string }[]; catalog: { date: string } };
      expect(catalog.data.map((g) => g.display_name)).toContain("NVIDIA A100-SXM4-80GB");
    } finally {
      await platform.close();
    }
  });
});
