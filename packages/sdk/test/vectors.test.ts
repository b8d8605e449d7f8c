import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as sdk from "../src";
import { DataClient, type EnsureSpec, InferenceKeyError, ManagementClient } from "../src";
import { camelKeys, toCamelCase } from "../src/casing";
import { toWireSpec } from "../src/spec";
import { type FakeFetch, fakeFetch, jsonResponse } from "./helpers/fake-fetch";
import { BASE_URL, TOKEN } from "./helpers/fixtures";
import { scriptedSse } from "./helpers/streams";

/**
 * The wire-contract vectors shared with the Python SDK (`test/vectors/`, written by its suite's
 * authors). Both suites must agree with them: a spec serialises to the same body, an error answer
 * maps to the named class with the same fields and retry decision, a success answer reads the same.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const vectorsDir = path.join(repoRoot, "test/vectors");

interface VectorFile<T> {
  count: number;
  vectors: T[];
}

interface SpecVector {
  name: string;
  wire: Record<string, unknown>;
}

interface ErrorVector {
  name: string;
  plane: "control" | "data";
  status: number;
  headers: Record<string, string>;
  body?: unknown;
  body_text?: string;
  expected: {
    class: { python: string; typescript?: string };
    code: string;
    message: string;
    request_id: string | null;
    details: unknown[];
    error_type: string | null;
    retry_after_seconds: number | null;
    retried_for_idempotent_calls: boolean;
    retried_without_idempotency_key: boolean;
    /** WorkloadOutsideWindowError's `nextOpeningAt`. */
    next_opening_at?: string;
    /** WorkloadFailedError's `reason` and `nextRetryAt`. */
    reason?: string;
    next_retry_at?: string;
  };
}

interface ResponseVector {
  name: string;
  status: number;
  body?: unknown;
  body_text?: string;
  expected: Record<string, unknown>;
}

/** Fails loudly (the whole file) when the vectors are absent, rather than passing with nothing checked. */
function load<T>(name: string): VectorFile<T> {
  const file = path.join(vectorsDir, name);
  if (!existsSync(file)) {
    throw new Error(
      `test/vectors missing: ${file} not found (the shared wire-contract vectors must be present)`,
    );
  }
  return JSON.parse(readFileSync(file, "utf8")) as VectorFile<T>;
}

const specs = load<SpecVector>("specs.json");
const errors = load<ErrorVector>("errors.json");
const responses = load<ResponseVector>("responses.json");

const API_KEY = "ik_live_testkey000000000000000000000";

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function mgmt(fetch: FakeFetch, maxRetries = 0) {
  return new ManagementClient({ token: TOKEN, project: "acme", baseUrl: BASE_URL, fetch, maxRetries });
}

function endpoint(fetch: FakeFetch, maxRetries = 0) {
  return new DataClient({ project: "acme", baseUrl: BASE_URL, fetch, maxRetries }).endpoint("support-bot", {
    apiKey: API_KEY,
  });
}

