import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PlatformProcess, REPO_ROOT, startPlatformProcess } from "../support/platform-process";

/**
 * Issue 18's acceptance: the vendor's official Python SDK (`inferencekey==0.260725.739` from PyPI,
 * installed by scripts/vendor-sdk.sh into its own virtual environment) drives the local platform
 * unchanged, through a loopback recorder that says which requests each step sent
 * (test/compat/vendor_sdk_acceptance.py). Workloads run the TEST DOUBLE test/replicas/openai-replica.mjs.
 */

interface Generation {
  generation: number;
  updated_at: string;
  spec: Record<string, unknown>;
}
interface Step {
  sent: string[];
  error: string | null;
}
interface Report {
  ensure_created: Step & { ref: [string, string] | null };
  api_object: Record<string, unknown>;
  ensure_again: Step & { before: Generation; after: Generation };
  ensure_changed: Step & { before: Generation; after: Generation };
  on_drift_fail: Step & { before: Generation; after: Generation };
  wait_until_ready: Step & { events: { phase: string; message: string; elapsed_ms: number; step: string | null }[] };
  generate_text: Step & { text: string | null; model: string | null };
  generate_text_stream: Step & { chunks: { text: string; finish_reason: string | null; choices: number }[] | null };
  embed: Step & { dims: number[] | null };
  rerank: Step & { results: [number, number][] | null };
  rerank_top_n: Step & { results: [number, number][] | null };
  scoped_token: {
    sdk: Step;
    delete_by_id: { status: number; body: Record<string, unknown> };
    patch_by_id: { status: number; body: Record<string, unknown> };
    workload_after: Generation;
  };
  wrong_credential: Step;
  delete: (Step & { value: boolean | null })[];
}

const CONTRACT_PHASES = ["scheduling", "placing", "launching", "pulling", "starting", "ready"];

