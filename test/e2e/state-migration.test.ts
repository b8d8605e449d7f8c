import { cpSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SCHEMA_VERSION, schemaKey } from "@inferencekey/core";
import { type LocalPlatform, startLocalPlatform } from "@inferencekey/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/platform-process";

/**
 * Stored state moves forward: a state directory made by `npm start` of commit a92b233 (before the
 * store had a schema version; see test/fixtures/state-a92b233/README.md) is opened by today's code,
 * migrated, and everything made then is still there and still works. No agent runs (no backends).
 */
const fixture = join(REPO_ROOT, "test/fixtures/state-a92b233");
const secrets = JSON.parse(readFileSync(join(fixture, "secrets.json"), "utf8")) as Record<string, string>;

describe("a state directory from commit a92b233", () => {
  let platform: LocalPlatform;
  let logs: string[];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "ik-state-a92b233-"));
    cpSync(fixture, dir, { recursive: true });
    logs = [];
    platform = await startLocalPlatform({ dir, port: 0, runLocalWorker: false, tickMs: 3_600_000, log: (line) => logs.push(line) });
  });

  afterAll(async () => {
    await platform?.close();
  });

  const call = async (token: string, path: string, init: RequestInit = {}) => {
    const response = await fetch(`${platform.url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it("is migrated to this code's schema version, and says so once", async () => {
    const schema = await platform.ctx.store.get(schemaKey().pk, schemaKey().sk);
    expect(schema?.data.version).toBe(SCHEMA_VERSION);
    expect(logs.filter((line) => line.startsWith("store: migrating schema 0 -> 1"))).toHaveLength(1);
  });

  it("keeps the organisation admin token of dev.env and the project token", async () => {
    expect(platform.adminTokenIssued).toBe(false);
    const projects = await call(secrets.admin_token as string, "/v1/projects");
    expect(projects.status).toBe(200);
    expect((projects.body.data as { slug: string }[]).map((p) => p.slug).sort()).toEqual(["acme", "beta"]);
    expect((await call(secrets.project_token_acme as string, "/v1/projects/acme/workloads")).status).toBe(200);
    expect((await call(secrets.project_token_acme as string, "/v1/projects/beta/workloads")).status).toBe(404);
  });

  it("keeps the workloads with their specs and generations; the deleted one stays deleted", async () => {
    const acme = await call(secrets.admin_token as string, "/v1/projects/acme/workloads");
    const workloads = acme.body.data as { slug: string; generation: number; spec: Record<string, unknown> }[];
    expect(workloads.map((w) => w.slug).sort()).toEqual(["nightly", "support-bot"]);
    const nightly = workloads.find((w) => w.slug === "nightly");
    expect(nightly?.spec.execution_policy_config).toMatchObject({ cron: "0 2 * * *", run_duration_minutes: 30 });
    expect((await call(secrets.admin_token as string, "/v1/projects/beta/workloads/gone")).status).toBe(404);
  });

  it("keeps the data keys: the active one authenticates at the gateway, the revoked one does not", async () => {
    const keys = await call(secrets.admin_token as string, "/v1/projects/acme/workloads/support-bot/keys");
    const listed = keys.body.data as { name: string; revoked_at?: string }[];
    expect(listed.map((k) => [k.name, k.revoked_at !== undefined]).sort()).toEqual([["old", true], ["web", false]]);
    // A route text2text does not serve: answered after authentication, and never proxied (the
    // fixture's replica record points at a backend that is not running here).
    const images = async (key: string) => {
      const response = await fetch(`${platform.url}/endpoint/acme/support-bot/v1/images/generations`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ prompt: "a cat" }),
      });
      return { status: response.status, code: ((await response.json()) as { error: { code: string } }).error.code };
    };
    expect(await images(secrets.live_key_support_bot as string)).toEqual({ status: 404, code: "route_not_served" });
    expect(await images(secrets.live_key_support_bot_revoked as string)).toMatchObject({ status: 401 });
  });

  it("binds the workloads' keys and replicas to the workloads' incarnations (migration 2)", async () => {
    const store = platform.ctx.store;
    const workload = await store.get("PRJ#acme", "WL#support-bot");
    const incarnation = workload?.data.incarnation;
    expect(incarnation).toMatch(/^inc_/);
    const keyItems = await store.query({ pk: "KEYS#acme#support-bot", index: "gsi1" });
    expect(keyItems.items.map((k) => k.data.incarnation)).toEqual([incarnation, incarnation]);
    const replicas = await store.query({ pk: "REP#acme#support-bot" });
    expect(replicas.items.map((r) => r.data.incarnation)).toEqual([incarnation]);
    expect(logs).toContainEqual(expect.stringMatching(/^store: migrating schema 1 -> 2: /));
  });

  it("keeps the private worker and its token", async () => {
    const workers = await call(secrets.admin_token as string, "/v1/projects/beta/workers");
    expect((workers.body.data as { name: string }[]).map((w) => w.name)).toContain("gpu-box");
    const heartbeat = await fetch(`${platform.url}/agent/v1/heartbeat`, {
      method: "POST",
      headers: { authorization: `Bearer ${secrets.worker_token_beta_gpu_box}`, "content-type": "application/json" },
      body: JSON.stringify({ host: { hostname: "gpu-box", advertise_host: "127.0.0.1", gpus: [] }, replicas: [] }),
    });
    expect(heartbeat.status).toBe(200);
  });
});
