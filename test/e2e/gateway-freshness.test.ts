import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalPlatform, startLocalPlatform } from "@inferencekey/local";
import { ManagementClient } from "@inferencekey/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Under `npm start` the control API and the gateway share a process: an ensure or a delete reaches
 * the gateway's route cache at once. The clock is frozen (a Saturday), so a cached route would never
 * expire on its own: only the invalidation can explain a fresh answer. No local worker runs.
 */
const SATURDAY_NOON_UTC = Date.parse("2026-06-06T12:00:00Z");

describe("the local gateway sees ensure and delete at once", () => {
  let platform: LocalPlatform;
  let mgmt: ManagementClient;
  let apiKey: string;

  beforeAll(async () => {
    platform = await startLocalPlatform({
      dir: mkdtempSync(join(tmpdir(), "ik-fresh-")),
      port: 0,
      now: () => new Date(SATURDAY_NOON_UTC),
      tickMs: 3_600_000,
      runLocalWorker: false,
      log: () => undefined,
    });
    const token = readFileSync(platform.devEnvPath, "utf8").match(/INFERENCEKEY_SDK_TOKEN=(\S+)/)?.[1] as string;
    mgmt = new ManagementClient({ token, baseUrl: platform.url, project: "acme" });
  });

  afterAll(async () => {
    await platform?.close();
  });

  const spec = (window: string) => ({
    name: "Office hours",
    slug: "office",
    model: "acme/office-model",
    backend: "vllm" as const,
    command: "true",
    executionPolicy: "scheduled" as const,
    executionPolicyConfig: { window },
  });

  async function call(): Promise<{ status: number; code: string | undefined }> {
    const response = await fetch(`${platform.url}/endpoint/acme/office/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "hi" }] }),
    });
    const body = (await response.json()) as { error?: { code?: string } };
    return { status: response.status, code: body.error?.code };
  }

  it("an ensure that opens the window is seen by the very next call", async () => {
    // Prepare: closed on weekends, and the gateway has cached that.
    await mgmt.ensure(spec("Mon-Fri 08:00-20:00 Europe/Madrid"));
    apiKey = (await mgmt.keys.create("office", { name: "fresh" })).key;
    expect(await call()).toEqual({ status: 503, code: "workload_outside_window" });

    // Act
    await mgmt.ensure(spec("Mon-Sun 08:00-20:00 Europe/Madrid"));
    const after = await call();

    // Assess: inside the window now; no replica is ready (no worker runs here), so it is starting.
    expect(after).toEqual({ status: 503, code: "workload_scaling_up" });
  });

  it("a delete is seen by the very next call, and so is the re-creation", async () => {
    // Act
    await mgmt.delete("office");
    const deleted = await call();
    await mgmt.ensure(spec("Mon-Fri 08:00-20:00 Europe/Madrid"));
    apiKey = (await mgmt.keys.create("office", { name: "fresh again" })).key;
    const recreated = await call();

    // Assess
    expect(deleted).toEqual({ status: 404, code: "workload_not_found" });
    expect(recreated).toEqual({ status: 503, code: "workload_outside_window" });
  });
});