describe("the vendor's Python SDK (inferencekey 0.260725.739) against the local platform", () => {
  let platform: PlatformProcess;
  let report: Report;

  beforeAll(async () => {
    const install = spawnSync("sh", [join(REPO_ROOT, "scripts/vendor-sdk.sh")], { cwd: REPO_ROOT, encoding: "utf8", timeout: 300_000 });
    if (install.status !== 0) throw new Error(`scripts/vendor-sdk.sh failed (${install.status}):\n${install.stderr}`);
    const python = install.stdout.trim().split("\n").at(-1) ?? "";
    platform = await startPlatformProcess();
    const run = spawn(python, [join(REPO_ROOT, "test/compat/vendor_sdk_acceptance.py")], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        IK_PLATFORM_URL: platform.baseUrl,
        IK_ADMIN_TOKEN: platform.sdkToken,
        IK_NODE: process.execPath,
        IK_REPLICA: join(REPO_ROOT, "test/replicas/openai-replica.mjs"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    run.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    run.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => run.kill("SIGKILL"), 240_000);
    const code = await new Promise<number | null>((resolve) => run.once("close", resolve));
    clearTimeout(timer);
    const last = stdout.trim().split("\n").at(-1) ?? "";
    const outcome = (() => {
      try {
        return JSON.parse(last) as { ok: boolean; report?: Report; trace?: string };
      } catch {
        return undefined;
      }
    })();
    if (code !== 0 || outcome?.ok !== true || outcome.report === undefined) {
      throw new Error(`the acceptance script failed (${code}):\n${outcome?.trace ?? stdout}\n${stderr}\nplatform:\n${platform.output().slice(-4000)}`);
    }
    report = outcome.report;
  }, 600_000);

  afterAll(async () => {
    await platform?.stop();
  });

  it("ensure creates the workload: the list, then one POST", () => {
    expect(report.ensure_created.error).toBeNull();
    expect(report.ensure_created.ref).toEqual(["acme", "vendor-chat"]);
    expect(report.ensure_created.sent).toEqual(["GET /api/projects/acme/workloads", "POST /api/projects/acme/workloads"]);
  });

  it("the /api object carries exactly the vendor's fields, stored values as sent", () => {
    expect(Object.keys(report.api_object).sort()).toEqual(
      [
        "id", "project_id", "name", "slug", "model_name", "backend", "task_type", "config", "vllm_version", "worker_id",
        "gpu_resource_id", "execution_policy", "execution_policy_config", "description", "created_at", "updated_at",
      ].sort(),
    );
    expect(report.api_object).toMatchObject({
      project_id: "acme",
      slug: "vendor-chat",
      model_name: "test/chat-model",
      task_type: "text2text",
      execution_policy: "fixed",
      execution_policy_config: { replicas: 1 },
      gpu_resource_id: "NVIDIA L4",
      description: "the vendor SDK's acceptance workload",
    });
    expect((report.api_object.config as { command: string }).command).toContain("openai-replica.mjs serve test/chat-model");
  });

  it("ensure again sends only the list request and changes nothing", () => {
    expect(report.ensure_again.error).toBeNull();
    expect(report.ensure_again.sent).toEqual(["GET /api/projects/acme/workloads"]);
    expect(report.ensure_again.after).toEqual(report.ensure_again.before);
  });

  it("a changed policy config is one PATCH, and the generation moves", () => {
    expect(report.ensure_changed.error).toBeNull();
    expect(report.ensure_changed.sent).toHaveLength(2);
    expect(report.ensure_changed.sent[0]).toBe("GET /api/projects/acme/workloads");
    expect(report.ensure_changed.sent[1]).toMatch(/^PATCH \/api\/workloads\/wl_[0-9A-Za-z]+$/);
    expect(report.ensure_changed.after.generation).toBe(report.ensure_changed.before.generation + 1);
    expect(report.ensure_changed.after.spec.execution_policy_config).toEqual({ replicas: 2 });
  });

  it("on_drift=fail raises naming the drifted field and sends nothing but the list", () => {
    expect(report.on_drift_fail.error).toBe("ApiError: workload drifted from spec: execution_policy_config");
    expect(report.on_drift_fail.sent).toEqual(["GET /api/projects/acme/workloads"]);
    expect(report.on_drift_fail.after).toEqual(report.on_drift_fail.before);
  });

  it("wait_until_ready follows the readiness events and returns at ready", () => {
    const { events, error, sent } = report.wait_until_ready;
    expect(error).toBeNull();
    expect(sent).toEqual(["GET /api/projects/acme/workloads/vendor-chat/readiness-events"]);
    expect(events.at(-1)?.phase).toBe("ready");
    const order = events.map((e) => CONTRACT_PHASES.indexOf(e.phase));
    expect(order.every((position) => position >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it("generate_text sends the slug as the model and gets the replica's answer", () => {
    expect(report.generate_text.error).toBeNull();
    expect(report.generate_text.sent).toEqual(["POST /endpoint/acme/vendor-chat/v1/chat/completions"]);
    expect(report.generate_text.text).toBe("echo(test/chat-model): hello vendor sdk");
  });

  it("generate_text_stream streams every chunk and no usage-only chunk (which the SDK cannot read)", () => {
    const { chunks, error } = report.generate_text_stream;
    expect(error).toBeNull();
    expect(chunks?.map((c) => c.text).join("")).toBe("echo(test/chat-model): stream to me");
    expect(chunks?.every((c) => c.choices === 1)).toBe(true);
    expect(chunks?.at(-1)?.finish_reason).toBe("stop");
  });

  it("embed returns one vector per input", () => {
    expect(report.embed.error).toBeNull();
    expect(report.embed.sent).toEqual(["POST /endpoint/acme/vendor-embed/v1/embeddings"]);
    expect(report.embed.dims).toEqual([8, 8]);
  });

  it("rerank returns the documents in score order, top_n honoured", () => {
    expect(report.rerank.error).toBeNull();
    expect(report.rerank.sent).toEqual(["POST /endpoint/acme/vendor-rerank/v1/rerank"]);
    const results = report.rerank.results ?? [];
    expect(results.map(([index]) => index)).toEqual([1, 2, 0, 3]);
    const scores = results.map(([, score]) => score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(report.rerank_top_n.results?.map(([index]) => index)).toEqual([1, 2]);
  });

  it("a project-scoped token is refused on another project's workload id, which stays", () => {
    expect(report.scoped_token.sdk.error).toMatch(/^PermissionDenied: permission denied \[project_scope_mismatch\]/);
    expect(report.scoped_token.delete_by_id.status).toBe(403);
    expect(report.scoped_token.delete_by_id.body.error).toBe("project_scope_mismatch");
    expect(report.scoped_token.patch_by_id.status).toBe(403);
    expect(report.scoped_token.patch_by_id.body.error).toBe("project_scope_mismatch");
    expect(report.scoped_token.workload_after.generation).toBe(report.ensure_changed.after.generation);
  });

  it("an ik_live_ key on the control plane is wrong_credential_type", () => {
    expect(report.wrong_credential.error).toMatch(/^PermissionDenied: permission denied \[wrong_credential_type\]/);
  });

  it("delete returns True, then False", () => {
    expect(report.delete.map((d) => [d.value, d.error])).toEqual([
      [true, null],
      [false, null],
    ]);
    expect(report.delete[0]?.sent[1]).toMatch(/^DELETE \/api\/workloads\/wl_/);
    expect(report.delete[1]?.sent).toEqual(["GET /api/projects/acme/workloads"]);
  });
});
