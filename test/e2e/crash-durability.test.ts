import { afterAll, describe, expect, it } from "vitest";
import { type PlatformProcess, startPlatformProcess } from "../support/platform-process";

/**
 * kill -9 of the local platform in the middle of a burst of ensure() calls, then a restart:
 * every acknowledged write is there, nothing is half-written.
 */
describe("local platform: crash durability", () => {
  const started: PlatformProcess[] = [];
  afterAll(async () => {
    for (const p of started) await p.stop("SIGKILL");
  });

  it("keeps every acknowledged ensure across kill -9", async () => {
    // Prepare
    const first = await startPlatformProcess();
    started.push(first);
    const headers = { authorization: `Bearer ${first.sdkToken}`, "content-type": "application/json" };
    const acknowledged = new Map<string, number>();
    let stop = false;
    const writer = async (lane: number) => {
      for (let i = 0; !stop; i++) {
        const slug = `w-${lane}-${i % 5}`;
        const body = { name: `n${i}`, slug, model: "m/m", backend: "vllm", execution_policy_config: { replicas: (i % 3) + 1 } };
        try {
          const response = await fetch(`${first.baseUrl}/v1/projects/acme/workloads/${slug}`, { method: "PUT", headers, body: JSON.stringify(body) });
          if (response.ok) {
            const result = (await response.json()) as { generation: number };
            acknowledged.set(slug, Math.max(acknowledged.get(slug) ?? 0, result.generation));
          }
        } catch {
          return; // the process is gone
        }
      }
    };

    // Act: 8 concurrent writers, killed without warning once enough writes were acknowledged.
    const lanes = Array.from({ length: 8 }, (_, lane) => writer(lane));
    while ([...acknowledged.values()].reduce((a, b) => a + b, 0) < 150) await new Promise((r) => setTimeout(r, 20));
    first.child.kill("SIGKILL");
    stop = true;
    await Promise.all(lanes);
    await first.stop("SIGKILL");
    const second = await startPlatformProcess({ home: first.home });
    started.push(second);

    console.log(`acknowledged ${acknowledged.size} workloads, generations summing to ${[...acknowledged.values()].reduce((a, b) => a + b, 0)}`);
    // Assess: same credentials, every acknowledged workload at least at its acknowledged generation.
    expect(second.sdkToken).toBe(first.sdkToken);
    const list = await fetch(`${second.baseUrl}/v1/projects/acme/workloads?limit=200`, { headers: { authorization: `Bearer ${second.sdkToken}` } });
    const workloads = ((await list.json()) as { data: { slug: string; generation: number; spec: { replicas?: number; execution_policy_config: { replicas: number } } }[] }).data;
    const bySlug = new Map(workloads.map((w) => [w.slug, w]));
    expect(acknowledged.size).toBeGreaterThan(0);
    for (const [slug, generation] of acknowledged) {
      expect(bySlug.get(slug)?.generation, slug).toBeGreaterThanOrEqual(generation);
    }
    for (const workload of workloads) expect(workload.spec.execution_policy_config.replicas).toBeGreaterThanOrEqual(1);
  });
});