/** A fresh Response for a vector (a body can be read once). */
function answer(vector: {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  body_text?: string;
}) {
  return new Response(vector.body_text ?? JSON.stringify(vector.body), {
    status: vector.status,
    headers: vector.headers ?? { "content-type": "application/json" },
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe("wire-contract vectors", () => {
  it("loads the full count of every file", () => {
    // Prepare
    const files = { specs, errors, responses };

    // Act
    const loaded = Object.fromEntries(Object.entries(files).map(([name, f]) => [name, f.vectors.length]));

    // Assess
    expect(loaded).toEqual({ specs: specs.count, errors: errors.count, responses: responses.count });
    expect(specs.count).toBeGreaterThan(0);
    expect(errors.count).toBeGreaterThan(0);
    expect(responses.count).toBeGreaterThan(0);
  });
});

describe("specs.json: the camelCase spec serialises to exactly the wire body", () => {
  for (const vector of specs.vectors) {
    it(vector.name, async () => {
      // Prepare: the SDK input is the wire body with its top-level keys camelCased.
      const input = camelKeys(vector.wire) as unknown as EnsureSpec;
      const fetch = fakeFetch(jsonResponse(200, {}));

      // Act
      const wire = toWireSpec(input);
      await mgmt(fetch)
        .ensure(input)
        .catch(() => undefined);

      // Assess
      expect(JSON.stringify(wire)).toBe(JSON.stringify(vector.wire));
      expect(fetch.calls[0]?.body).toStrictEqual(vector.wire);
    });
  }
});

describe("errors.json: each answer maps to the named TypeScript class and fields", () => {
  for (const vector of errors.vectors) {
    const { expected } = vector;
    const className = expected.class.typescript ?? expected.class.python;

    it(`${vector.plane} ${vector.status} ${vector.name} -> ${className}`, async () => {
      // Prepare
      const expectedClass = (sdk as Record<string, unknown>)[className];
      const fetch = fakeFetch(answer(vector));

      // Act
      const error =
        vector.plane === "control"
          ? await mgmt(fetch)
              .get("support-bot")
              .catch((e: unknown) => e)
          : await endpoint(fetch)
              // No scale-up budget: a workload_scaling_up answer is thrown, not polled.
              .generateText({ prompt: "x", scaleUpTimeoutSeconds: 0 })
              .catch((e: unknown) => e);

      // Assess
      expect(typeof expectedClass, `${className} is exported`).toBe("function");
      expect(error).toBeInstanceOf(InferenceKeyError);
      expect((error as object).constructor).toBe(expectedClass);
      expect(error).toMatchObject({
        status: vector.status,
        code: expected.code,
        message: expected.message,
        requestId: expected.request_id ?? undefined,
        details: expected.details,
        errorType: expected.error_type ?? undefined,
        retryAfterSeconds: expected.retry_after_seconds ?? undefined,
      });
      // The fields of the subclasses a caller acts on.
      if (expected.next_opening_at !== undefined) expect(error).toMatchObject({ nextOpeningAt: expected.next_opening_at });
      if (expected.reason !== undefined) expect(error).toMatchObject({ reason: expected.reason, nextRetryAt: expected.next_retry_at });
    });

    it(`${vector.plane} ${vector.status} ${vector.name}: retried for idempotent calls: ${expected.retried_for_idempotent_calls}, without an idempotency key: ${expected.retried_without_idempotency_key}`, async () => {
      // Prepare
      vi.useFakeTimers();
      const idempotentFetch = fakeFetch(answer(vector), jsonResponse(200, {}));
      const postFetch = fakeFetch(answer(vector), jsonResponse(201, {}));

      // Act
      const idempotent = mgmt(idempotentFetch, 1)
        .get("support-bot")
        .catch(() => undefined);
      const post =
        vector.plane === "control"
          ? mgmt(postFetch, 1)
              .keys.create("support-bot", { name: "backend" })
              .catch(() => undefined)
          : endpoint(postFetch, 1)
              .generateText({ prompt: "x" })
              .catch(() => undefined);
      await vi.advanceTimersByTimeAsync(30_000);
      await Promise.all([idempotent, post]);

      // Assess
      expect(idempotentFetch.calls.length > 1).toBe(expected.retried_for_idempotent_calls);
      expect(postFetch.calls.length > 1).toBe(expected.retried_without_idempotency_key);
      expect(postFetch.calls[0]?.method).toBe("POST");
      expect(postFetch.calls[0]?.headers).not.toHaveProperty("idempotency-key");
    });
  }
});

/** Fields the vectors derive from the ensure result's workload rather than naming them. */
const WORKLOAD_FIELDS: Record<string, (workload: sdk.Workload) => unknown> = {
  spec_execution_policy: (w) => w.spec.execution_policy,
  spec_replicas: (w) => {
    const config: unknown = w.spec.execution_policy_config;
    return isRecord(config) ? config.replicas : undefined;
  },
  desired_replicas: (w) => w.status.desiredReplicas,
  decision: (w) => w.status.decision,
  conditions: (w) => w.status.conditions.map((c) => [c.type, c.status]),
};

/**
 * Checks every expected field against the SDK result under its camelCase name: `null` means
 * absent, `usage` is compared with camelCase keys, `labels` (a user map) verbatim.
 */
function assessFields(
  result: Record<string, unknown>,
  expected: Record<string, unknown>,
  where: string,
  derived: Record<string, (value: never) => unknown> = {},
): void {
  for (const [key, want] of Object.entries(expected)) {
    const read = derived[key];
    const got = read === undefined ? result[toCamelCase(key)] : read(result as never);
    const at = `${where}.${key}`;
    if (key === "workload" && isRecord(want) && isRecord(got)) {
      assessFields(got, want, at, WORKLOAD_FIELDS);
    } else if (key === "usage" && isRecord(want)) {
      expect(got, at).toEqual(camelKeys(want));
    } else {
      expect(got, at).toEqual(want === null ? undefined : want);
    }
  }
}

describe("responses.json: each answer reads into the SDK's result type", () => {
  const readers: Record<string, (vector: ResponseVector) => Promise<Record<string, unknown>>> = {
    ensure: async (v) =>
      mgmt(fakeFetch(answer(v))).ensure({
        name: "Support bot",
        slug: "support-bot",
        model: "m",
        backend: "vllm",
      }),
    key_create: async (v) => mgmt(fakeFetch(answer(v))).keys.create("support-bot", { name: "backend" }),
    worker_register: async (v) => mgmt(fakeFetch(answer(v))).workers.register({ name: "gpu-box-1" }),
    chat_completion: async (v) => ({
      ...(await endpoint(fakeFetch(answer(v))).generateText({ prompt: "Hola" })),
    }),
    chat_completion_stream: async (v) => {
      const body = scriptedSse([v.body_text ?? ""]);
      const stream = endpoint(fakeFetch(body.response)).streamText({ prompt: "Hola" });
      const deltas: string[] = [];
      for await (const delta of stream) deltas.push(delta);
      return {
        deltas,
        text: stream.text,
        model: stream.model,
        finishReason: stream.finishReason,
        usage: stream.usage,
      };
    },
    embeddings: async (v) => ({ ...(await endpoint(fakeFetch(answer(v))).embed({ input: ["a", "b"] })) }),
  };

  it("has a reader for every vector", () => {
    // Prepare
    const names = responses.vectors.map((v) => v.name);

    // Act
    const unread = names.filter((name) => readers[name] === undefined);

    // Assess
    expect(unread).toEqual([]);
  });

  for (const vector of responses.vectors) {
    it(vector.name, async () => {
      // Prepare
      const read = readers[vector.name];
      if (read === undefined) throw new Error(`no reader for response vector ${vector.name}`);

      // Act
      const result = await read(vector);

      // Assess
      assessFields(result, vector.expected, vector.name);
    });
  }
});
