import type * as z from "zod/mini";
import { findGpuModel, GPU_DISPLAY_NAMES, GPU_MODELS, KNOWN_CUDA_VERSIONS } from "../catalog";
import { type ErrorDetail, ValidationError } from "../errors";
import { parseCron, parseTimeZone, parseWindow, type ScheduleError } from "../schedule";
import {
  BACKENDS,
  defaultCommand,
  EXECUTION_POLICIES,
  type ExecutionPolicyName,
  MODALITIES,
  TASK_TYPES,
  type TaskTypeName,
  VLLM_VERSIONED_BACKENDS,
} from "./modalities";
import {
  AutoscalingConfigSchema,
  CloudPoolSchema,
  CUDA_VERSION_PATTERN,
  FixedConfigSchema,
  POLICY_CONFIG_SCHEMAS,
  ScheduledConfigSchema,
  WORKLOAD_SPEC_FIELDS,
  type WorkloadSpec,
  WorkloadSpecInputSchema,
} from "./schema";
import { POOLING_TASK_TYPES } from "./pooling";
import { closest } from "./suggest";

/** Task types the catalog names but no backend path serves yet: refused at ensure with the reason. */
export const UNSERVED_TASK_TYPES: readonly TaskTypeName[] = ["text2video", "image2video"];

/** Field names people reach for that mean something else here, keyed by where they appear. */
const ALIASES: Record<string, Record<string, string>> = {
  "": {
    taskType: "task_type",
    executionPolicy: "execution_policy",
    executionPolicyConfig: "execution_policy_config",
    workerId: "worker_id",
    vllmVersion: "vllm_version",
    provider: "worker_id",
    policy: "execution_policy",
    task: "task_type",
  },
  autoscaling: {
    min_replicas: "min_workers",
    max_replicas: "max_workers",
    minReplicas: "min_workers",
    maxReplicas: "max_workers",
    minWorkers: "min_workers",
    maxWorkers: "max_workers",
    replicas: "min_workers",
    maxHourlyCostUsd: "max_hourly_cost_usd",
  },
  fixed: { min_replicas: "replicas", max_replicas: "replicas", min_workers: "replicas", max_workers: "replicas" },
  scheduled: { schedule: "cron", tz: "timezone", time_zone: "timezone", duration_minutes: "run_duration_minutes" },
};

/** Keys that belong to another policy's config: the fix is the policy, not the key. */
const POLICY_OF_KEY: Record<string, ExecutionPolicyName> = {
  window: "scheduled",
  cron: "scheduled",
  min_workers: "autoscaling",
  max_workers: "autoscaling",
  workers: "autoscaling",
  max_hourly_cost_usd: "autoscaling",
};

type PathPart = string | number;

export function formatPath(path: readonly PathPart[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PathPart[]): unknown {
  let current: unknown = root;
  for (const part of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[part];
  }
  return current;
}

/** The value of an own property only: a key like `toString` must not find Object.prototype's. */
function own<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

/**
 * JSON null means "not given" for every optional field, at any depth. The copy's objects have no
 * prototype, so a `__proto__` key stays a plain (unknown) field. Callers bound the depth first
 * (request bodies: MAX_JSON_DEPTH).
 */
export function stripNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (value !== null && typeof value === "object") {
    const out = Object.create(null) as Record<string, unknown>;
    for (const [key, inner] of Object.entries(value)) {
      if (inner !== null) out[key] = stripNulls(inner);
    }
    return out;
  }
  return value;
}

/**
 * A received value in a message. Never String() or a template: objects from request bodies have no
 * prototype, so they have no toString either.
 */
function shown(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
}

