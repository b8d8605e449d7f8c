import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ManagementClient } from "@inferencekey/sdk";
import { afterAll, describe, expect, it } from "vitest";
import { type PlatformProcess, REPO_ROOT, startPlatformProcess } from "../support/platform-process";
import { isAlive, processesWith, waitFor } from "../support/processes";

/**
 * A backend writes to its stdout and stderr all the time; when nobody reads those pipes any more it
 * dies of EPIPE/SIGPIPE (Go programs such as ollama at once). The agent hands the pipes to a detached
 * drainer when it stops gracefully; this checks the hard case: `npm start` killed with SIGKILL, no
 * code of the platform running after it. Backend: the OpenAI TEST DOUBLE, logging every 50 ms.
 */
const replicaScript = join(REPO_ROOT, "test/replicas/openai-replica.mjs");
const marker = `e2e-hard-kill-${process.pid}`;

describe("backends after the platform dies hard", () => {
  let platform: PlatformProcess | undefined;

  afterAll(async () => {
    await platform?.stop("SIGKILL");
    // The replica was left running on purpose; this test started it, so it ends it.
    for (const pid of processesWith(marker)) process.kill(pid, "SIGKILL");
  });

  it("a logging backend keeps running and serving after kill -9 of npm start", async () => {
    // Prepare
    platform = await startPlatformProcess();
    const mgmt = new ManagementClient({ token: platform.sdkToken, baseUrl: platform.baseUrl, project: "acme" });
    const model = `${marker}/chatty`;
    await mgmt.ensure({ name: "Chatty", slug: "chatty", model, backend: "vllm", command: `${process.execPath} ${replicaScript} serve ${model} --log-every-ms 50` });
    await waitFor("a ready replica", async () => (await mgmt.get("chatty")).status.readyReplicas === 1 || undefined, 30_000);
    const [pid] = processesWith(marker);
    const port = Number(/--port (\d+)/.exec(readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " "))?.[1]);

    // Act
    await platform.stop("SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 1500));

    // Assess
    expect(pid).toBeDefined();
    expect(isAlive(pid as number)).toBe(true);
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
  });
});
