import { describe, expect, it } from "vitest";
import { ValidationError, validateSpec } from "../../src";

const base = {
  name: "Support bot",
  slug: "support-bot",
  model: "meta-llama/Llama-3.1-8B-Instruct",
  backend: "vllm",
};

const cloudAutoscaling = {
  min_workers: 0,
  max_workers: 5,
  max_hourly_cost_usd: 5.0,
  workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA A100-SXM4-80GB"], max_hourly_cost_usd: 5.0, max_instances: 5 } },
};

interface BadSpec {
  title: string;
  spec: Record<string, unknown>;
  path: string;
  suggestion?: string;
}

/** Each row: a bad spec, the exact path of the error it must produce, and the suggestion for near misses. */
const BAD_SPECS: BadSpec[] = [
  { title: "missing name", spec: { ...base, name: undefined }, path: "name" },
  { title: "empty name", spec: { ...base, name: "  " }, path: "name" },
  { title: "missing slug", spec: { ...base, slug: undefined }, path: "slug" },
  { title: "slug with uppercase", spec: { ...base, slug: "Support-Bot" }, path: "slug", suggestion: "support-bot" },
  { title: "slug with underscore", spec: { ...base, slug: "support_bot" }, path: "slug", suggestion: "support-bot" },
  { title: "slug with leading hyphen", spec: { ...base, slug: "-bot" }, path: "slug", suggestion: "bot" },
  { title: "slug longer than 63", spec: { ...base, slug: "a".repeat(64) }, path: "slug", suggestion: "a".repeat(63) },
  { title: "slug with space", spec: { ...base, slug: "support bot" }, path: "slug", suggestion: "support-bot" },
  { title: "model with whitespace", spec: { ...base, model: "meta llama" }, path: "model" },
  { title: "missing model", spec: { ...base, model: undefined }, path: "model" },
  { title: "unknown backend", spec: { ...base, backend: "tgi" }, path: "backend" },
  { title: "backend typo", spec: { ...base, backend: "vlm" }, path: "backend", suggestion: "vllm" },
  { title: "backend with underscore", spec: { ...base, backend: "vllm_omni" }, path: "backend", suggestion: "vllm-omni" },
  { title: "task_type typo", spec: { ...base, task_type: "embeding" }, path: "task_type", suggestion: "embedding" },
  { title: "unknown task_type", spec: { ...base, task_type: "chat" }, path: "task_type" },
  { title: "image on vllm", spec: { ...base, task_type: "text2image" }, path: "backend", suggestion: "vllm-omni" },
  { title: "tts on ollama", spec: { ...base, backend: "ollama", task_type: "text2audio" }, path: "backend", suggestion: "vllm-omni" },
  { title: "chat on vllm-omni", spec: { ...base, backend: "vllm-omni", task_type: "text2text" }, path: "backend", suggestion: "vllm" },
  { title: "reranker on ollama", spec: { ...base, backend: "ollama", task_type: "reranker" }, path: "backend", suggestion: "vllm" },
  { title: "vllm_version on sglang", spec: { ...base, backend: "sglang", vllm_version: "0.6.3" }, path: "vllm_version" },
  { title: "malformed vllm_version", spec: { ...base, vllm_version: "latest" }, path: "vllm_version" },
  { title: "unknown top-level field", spec: { ...base, replicas: 2 }, path: "replicas" },
  { title: "camelCase field on the wire", spec: { ...base, taskType: "embedding" }, path: "taskType", suggestion: "task_type" },
  { title: "field typo", spec: { ...base, commnd: "vllm serve x" }, path: "commnd", suggestion: "command" },
  { title: "provider is not a field", spec: { ...base, provider: "aws" }, path: "provider", suggestion: "worker_id" },
  { title: "malformed worker_id", spec: { ...base, worker_id: "worker-1" }, path: "worker_id" },
  { title: "unknown execution_policy", spec: { ...base, execution_policy: "always" }, path: "execution_policy" },
  { title: "execution_policy typo", spec: { ...base, execution_policy: "autoscale" }, path: "execution_policy", suggestion: "autoscaling" },
  { title: "fixed replicas negative", spec: { ...base, execution_policy: "fixed", execution_policy_config: { replicas: -1 } }, path: "execution_policy_config.replicas" },
  { title: "fixed replicas fractional", spec: { ...base, execution_policy: "fixed", execution_policy_config: { replicas: 1.5 } }, path: "execution_policy_config.replicas" },
  { title: "fixed replicas as string", spec: { ...base, execution_policy: "fixed", execution_policy_config: { replicas: "2" } }, path: "execution_policy_config.replicas" },
  { title: "window on fixed policy", spec: { ...base, execution_policy_config: { window: "Mon-Fri 08:00-20:00" } }, path: "execution_policy_config.window", suggestion: 'execution_policy: "scheduled"' },
  { title: "fixed with min_workers", spec: { ...base, execution_policy: "fixed", execution_policy_config: { min_workers: 1 } }, path: "execution_policy_config.min_workers", suggestion: "replicas" },
  { title: "scheduled with neither window nor cron", spec: { ...base, execution_policy: "scheduled", execution_policy_config: {} }, path: "execution_policy_config.window" },
  { title: "scheduled with both", spec: { ...base, execution_policy: "scheduled", execution_policy_config: { window: "Mon-Fri 08:00-20:00", cron: "0 2 * * *" } }, path: "execution_policy_config.cron" },
  { title: "malformed cron (4 fields)", spec: { ...base, execution_policy: "scheduled", execution_policy_config: { cron: "0 2 * *" } }, path: "execution_policy_config.cron" },
  { title: "cron hour out of range", spec: { ...base, execution_policy: "scheduled", execution_policy_config: { cron: "0 25 * * *" } }, path: "execution_policy_config.cron" },
  { title: "malformed window", spec: { ...base, execution_policy: "scheduled", execution_policy_config: { window: "weekdays 8-20" } }, path: "execution_policy_config.window" },
  { title: "window with unpadded hour", spec: { ...base, execution_policy: "scheduled", execution_policy_config: { window: "Mon-Fri 8:00-20:00 Europe/Madrid" } }, path: "execution_policy_config.window", suggestion: "Mon-Fri 08:00-20:00 Europe/Madrid" },
  { title: "window with unknown time zone", spec: { ...base, execution_policy: "scheduled", execution_policy_config: { window: "Mon-Fri 08:00-20:00 Europe/Madird" } }, path: "execution_policy_config.window" },
  { title: "unknown timezone", spec: { ...base, execution_policy: "scheduled", execution_policy_config: { cron: "0 2 * * *", timezone: "Mars/Olympus" } }, path: "execution_policy_config.timezone" },
  { title: "timezone typo", spec: { ...base, execution_policy: "scheduled", execution_policy_config: { cron: "0 2 * * *", timezone: "Europe/Madird" } }, path: "execution_policy_config.timezone", suggestion: "Europe/Madrid" },
  { title: "run_duration_minutes with window", spec: { ...base, execution_policy: "scheduled", execution_policy_config: { window: "Mon-Fri 08:00-20:00", run_duration_minutes: 30 } }, path: "execution_policy_config.run_duration_minutes" },
  { title: "run_duration_minutes zero", spec: { ...base, execution_policy: "scheduled", execution_policy_config: { cron: "0 2 * * *", run_duration_minutes: 0 } }, path: "execution_policy_config.run_duration_minutes" },
  { title: "autoscaling min_replicas", spec: { ...base, execution_policy: "autoscaling", execution_policy_config: { ...cloudAutoscaling, min_replicas: 0 } }, path: "execution_policy_config.min_replicas", suggestion: "min_workers" },
  { title: "autoscaling max_replicas", spec: { ...base, execution_policy: "autoscaling", execution_policy_config: { ...cloudAutoscaling, max_replicas: 5 } }, path: "execution_policy_config.max_replicas", suggestion: "max_workers" },
  { title: "cloud autoscaling without cost ceiling", spec: { ...base, execution_policy: "autoscaling", execution_policy_config: { ...cloudAutoscaling, max_hourly_cost_usd: undefined } }, path: "execution_policy_config.max_hourly_cost_usd" },
  { title: "cloud autoscaling with zero cost ceiling", spec: { ...base, execution_policy: "autoscaling", execution_policy_config: { ...cloudAutoscaling, max_hourly_cost_usd: 0 } }, path: "execution_policy_config.max_hourly_cost_usd" },
  { title: "cloud autoscaling with negative cost ceiling", spec: { ...base, execution_policy: "autoscaling", execution_policy_config: { ...cloudAutoscaling, max_hourly_cost_usd: -5 } }, path: "execution_policy_config.max_hourly_cost_usd" },
  { title: "min_workers above max_workers", spec: { ...base, execution_policy: "autoscaling", execution_policy_config: { ...cloudAutoscaling, min_workers: 6 } }, path: "execution_policy_config.min_workers" },
  { title: "max_workers missing", spec: { ...base, execution_policy: "autoscaling", execution_policy_config: { ...cloudAutoscaling, max_workers: undefined } }, path: "execution_policy_config.max_workers" },
  { title: "workers missing", spec: { ...base, execution_policy: "autoscaling", execution_policy_config: { ...cloudAutoscaling, workers: undefined } }, path: "execution_policy_config.workers" },
  { title: "unknown workers.source", spec: { ...base, execution_policy: "autoscaling", execution_policy_config: { ...cloudAutoscaling, workers: { source: "clod", cloud_pool: { gpu_pool: ["NVIDIA L4"] } } } }, path: "execution_policy_config.workers.source", suggestion: "cloud" },
  { title: "gpu not in the catalog (near miss)", spec: { ...base, execution_policy: "autoscaling", execution_policy_config: { ...cloudAutoscaling, workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA A100-SXM4-80G"] } } } }, path: "execution_policy_config.workers.cloud_pool.gpu_pool[0]", suggestion: "NVIDIA A100-SXM4-80GB" },
  { title: "empty gpu_pool", spec: { ...base, execution_policy: "autoscaling", execution_policy_config: { ...cloudAutoscaling, workers: { source: "cloud", cloud_pool: { gpu_pool: [] } } } }, path: "execution_policy_config.workers.cloud_pool.gpu_pool" },
  { title: "malformed cuda version", spec: { ...base, execution_policy: "autoscaling", execution_policy_config: { ...cloudAutoscaling, workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"], allowed_cuda_versions: ["13"] } } } }, path: "execution_policy_config.workers.cloud_pool.allowed_cuda_versions[0]" },
  { title: "cloud_pool field typo", spec: { ...base, execution_policy: "autoscaling", execution_policy_config: { ...cloudAutoscaling, workers: { source: "cloud", cloud_pool: { gpu_pool: ["NVIDIA L4"], max_instance: 3 } } } }, path: "execution_policy_config.workers.cloud_pool.max_instance", suggestion: "max_instances" },
  { title: "worker_id with cloud autoscaling", spec: { ...base, worker_id: "wrk_7Yc2abcd", execution_policy: "autoscaling", execution_policy_config: cloudAutoscaling }, path: "worker_id" },
  { title: "worker_id outside private_worker_ids", spec: { ...base, worker_id: "wrk_7Yc2abcd", execution_policy: "autoscaling", execution_policy_config: { min_workers: 1, max_workers: 2, workers: { source: "private", private_worker_ids: ["wrk_other123"] } } }, path: "worker_id", suggestion: "wrk_other123" },
  { title: "private_worker_ids empty", spec: { ...base, execution_policy: "autoscaling", execution_policy_config: { min_workers: 1, max_workers: 2, workers: { source: "private", private_worker_ids: [] } } }, path: "execution_policy_config.workers.private_worker_ids" },
  { title: "private_worker_ids malformed", spec: { ...base, execution_policy: "autoscaling", execution_policy_config: { min_workers: 1, max_workers: 2, workers: { source: "private", private_worker_ids: ["box-1"] } } }, path: "execution_policy_config.workers.private_worker_ids[0]" },
  { title: "private_worker_ids duplicated", spec: { ...base, execution_policy: "autoscaling", execution_policy_config: { min_workers: 1, max_workers: 2, workers: { source: "private", private_worker_ids: ["wrk_abcd1234", "wrk_abcd1234"] } } }, path: "execution_policy_config.workers.private_worker_ids" },
  { title: "autoscaling config as array", spec: { ...base, execution_policy: "autoscaling", execution_policy_config: [] }, path: "execution_policy_config" },
];

describe("validateSpec: bad specs", () => {
  it("covers at least 40 bad specs", () => {
    expect(BAD_SPECS.length).toBeGreaterThanOrEqual(40);
  });

  it.each(BAD_SPECS)("$title -> error at $path", ({ spec, path, suggestion }) => {
    // Prepare: undefined fields mean "omitted", as a JSON client would send them.
    const wire = JSON.parse(JSON.stringify(spec));

    // Act
    let caught: unknown;
    try {
      validateSpec(wire);
    } catch (error) {
      caught = error;
    }

    // Assess: a ValidationError naming exactly this path, not a dump of the schema.
    expect(caught).toBeInstanceOf(ValidationError);
    const details = (caught as ValidationError).details;
    const detail = details.find((d) => d.path === path);
    expect(detail, `paths were: ${details.map((d) => d.path).join(", ")}`).toBeDefined();
    expect(details.length).toBeLessThanOrEqual(3);
    if (suggestion !== undefined) expect(detail?.suggestion).toBe(suggestion);
    expect(detail?.message.length).toBeGreaterThan(0);
  });
});