function describeType(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

function knownKeysFor(context: string): readonly string[] {
  switch (context) {
    case "":
      return WORKLOAD_SPEC_FIELDS;
    case "fixed":
      return Object.keys(FixedConfigSchema.shape);
    case "scheduled":
      return Object.keys(ScheduledConfigSchema.shape);
    case "autoscaling":
      return Object.keys(AutoscalingConfigSchema.shape);
    case "workers":
      return ["source", "cloud_pool", "private_worker_ids"];
    case "cloud_pool":
      return Object.keys(CloudPoolSchema.shape);
    default:
      return [];
  }
}

function contextOf(path: readonly PathPart[], policy: ExecutionPolicyName | undefined): string {
  const last = path.at(-1);
  if (path.length === 0) return "";
  if (path.length === 1 && last === "execution_policy_config") return policy ?? "";
  if (last === "workers") return "workers";
  if (last === "cloud_pool") return "cloud_pool";
  return String(last);
}

const EXPECTATIONS: Record<string, string> = {
  slug: "a DNS label: 1-63 characters of lowercase letters, digits and hyphens, starting and ending with a letter or digit",
  worker_id: "a registered worker id like wrk_7Yc2...",
  model:
    "a model name of letters, digits and . _ - / : @ + (e.g. meta-llama/Llama-3.1-8B-Instruct, llama3.2:1b, hf.co/org/repo:Q4_K_M, /models/llama)",
  vllm_version: "a version such as 0.6.3",
  name: "a display name of 1-120 characters",
};

function issueToDetails(
  issue: z.core.$ZodIssue,
  raw: unknown,
  prefix: readonly PathPart[],
  policy: ExecutionPolicyName | undefined,
): ErrorDetail[] {
  const path = [...prefix, ...(issue.path as PathPart[])];
  const fieldName = String(path.filter((p) => typeof p === "string").at(-1) ?? "");
  const received = valueAt(raw, path);
  switch (issue.code) {
    case "unrecognized_keys": {
      const context = contextOf(path, policy);
      const known = knownKeysFor(context);
      return issue.keys.map((key) => {
        const keyPath = formatPath([...path, key]);
        const alias = own(own(ALIASES, context), key);
        const otherPolicy = own(POLICY_OF_KEY, key);
        let suggestion = alias ?? closest(key, known);
        let message = `unknown field "${key}"`;
        if (context === "autoscaling" && (key === "min_replicas" || key === "max_replicas" || key === "replicas")) {
          message = `"${key}" is not an autoscaling field: worker bounds are min_workers / max_workers (one worker runs one replica)`;
        } else if (otherPolicy !== undefined && otherPolicy !== policy && suggestion === undefined) {
          message = `"${key}" belongs to the ${otherPolicy} policy's config, but execution_policy is ${policy ?? "fixed (the default)"}`;
          suggestion = `execution_policy: "${otherPolicy}"`;
        } else if (suggestion !== undefined) {
          message = `unknown field "${key}"; did you mean "${suggestion}"?`;
        }
        return {
          path: keyPath,
          message,
          received: valueAt(raw, [...path, key]),
          expected: `one of the fields ${known.join(", ")}`,
          ...(suggestion === undefined ? {} : { suggestion }),
        };
      });
    }
    case "invalid_value": {
      const values = issue.values.map(String);
      const suggestion = typeof received === "string" ? closest(received, values) : undefined;
      return [
        {
          path: formatPath(path),
          message:
            received === undefined
              ? `${fieldName} is required`
              : `${JSON.stringify(received)} is not a valid ${fieldName}${suggestion ? `; did you mean "${suggestion}"?` : ""}`,
          received,
          expected: `one of ${values.join(", ")}`,
          ...(suggestion === undefined ? {} : { suggestion }),
        },
      ];
    }
    case "invalid_type": {
      if (received === undefined) {
        return [{ path: formatPath(path), message: `${fieldName} is required`, expected: `${issue.expected}` }];
      }
      return [
        {
          path: formatPath(path),
          message: `${fieldName} must be ${issue.expected === "int" ? "an integer" : `a ${issue.expected}`}, got ${describeType(received)}`,
          received,
          expected: issue.expected,
        },
      ];
    }
    case "too_small":
    case "too_big": {
      const bound = Number(issue.code === "too_small" ? issue.minimum : issue.maximum);
      const inclusive = issue.inclusive !== false;
      const what =
        issue.origin === "array"
          ? `${issue.code === "too_small" ? "at least" : "at most"} ${bound} item(s)`
          : issue.origin === "string"
            ? `${issue.code === "too_small" ? "at least" : "at most"} ${bound} character(s)`
            : `${issue.code === "too_small" ? (inclusive ? ">=" : ">") : inclusive ? "<=" : "<"} ${bound}`;
      return [{ path: formatPath(path), message: `${fieldName} must be ${what}`, received, expected: what }];
    }
    case "invalid_format": {
      const expected = own(EXPECTATIONS, fieldName) ?? `a value matching ${issue.pattern ?? issue.format}`;
      const detail: ErrorDetail = {
        path: formatPath(path),
        message: `${JSON.stringify(received)} is not a valid ${fieldName}: expected ${expected}`,
        received,
        expected,
      };
      if (fieldName === "slug" && typeof received === "string") {
        // Cut first: the hyphen-trimming patterns scan a long run of hyphens once per position.
        const fixed = received
          .slice(0, 256)
          .toLowerCase()
          .replace(/[^a-z0-9-]+/g, "-")
          .replace(/^-+|-+$/g, "")
          .slice(0, 63)
          .replace(/-+$/, "");
        if (fixed.length > 0) detail.suggestion = fixed;
      }
      return [detail];
    }
    case "invalid_union": {
      // zod reports a bad discriminator either on the union or on its `source` key.
      if (path.at(-1) === "source") path.pop();
      const source = valueAt(raw, [...path, "source"]);
      return [
        {
          path: formatPath([...path, "source"]),
          message:
            source === undefined
              ? "workers.source is required"
              : `${JSON.stringify(source)} is not a valid workers.source`,
          received: source,
          expected: 'one of cloud, private ({source: "cloud", cloud_pool} or {source: "private", private_worker_ids})',
          ...suggestionFor(source, ["cloud", "private"]),
        },
      ];
    }
    default:
      return [{ path: formatPath(path), message: issue.message, received }];
  }
}

/**
 * Validates a wire spec and returns it normalised (defaults filled in), or throws a
 * ValidationError listing every problem with its path, the value received, what is accepted and,
 * for near misses, a suggestion.
 */
export function validateSpec(input: unknown): WorkloadSpec {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new ValidationError("The workload spec must be a JSON object.", [
      { path: "", message: "expected a JSON object", received: input, expected: "an object with name, slug, model, backend" },
    ]);
  }
  const raw = stripNulls(input) as Record<string, unknown>;
  const details: ErrorDetail[] = [];

  const top = WorkloadSpecInputSchema.safeParse(raw);
  const policyRaw = raw.execution_policy;
  const policy = (EXECUTION_POLICIES as readonly unknown[]).includes(policyRaw)
    ? (policyRaw as ExecutionPolicyName)
    : policyRaw === undefined
      ? "fixed"
      : undefined;
  if (!top.success) {
    for (const issue of top.error.issues) details.push(...issueToDetails(issue, raw, [], policy));
  }

  // Policy config: parsed with the schema of the declared policy.
  const configRaw = raw.execution_policy_config ?? {};
  let config: unknown;
  if (policy !== undefined && typeof configRaw === "object" && !Array.isArray(configRaw)) {
    const parsed = POLICY_CONFIG_SCHEMAS[policy].safeParse(configRaw);
    if (parsed.success) config = parsed.data;
    else {
      for (const issue of parsed.error.issues) {
        details.push(...issueToDetails(issue, raw, ["execution_policy_config"], policy));
      }
    }
    details.push(...checkPolicyRules(policy, configRaw as Record<string, unknown>, raw));
  }

  details.push(...checkCrossFieldRules(raw));

  if (details.length > 0 || !top.success || config === undefined) {
    throw new ValidationError(
      `The workload spec has ${details.length} problem${details.length === 1 ? "" : "s"}: ${details
        .map((d) => `${d.path || "(spec)"}: ${d.message}`)
        .join("; ")}`,
      dedupe(details),
    );
  }
  const spec = top.data;
  const taskType: TaskTypeName = spec.task_type ?? "text2text";
  return {
    name: spec.name,
    slug: spec.slug,
    model: spec.model,
    backend: spec.backend,
    task_type: taskType,
    command: spec.command ?? defaultCommand(spec.backend, spec.model, taskType, spec.vllm_version),
    ...(spec.jobs === undefined ? {} : { jobs: spec.jobs }),
    ...(spec.vllm_version === undefined ? {} : { vllm_version: spec.vllm_version }),
    ...(spec.worker_id === undefined ? {} : { worker_id: spec.worker_id }),
    execution_policy: policy,
    execution_policy_config: config,
  } as WorkloadSpec;
}

