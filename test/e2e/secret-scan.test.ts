import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type PlatformProcess, startPlatformProcess } from "../support/platform-process";

/** After a run that creates every kind of secret, no plaintext secret is in the store files or the logs. */
describe("local platform: secrets at rest and in logs", () => {
  let platform: PlatformProcess | undefined;
  afterAll(async () => {
    await platform?.stop("SIGKILL");
  });

  it("stores only digests and logs no secret", async () => {
    // Prepare: every kind of secret, used the way clients use them.
    platform = await startPlatformProcess();
    const admin = platform.sdkToken;
    const call = async (token: string, method: string, path: string, body?: unknown) => {
      const response = await fetch(`${platform?.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return (await response.json()) as Record<string, string>;
    };
    const secrets: string[] = [admin];
    await call(admin, "PUT", "/v1/projects/acme/workloads/support-bot", { name: "Bot", slug: "support-bot", model: "m/m", backend: "vllm" });
    const projectToken = (await call(admin, "POST", "/v1/tokens", { name: "ci", project: "acme" })).token as string;
    const created = await call(projectToken, "POST", "/v1/projects/acme/workloads/support-bot/keys", { name: "web" });
    const key = created.key as string;
    const rotated = (await call(projectToken, "POST", `/v1/projects/acme/workloads/support-bot/keys/${created.id}/rotate`, {})).key;
    const worker = (await call(admin, "POST", "/v1/projects/acme/workers", { name: "box" })).token as string;
    secrets.push(projectToken, key, worker);
    expect(rotated).toMatch(/^ik_live_/);
    secrets.push(rotated as string);
    // Failed authentications with real secrets must not echo them either.
    await call(key, "GET", "/v1/projects");
    await call(worker, "GET", "/v1/projects");
    await platform.stop("SIGTERM");

    // Act: read every file under the state directory except dev.env (the admin token's one home).
    const home = platform.home;
    const files = (readdirSync(home, { recursive: true }) as string[]).filter((f) => f !== "dev.env" && statSync(join(home, f)).isFile());
    const contents = files.map((f) => readFileSync(join(home, f)).toString("latin1"));

    // Assess
    expect(secrets.every((s) => /^ik_(sdk|live|wrk)_/.test(s))).toBe(true);
    expect(files).toContain("store.db");
    for (const secret of secrets) {
      for (const [index, content] of contents.entries()) expect(content.includes(secret), `${secret.slice(0, 8)} in ${files[index]}`).toBe(false);
      expect(platform.output().includes(secret), `${secret.slice(0, 8)} in logs`).toBe(false);
    }
  });
});
