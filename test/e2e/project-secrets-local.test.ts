import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalPlatform, startLocalPlatform } from "@inferencekey/local";
import { ManagementClient } from "@inferencekey/sdk";
import { afterAll, describe, expect, it } from "vitest";
import type { Io } from "../../packages/cli/src/client";
import { run } from "../../packages/cli/src/main";
import { REPO_ROOT } from "../support/platform-process";
import { waitFor } from "../support/processes";

/**
 * A project secret from the CLI to a backend's environment under `npm start` (in-process, on a
 * temporary state directory): the test replica (TEST DOUBLE for a backend serving a gated model)
 * refuses to start without HF_TOKEN, becomes ready once the project has it, and prints it, which
 * the platform must redact everywhere it shows output.
 */
const VALUE = `hf_e2e${process.pid}abcdefghijklmnopqrstuvwxyz`;
const tokenIn = (devEnvPath: string) => readFileSync(devEnvPath, "utf8").match(/INFERENCEKEY_SDK_TOKEN=(\S+)/)?.[1] as string;

describe("local platform: project secrets reach the project's backends and nothing else", () => {
  let platform: LocalPlatform | undefined;
  afterAll(async () => {
    await platform?.close().catch(() => undefined);
  });

  it("a replica that needs HF_TOKEN fails without it and becomes ready once the project's secret is set; the value is never shown", async () => {
    // Prepare
    const lines: string[] = [];
    let skippedMs = 0;
    platform = await startLocalPlatform({
      dir: mkdtempSync(join(tmpdir(), "ik-secrets-")),
      port: 0,
      tickMs: 500,
      log: (line) => lines.push(line),
      now: () => new Date(Date.now() + skippedMs),
      // The machine's own HF_TOKEN, if any, must not be what makes the replica start.
      env: { ...process.env, HF_TOKEN: undefined },
    });
    const token = tokenIn(platform.devEnvPath);
    const mgmt = new ManagementClient({ token, baseUrl: platform.url, project: "acme" });
    const command = `${process.execPath} ${join(REPO_ROOT, "test/replicas/openai-replica.mjs")} serve m/gated --require-env HF_TOKEN --print-env HF_TOKEN`;
    await mgmt.ensure({ name: "Gated", slug: "gated", model: "m/gated", backend: "vllm", command });

    // Act: without the secret the backend exits at once; the controller schedules a retry.
    const failed = await waitFor(
      "the replica failed for want of HF_TOKEN",
      async () => {
        const s = (await mgmt.get("gated")).status;
        return s.nextRetryAt !== undefined && s.replicas[0]?.phase === "failed" ? s : undefined;
      },
      30_000,
    );
    const out: string[] = [];
    const io: Io = {
      interactive: false,
      out: (text) => out.push(text),
      err: (text) => out.push(text),
      env: { INFERENCEKEY_SDK_TOKEN: token, INFERENCEKEY_BASE_URL: platform.url, INFERENCEKEY_PROJECT: "acme" },
    };
    const setCode = await run(["secrets", "set", "HF_TOKEN"], io, () => `${VALUE}\n`);
    skippedMs += Date.parse(failed.nextRetryAt as string) - Date.now() + 1_000;
    const ready = await waitFor(
      "the retried replica ready",
      async () => {
        const s = (await mgmt.get("gated")).status;
        return s.replicas.some((r) => r.phase === "ready") ? s : undefined;
      },
      30_000,
    );
    const listCode = await run(["secrets", "list", "-o", "json"], io, () => "");
    const events = await fetch(`${platform.url}/v1/projects/acme/workloads/gated/events?limit=200`, { headers: { authorization: `Bearer ${token}` } });
    const eventsText = await events.text();
    const statusText = JSON.stringify(await mgmt.get("gated"));

    // Assess
    expect(failed.replicas[0]?.reason ?? "").toContain("HF_TOKEN is not set");
    expect(setCode).toBe(0);
    expect(listCode).toBe(0);
    expect(out.join("")).toContain('"name": "HF_TOKEN"');
    expect(ready.replicas.some((r) => r.phase === "ready")).toBe(true);
    expect((await mgmt.secrets.list()).map((s) => s.name)).toEqual(["HF_TOKEN"]);
    // The replica printed its value on stdout and stderr: what the platform shows has it redacted.
    await waitFor("the backend's output in the platform's log", () => (lines.some((l) => l.includes("HF_TOKEN=[redacted]")) ? true : undefined), 10_000);
    for (const [where, text] of [
      ["the platform's log", lines.join("\n")],
      ["the events", eventsText],
      ["the workload status", statusText],
      ["the CLI's output", out.join("")],
    ] as const) {
      expect(text, where).not.toContain(VALUE);
    }
  }, 90_000);
});
