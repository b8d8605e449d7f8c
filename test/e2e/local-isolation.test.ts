import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalPlatform, startLocalPlatform } from "@inferencekey/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/processes";

/**
 * Issue 11.5 on the local platform: who may run commands on the platform's own host, what those
 * commands see of the platform, and that nothing they print brings a secret back out.
 */
/** The few fields of control API answers these tests read. */
interface ApiBody {
  token?: string;
  error?: { code: string; message: string };
  status?: { events: { type: string }[] };
}

describe("issue 11.5: workloads on the platform's own host", () => {
  const dir = mkdtempSync(join(tmpdir(), "ik-isolation-"));
  const lines: string[] = [];
  let platform: LocalPlatform;
  let admin: string;
  let serverSecret: string;

  const api = async (token: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${platform.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as ApiBody };
  };

  beforeAll(async () => {
    platform = await startLocalPlatform({
      dir,
      port: 0,
      log: (line) => lines.push(line),
      env: { ...process.env, IK_PLATFORM_ONLY_SETTING: "platform-private-value" },
    });
    admin = readFileSync(platform.devEnvPath, "utf8").match(/INFERENCEKEY_SDK_TOKEN=(\S+)/)?.[1] as string;
    serverSecret = readFileSync(join(dir, "server-secret"), "utf8").trim();
    expect((await api(admin, "POST", "/v1/projects", { slug: "acme" })).status).toBe(201);
  });

  afterAll(async () => {
    await platform?.close();
  });

  it("refuses a project-scoped token a workload placed on this machine, naming INFERENCEKEY_LOCAL_COMMANDS", async () => {
    // Prepare
    const created = await api(admin, "POST", "/v1/tokens", { name: "ci", project: "acme" });
    const projectToken = created.body.token ?? "";

    // Act: the attack of the review, as a cloud-placed workload; and its preview (dry run).
    const steal = {
      name: "Steal",
      model: "org/model",
      backend: "vllm",
      command: "cat .inferencekey/server-secret; grep TOKEN .inferencekey/dev.env",
    };
    const ensured = await api(projectToken, "PUT", "/v1/projects/acme/workloads/steal", steal);
    const previewed = await api(projectToken, "PUT", "/v1/projects/acme/workloads/steal?dry_run=true", steal);

    // Assess
    expect(previewed.status).toBe(403);
    expect(ensured.status).toBe(403);
    expect(ensured.body.error?.code).toBe("forbidden");
    expect(ensured.body.error?.message).toContain("INFERENCEKEY_LOCAL_COMMANDS=all");
    expect((await api(admin, "GET", "/v1/projects/acme/workloads/steal")).status).toBe(404);
  });

  it("runs backends in their own directory without the platform's environment, and redacts what they print", async () => {
    // Prepare: a backend that prints where it runs, what it inherited, the server secret and a token, then fails.
    const script = [
      "echo cwd=$(pwd)",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
      "echo leaked=${IK_PLATFORM_ONLY_SETTING:-none}",
      `cat ${join(dir, "server-secret")}`,
      `grep TOKEN ${platform.devEnvPath}`,
      // Built by the shell, so the spec (shown as given) does not hold the shapes itself.
      "echo key ik_$(echo live)_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA worker ik_$(echo wrk)_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
      'echo replica "$INFERENCEKEY_REPLICA_SECRET"',
    ]
      .map((line) => `${line} >&2`)
      .join("; ");

    // Act
    const ensured = await api(admin, "PUT", "/v1/projects/acme/workloads/echo", {
      name: "Echo",
      model: "org/model",
      backend: "ollama",
      command: `${script}; exit 127`,
    });
    expect(ensured.status).toBe(201);
    const failed = await waitFor(
      "the replica failed",
      async () => {
        const view = (await api(admin, "GET", "/v1/projects/acme/workloads/echo")).body;
        return view.status?.events.some((e) => e.type === "ReplicaFailed") ? view : undefined;
      },
      30_000,
    );

    // Assess: its own working directory, none of the platform's environment.
    const shown = JSON.stringify(failed);
    const everything = `${shown}\n${lines.join("\n")}`;
    expect(everything).toMatch(/cwd=[^\s"]*\/agents\/wrk_[0-9A-Za-z]+\/work/);
    expect(everything).toContain("leaked=none");
    expect(everything).not.toContain("platform-private-value");
    // Nothing secret in events, status or logs; the redaction marker shows where it was.
    expect(everything).not.toContain(serverSecret);
    expect(everything).not.toContain(admin);
    const found = everything.match(/.{0,80}ik_(sdk|live|wrk|rep)_[0-9A-Za-z].{0,40}/)?.[0];
    expect(found).toBeUndefined();
    expect(shown).toContain("[redacted]");
  }, 60_000);
});
