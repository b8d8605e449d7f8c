import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManagementClient } from "@inferencekey/sdk";
import { afterAll, describe, expect, it } from "vitest";
import { type PlatformProcess, REPO_ROOT, runPlatformToExit, startPlatformProcess } from "../support/platform-process";
import { isAlive, processesWith, waitFor } from "../support/processes";

/**
 * Two `npm start` on one state directory, as real processes. Before the lock, the second one
 * adopted the first's replicas (and stopped them when it exited) and rewrote dev.env. The backend
 * is the OpenAI-compatible TEST DOUBLE; its model name is the marker that finds its processes.
 */
const replicaScript = join(REPO_ROOT, "test/replicas/openai-replica.mjs");
const marker = `e2e-state-lock-${process.pid}`;

describe("one platform per state directory", () => {
  const started: PlatformProcess[] = [];

  afterAll(async () => {
    for (const platform of started) await platform.stop();
    await waitFor("the replicas to stop", () => processesWith(marker).length === 0 || undefined, 20_000).catch(() => {
      for (const pid of processesWith(marker)) process.kill(pid, "SIGKILL");
    });
  });

  it("a second start on a directory in use is refused, naming the holder's pid, and touches nothing; after kill -9 of the holder the next start runs", async () => {
    // Prepare: a platform with a ready replica.
    const home = mkdtempSync(join(tmpdir(), "ik-home-"));
    const first = await startPlatformProcess({ home });
    started.push(first);
    const mgmt = new ManagementClient({ token: first.sdkToken, baseUrl: first.baseUrl, project: "acme" });
    const model = `${marker}/lock`;
    await mgmt.ensure({ name: "Lock", slug: "lock", model, backend: "vllm", command: `${process.execPath} ${replicaScript} serve ${model}` });
    await waitFor("a ready replica", async () => ((await mgmt.get("lock")).status.readyReplicas === 1 ? true : undefined), 30_000);
    const [replicaPid] = processesWith(model);
    const devEnvBefore = readFileSync(join(home, "dev.env"), "utf8");

    // Act: a second start on the same directory.
    const second = await runPlatformToExit(home, 15_000);

    // Assess: refused, naming the holder; the holder, its replica and dev.env are untouched.
    expect(second.code).not.toBe(0);
    expect(second.code).not.toBeNull();
    expect(second.output).toContain(`in use by process ${first.child.pid}`);
    expect(second.output).toContain(first.baseUrl);
    expect(second.output).not.toContain("InferenceKey is running");
    expect(readFileSync(join(home, "dev.env"), "utf8")).toBe(devEnvBefore);
    expect(isAlive(replicaPid as number)).toBe(true);
    expect((await mgmt.get("lock")).status.readyReplicas).toBe(1);
    expect((await fetch(`${first.baseUrl}/v1/health`)).status).toBe(200);

    // Act: the holder dies without any clean-up; a new start on the same directory.
    first.child.kill("SIGKILL");
    await first.stop();
    const third = await startPlatformProcess({ home });
    started.push(third);

    // Assess: it runs with the same credentials, and its agent takes the replica back.
    expect(third.sdkToken).toBe(first.sdkToken);
    const again = new ManagementClient({ token: third.sdkToken, baseUrl: third.baseUrl, project: "acme" });
    await waitFor("the replica ready under the new platform", async () => ((await again.get("lock")).status.readyReplicas === 1 ? true : undefined), 30_000);
    expect(third.output()).not.toMatch(/in use by/);
  }, 90_000);
});
