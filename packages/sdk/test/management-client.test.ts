import { afterEach, describe, expect, it, vi } from "vitest";
import {
  ConfigurationError,
  DriftError,
  type EnsureSpec,
  ManagementClient,
  type ManagementClientOptions,
  NotFoundError,
  OnDrift,
  RateLimitError,
  ValidationError,
} from "../src";
import { fakeFetch, jsonResponse, wireError } from "./helpers/fake-fetch";
import { BASE_URL, ensureResult, TOKEN, workloadView } from "./helpers/fixtures";
import { GUIDE_SPECS } from "./helpers/guide-specs";

function mgmt(fetch: ReturnType<typeof fakeFetch>, options: Partial<ManagementClientOptions> = {}) {
  return new ManagementClient({ token: TOKEN, project: "acme", baseUrl: BASE_URL, fetch, ...options });
}

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe("ManagementClient construction", () => {
  it("rejects a missing token, naming the environment variable", () => {
    // Prepare
    const options = { token: "", project: "acme" };

    // Act
    const build = () => new ManagementClient(options);

    // Assess
    expect(build).toThrow(ConfigurationError);
    expect(build).toThrow(/INFERENCEKEY_SDK_TOKEN/);
  });

  it("rejects a data key, an agent token and a missing project", () => {
    // Prepare
    const live = { token: "ik_live_abc", project: "acme" };
    const agent = { token: "ik_wrk_abc", project: "acme" };
    const noProject = { token: TOKEN, project: " " };

    // Act
    const buildLive = () => new ManagementClient(live);
    const buildAgent = () => new ManagementClient(agent);
    const buildNoProject = () => new ManagementClient(noProject);

    // Assess
    expect(buildLive).toThrow(/ik_live_ data key.*ik_sdk_ control token/);
    expect(buildAgent).toThrow(/ik_wrk_ agent token/);
    expect(buildNoProject).toThrow(/needs a project/);
  });

  it("defaults the base URL to the hosted API", () => {
    // Prepare
    const options = { token: TOKEN, project: "acme" };

    // Act
    const client = new ManagementClient(options);

    // Assess
    expect(client.baseUrl).toBe("https://api.inferencekey.com");
    expect(client.project).toBe("acme");
  });
});