/**
 * Why a stored spec no longer passes today's validation (rules tighten: a `model` accepted before
 * may now be refused), or undefined when it still does. The controller runs nothing for such a
 * spec and the workload shows the reason in its `Accepted` condition.
 */
export function storedSpecProblem(spec: WorkloadSpec): string | undefined {
  try {
    validateSpec(spec);
    return undefined;
  } catch (error) {
    if (error instanceof ValidationError) return error.message;
    return error instanceof Error ? error.message : String(error);
  }
}

function dedupe(details: ErrorDetail[]): ErrorDetail[] {
  const seen = new Set<string>();
  return details.filter((d) => {
    const key = `${d.path}|${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function checkCrossFieldRules(raw: Record<string, unknown>): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  const backend = raw.backend;
  const taskType = raw.task_type ?? "text2text";
  if (
    typeof backend === "string" &&
    (BACKENDS as readonly string[]).includes(backend) &&
    typeof taskType === "string" &&
    (TASK_TYPES as readonly string[]).includes(taskType)
  ) {
    const modality = MODALITIES[taskType as TaskTypeName];
    if (UNSERVED_TASK_TYPES.includes(taskType as TaskTypeName)) {
      details.push({
        path: "task_type",
        message: `task_type "${taskType}" is not served yet: video generation takes minutes per clip and needs the async jobs API, which runs only reranker, classification and reward jobs today`,
        received: taskType,
        expected: `one of ${TASK_TYPES.filter((t) => !UNSERVED_TASK_TYPES.includes(t)).join(", ")}`,
      });
    } else if (!(modality.backends as readonly string[]).includes(backend)) {
      const reason = POOLING_TASK_TYPES.includes(taskType as TaskTypeName) && backend === "ollama" ? ": ollama has no rerank, classify or pooling route" : "";
      details.push({
        path: "backend",
        message: `backend "${backend}" cannot serve task_type "${taskType}"${reason}`,
        received: backend,
        expected: `for ${taskType}: ${modality.backends.join(", ")}`,
        suggestion: modality.backends[0],
      });
    }
    if (raw.jobs !== undefined && !POOLING_TASK_TYPES.includes(taskType as TaskTypeName)) {
      details.push({
        path: "jobs",
        message: `jobs applies to the async task types (${POOLING_TASK_TYPES.join(", ")}), not "${taskType}"`,
        received: raw.jobs,
        expected: "omit jobs for this task_type",
      });
    }
    if (raw.vllm_version !== undefined && !(VLLM_VERSIONED_BACKENDS as readonly string[]).includes(backend)) {
      details.push({
        path: "vllm_version",
        message: `vllm_version pins the vLLM runtime and applies only to backends ${VLLM_VERSIONED_BACKENDS.join(", ")}, not "${backend}"`,
        received: raw.vllm_version,
        expected: "omit vllm_version for this backend",
      });
    }
  }
  return details;
}

function checkPolicyRules(
  policy: ExecutionPolicyName,
  config: Record<string, unknown>,
  raw: Record<string, unknown>,
): ErrorDetail[] {
  const at = (...parts: PathPart[]) => formatPath(["execution_policy_config", ...parts]);
  const details: ErrorDetail[] = [];
  if (policy === "scheduled") {
    const { window, cron, timezone } = config;
    if (window === undefined && cron === undefined) {
      details.push({
        path: at("window"),
        message: "a scheduled workload needs exactly one of window or cron",
        expected: 'window: "Mon-Fri 08:00-20:00 Europe/Madrid" or cron: "0 2 * * *"',
      });
    }
    if (window !== undefined && cron !== undefined) {
      details.push({
        path: at("cron"),
        message: "give either window or cron, not both",
        received: cron,
        expected: "exactly one of window or cron",
      });
    }
    let zone: string | undefined;
    if (typeof timezone === "string") {
      const parsed = parseTimeZone(timezone);
      if (parsed.ok) zone = parsed.value;
      else
        details.push(scheduleErrorDetail(at("timezone"), timezone, parsed.error));
    }
    if (typeof window === "string") {
      const parsed = parseWindow(window, zone);
      if (!parsed.ok) {
        details.push(scheduleErrorDetail(at("window"), window, parsed.error));
      } else if (zone !== undefined && parsed.value.timeZone !== zone) {
        details.push({
          path: at("timezone"),
          message: `timezone "${zone}" contradicts the window's own time zone "${parsed.value.timeZone}"`,
          received: timezone,
          expected: "one time zone: inside the window string or in timezone, not two different ones",
        });
      }
      if (config.run_duration_minutes !== undefined) {
        details.push({
          path: at("run_duration_minutes"),
          message: "run_duration_minutes applies to cron schedules; a window's end time already bounds the run",
          received: config.run_duration_minutes,
          expected: "omit run_duration_minutes with window",
        });
      }
    }
    if (typeof cron === "string") {
      const parsed = parseCron(cron, zone ?? "UTC");
      if (!parsed.ok) {
        details.push(scheduleErrorDetail(at("cron"), cron, parsed.error));
      }
    }
  }
  if (policy === "autoscaling") {
    const { min_workers: min, max_workers: max, workers } = config;
    if (typeof min === "number" && typeof max === "number" && min > max) {
      details.push({
        path: at("min_workers"),
        message: `min_workers (${min}) is greater than max_workers (${max})`,
        received: min,
        expected: `an integer between 0 and max_workers (${max})`,
      });
    }
    const source = workers !== null && typeof workers === "object" ? (workers as Record<string, unknown>).source : undefined;
    if (source === "cloud") {
      const cost = config.max_hourly_cost_usd;
      if (cost === undefined) {
        details.push({
          path: at("max_hourly_cost_usd"),
          message: "cloud autoscaling needs a cost ceiling: max_hourly_cost_usd is required",
          expected: "a number of US dollars per hour > 0, e.g. 5.0",
        });
      }
      if (raw.worker_id !== undefined) {
        details.push({
          path: "worker_id",
          message:
            'worker_id pins the workload to a private worker, which contradicts workers.source "cloud"',
          received: raw.worker_id,
          expected: 'omit worker_id, or use workers: {source: "private", private_worker_ids: [...]} that includes it',
        });
      }
      const pool = (workers as Record<string, unknown>).cloud_pool;
      if (pool !== null && typeof pool === "object") {
        const gpuPool = (pool as Record<string, unknown>).gpu_pool;
        if (Array.isArray(gpuPool)) {
          gpuPool.forEach((name, index) => {
            if (typeof name === "string" && findGpuModel(name) === undefined) {
              const suggestion = closest(name, GPU_DISPLAY_NAMES);
              details.push({
                path: at("workers", "cloud_pool", "gpu_pool", index),
                message: `"${name}" is not a GPU in the cloud catalog${suggestion ? `; did you mean "${suggestion}"?` : ""}`,
                received: name,
                expected: `catalog display names: ${GPU_MODELS.map((m) => m.displayName).join(", ")} (GET /v1/catalog/gpus)`,
                ...(suggestion === undefined ? {} : { suggestion }),
              });
            }
          });
        }
        const cuda = (pool as Record<string, unknown>).allowed_cuda_versions;
        if (Array.isArray(cuda)) {
          cuda.forEach((version, index) => {
            if (typeof version === "string" && CUDA_VERSION_PATTERN.test(version) && !KNOWN_CUDA_VERSIONS.includes(version)) {
              details.push({
                path: at("workers", "cloud_pool", "allowed_cuda_versions", index),
                message: `no catalog GPU offers CUDA ${version}`,
                received: version,
                expected: `one of ${KNOWN_CUDA_VERSIONS.join(", ")}`,
              });
            }
          });
        }
      }
    }
    if (source === "private") {
      const ids = (workers as Record<string, unknown>).private_worker_ids;
      if (Array.isArray(ids)) {
        const duplicates = ids.filter((id, index) => ids.indexOf(id) !== index);
        if (duplicates.length > 0) {
          details.push({
            path: at("workers", "private_worker_ids"),
            message: `duplicate worker ids: ${[...new Set(duplicates)].map(shown).join(", ")}`,
            received: ids,
            expected: "each worker id once",
          });
        }
        if (typeof raw.worker_id === "string" && !ids.includes(raw.worker_id)) {
          details.push({
            path: "worker_id",
            message: `worker_id "${raw.worker_id}" is not one of private_worker_ids`,
            received: raw.worker_id,
            expected: `one of ${ids.map(shown).join(", ")}`,
            ...(ids[0] === undefined ? {} : { suggestion: shown(ids[0]) }),
          });
        }
      }
    }
  }
  return details;
}