describe("ManagementClient.fromEnv", () => {
  it("throws a ConfigurationError naming INFERENCEKEY_SDK_TOKEN when it is unset", () => {
    // Prepare
    vi.stubEnv("INFERENCEKEY_SDK_TOKEN", "");

    // Act
    const build = () => ManagementClient.fromEnv({ project: "acme" });

    // Assess
    expect(build).toThrow(ConfigurationError);
    expect(build).toThrow(/INFERENCEKEY_SDK_TOKEN is not set/);
    // It points at what exists: dev.env under npm start and the tokens route, not a dashboard.
    expect(build).toThrow(/source \.inferencekey\/dev\.env.*POST \/v1\/tokens/);
    expect(build).not.toThrow(/dashboard/);
  });

  it("takes the project from INFERENCEKEY_PROJECT when none is passed, and names it when both are missing", async () => {
    // Prepare
    vi.stubEnv("INFERENCEKEY_SDK_TOKEN", TOKEN);
    vi.stubEnv("INFERENCEKEY_BASE_URL", "");
    vi.stubEnv("INFERENCEKEY_PROJECT", "from-env");
    const fetch = fakeFetch(jsonResponse(200, workloadView()));

    // Act
    await ManagementClient.fromEnv({ fetch }).get("support-bot");
    const explicit = ManagementClient.fromEnv({ project: "acme" });
    vi.stubEnv("INFERENCEKEY_PROJECT", "");
    const missing = () => ManagementClient.fromEnv();

    // Assess
    expect(fetch.calls[0]?.url).toBe("https://api.inferencekey.com/v1/projects/from-env/workloads/support-bot");
    expect(explicit.project).toBe("acme");
    expect(missing).toThrow(ConfigurationError);
    expect(missing).toThrow(/INFERENCEKEY_PROJECT/);
  });

  it("uses the token and the default base URL", async () => {
    // Prepare
    vi.stubEnv("INFERENCEKEY_SDK_TOKEN", TOKEN);
    vi.stubEnv("INFERENCEKEY_BASE_URL", "");
    const fetch = fakeFetch(jsonResponse(200, workloadView()));

    // Act
    const client = ManagementClient.fromEnv({ project: "acme", fetch });
    await client.get("support-bot");

    // Assess
    expect(fetch.calls[0]?.url).toBe("https://api.inferencekey.com/v1/projects/acme/workloads/support-bot");
    expect(fetch.calls[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it("uses INFERENCEKEY_BASE_URL when set and names it when invalid", async () => {
    // Prepare
    vi.stubEnv("INFERENCEKEY_SDK_TOKEN", TOKEN);
    vi.stubEnv("INFERENCEKEY_BASE_URL", "http://localhost:8787/");
    const fetch = fakeFetch(jsonResponse(200, workloadView()));

    // Act
    await ManagementClient.fromEnv({ project: "acme", fetch }).get("support-bot");
    vi.stubEnv("INFERENCEKEY_BASE_URL", "localhost:8787 oops");
    const invalid = () => ManagementClient.fromEnv({ project: "acme" });

    // Assess
    expect(fetch.calls[0]?.url).toBe("http://localhost:8787/v1/projects/acme/workloads/support-bot");
    expect(invalid).toThrow(/INFERENCEKEY_BASE_URL must be an http\(s\) URL/);
  });
});

describe("ManagementClient.ensure", () => {
  it("PUTs the snake_case spec to the workload's URL and returns a camelCase ref", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(201, ensureResult()));
    const client = mgmt(fetch);
    const spec = GUIDE_SPECS["text2text provision"];
    if (spec === undefined) throw new Error("fixture missing");

    // Act
    const ref = await client.ensure(spec);

    // Assess
    const call = fetch.calls[0];
    expect(call?.method).toBe("PUT");
    expect(call?.url).toBe(`${BASE_URL}/v1/projects/acme/workloads/support-bot`);
    expect(call?.body).toEqual({
      name: "Support bot",
      slug: "support-bot",
      model: "meta-llama/Llama-3.1-8B-Instruct",
      backend: "vllm",
      task_type: "text2text",
      command: "vllm serve meta-llama/Llama-3.1-8B-Instruct --max-model-len 8192",
      execution_policy: "fixed",
      execution_policy_config: { replicas: 1 },
    });
    expect(ref).toMatchObject({
      projectSlug: "acme",
      workloadSlug: "support-bot",
      generation: 1,
      changed: true,
      created: true,
      differences: [],
    });
    expect(ref.workload).toMatchObject({
      projectSlug: "acme",
      createdAt: "2025-01-01T00:00:00.000Z",
      status: { desiredReplicas: 1, readyReplicas: 0, nextChangeAt: "2025-01-02T00:00:00.000Z" },
      spec: { task_type: "text2text", execution_policy_config: { replicas: 1 } },
    });
  });

  it("sends on_drift only when given and encodes the slug", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(200, ensureResult()), jsonResponse(200, ensureResult()));
    const client = mgmt(fetch);
    const spec = { name: "Bot", slug: "bot/1", model: "m", backend: "vllm" };

    // Act
    await client.ensure(spec);
    await client.ensure(spec, { onDrift: OnDrift.Fail });

    // Assess
    expect(fetch.calls[0]?.url).toBe(`${BASE_URL}/v1/projects/acme/workloads/bot%2F1`);
    expect(fetch.calls[1]?.url).toBe(`${BASE_URL}/v1/projects/acme/workloads/bot%2F1?on_drift=fail`);
  });

  it("rejects a spec without a slug before any request", async () => {
    // Prepare
    const fetch = fakeFetch();
    const client = mgmt(fetch);
    const spec = { name: "Bot", model: "m", backend: "vllm" } as unknown as EnsureSpec;

    // Act
    const error = await client.ensure(spec).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({
      code: "validation_failed",
      status: undefined,
      details: [{ path: "slug" }],
    });
    expect(fetch.calls).toHaveLength(0);
  });

  it("throws DriftError with the differing fields when onDrift is fail", async () => {
    // Prepare
    const details = [
      {
        path: "execution_policy_config.replicas",
        message: "stored 1, requested 2",
        received: 2,
        expected: "1",
      },
    ];
    const fetch = fakeFetch(wireError(409, "drift_detected", "differs", { requestId: "req_drift", details }));
    const client = mgmt(fetch);

    // Act
    const error = await client
      .ensure({ name: "Bot", slug: "bot", model: "m", backend: "vllm" }, { onDrift: "fail" })
      .catch((e: unknown) => e);

    // Assess: the path names the field as the caller would write it; the rest is the wire's.
    expect(error).toBeInstanceOf(DriftError);
    expect(error).toMatchObject({
      status: 409,
      code: "drift_detected",
      requestId: "req_drift",
      details: [{ ...details[0], path: "executionPolicyConfig.replicas" }],
    });
  });

  it("names ensure()'s fields as the caller wrote them: top-level camelCase, keys inside executionPolicyConfig as written", async () => {
    // Prepare
    const details = [
      { path: "execution_policy_config.min_replicas", message: "not an autoscaling field", received: 0, suggestion: "min_workers" },
      { path: "task_type", message: "unknown task type", received: "chat" },
      { path: "vllm_version", message: "must be x.y.z", received: "latest" },
    ];
    const message =
      "The workload spec has 3 problems: execution_policy_config.min_replicas: not an autoscaling field; task_type: unknown task type; vllm_version: must be x.y.z";
    const fetch = fakeFetch(wireError(400, "validation_failed", message, { details }));
    const spec = {
      name: "Bot",
      slug: "bot",
      model: "m",
      backend: "vllm",
      taskType: "chat",
      vllm_version: "latest",
      executionPolicy: "autoscaling",
      executionPolicyConfig: { min_replicas: 0 },
    } as unknown as EnsureSpec;

    // Act
    const error = await mgmt(fetch)
      .ensure(spec)
      .catch((e: unknown) => e);

    // Assess: a key written in snake_case stays so; the wire body itself is unchanged.
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).details.map((d) => d.path)).toEqual([
      "executionPolicyConfig.min_replicas",
      "taskType",
      "vllm_version",
    ]);
    expect((error as ValidationError).details[0]).toMatchObject({ received: 0, suggestion: "min_workers" });
    expect((error as ValidationError).message).toBe(
      "The workload spec has 3 problems: executionPolicyConfig.min_replicas: not an autoscaling field; taskType: unknown task type; vllm_version: must be x.y.z",
    );
    expect(fetch.calls[0]?.body).toMatchObject({ task_type: "chat", execution_policy_config: { min_replicas: 0 } });
  });

  it("retries a 429 after Retry-After (fake timers)", async () => {
    // Prepare
    vi.useFakeTimers();
    const fetch = fakeFetch(
      wireError(429, "rate_limited", "slow down", { headers: { "retry-after": "3" } }),
      jsonResponse(200, ensureResult({ created: false })),
    );
    const client = mgmt(fetch);

    // Act
    const pending = client.ensure({ name: "Bot", slug: "bot", model: "m", backend: "vllm" });
    await vi.advanceTimersByTimeAsync(2_999);
    const callsBeforeRetryAfter = fetch.calls.length;
    await vi.advanceTimersByTimeAsync(1);

    // Assess
    expect(callsBeforeRetryAfter).toBe(1);
    await expect(pending).resolves.toMatchObject({ created: false });
    expect(fetch.calls).toHaveLength(2);
  });

  it("gives up after maxRetries with the last RateLimitError", async () => {
    // Prepare
    vi.useFakeTimers();
    const limited = () => wireError(429, "rate_limited", "slow down", { headers: { "retry-after": "1" } });
    const fetch = fakeFetch(limited(), limited());
    const client = mgmt(fetch, { maxRetries: 1 });

    // Act
    const pending = client.get("bot");
    const assessed = expect(pending).rejects.toBeInstanceOf(RateLimitError);
    await vi.advanceTimersByTimeAsync(1_000);

    // Assess
    await assessed;
    expect(fetch.calls).toHaveLength(2);
  });
});