/** Every private worker id a spec names, with the wire path that names it. */
export function referencedWorkerIds(spec: WorkloadSpec): { path: string; workerId: string }[] {
  const refs: { path: string; workerId: string }[] = [];
  if (spec.worker_id !== undefined) refs.push({ path: "worker_id", workerId: spec.worker_id });
  if (spec.execution_policy === "autoscaling" && spec.execution_policy_config.workers.source === "private") {
    spec.execution_policy_config.workers.private_worker_ids.forEach((workerId, index) => {
      refs.push({ path: formatPath(["execution_policy_config", "workers", "private_worker_ids", index]), workerId });
    });
  }
  return refs;
}

/** A schedule parse error (window, cron or time zone) as an error detail at `path`. */
function scheduleErrorDetail(path: string, received: string, error: ScheduleError): ErrorDetail {
  return {
    path,
    message: error.message,
    received,
    expected: error.expected,
    ...(error.suggestion === undefined ? {} : { suggestion: error.suggestion }),
  };
}

/** `{ suggestion }` when `value` is a near miss of one of `options`, else nothing. */
function suggestionFor(value: unknown, options: readonly string[]): { suggestion?: string } {
  const near = typeof value === "string" ? closest(value, [...options]) : undefined;
  return near ? { suggestion: near } : {};
}