describe("ManagementClient reads and deletes", () => {
  it("get returns a camelCase workload and maps 404 to NotFoundError", async () => {
    // Prepare
    const fetch = fakeFetch(
      jsonResponse(200, workloadView()),
      wireError(404, "not_found", 'workload "nope" not found'),
    );
    const client = mgmt(fetch);

    // Act
    const workload = await client.get("support-bot");
    const missing = await client.get("nope").catch((e: unknown) => e);

    // Assess
    expect(workload).toMatchObject({
      id: "wl_1",
      projectSlug: "acme",
      slug: "support-bot",
      updatedAt: "2025-01-01T00:00:00.000Z",
    });
    expect(workload.status.conditions[0]?.type).toBe("Accepted");
    expect(missing).toBeInstanceOf(NotFoundError);
  });

  it("list passes limit and cursor and returns nextCursor", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(200, { data: [workloadView()], next_cursor: "c2" }));
    const client = mgmt(fetch);

    // Act
    const page = await client.list({ limit: 1, cursor: "c1" });

    // Assess
    expect(fetch.calls[0]?.url).toBe(`${BASE_URL}/v1/projects/acme/workloads?limit=1&cursor=c1`);
    expect(page.nextCursor).toBe("c2");
    expect(page.data.map((w) => w.slug)).toEqual(["support-bot"]);
  });

  it("listAll walks every page lazily", async () => {
    // Prepare
    const fetch = fakeFetch(
      jsonResponse(200, {
        data: [workloadView({ slug: "a" }), workloadView({ slug: "b" })],
        next_cursor: "c2",
      }),
      jsonResponse(200, { data: [workloadView({ slug: "c" })] }),
    );
    const client = mgmt(fetch);

    // Act
    const slugs: string[] = [];
    for await (const workload of client.listAll({ limit: 2 })) slugs.push(workload.slug);

    // Assess
    expect(slugs).toEqual(["a", "b", "c"]);
    expect(fetch.calls.map((c) => c.url)).toEqual([
      `${BASE_URL}/v1/projects/acme/workloads?limit=2`,
      `${BASE_URL}/v1/projects/acme/workloads?limit=2&cursor=c2`,
    ]);
  });

  it("delete returns the camelCase confirmation", async () => {
    // Prepare
    const fetch = fakeFetch(jsonResponse(200, { project_slug: "acme", workload_slug: "bot", deleted: true }));
    const client = mgmt(fetch);

    // Act
    const result = await client.delete("bot");

    // Assess
    expect(fetch.calls[0]?.method).toBe("DELETE");
    expect(result).toEqual({ projectSlug: "acme", workloadSlug: "bot", deleted: true });
  });
});
