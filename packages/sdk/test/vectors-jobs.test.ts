import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import * as sdk from "../src";
import { DataClient, type Endpoint, InferenceKeyError, type Job, ManagementClient, type ReadinessEvent } from "../src";
import { toCamelCase } from "../src/casing";
import { type FakeFetch, fakeFetch, jsonResponse } from "./helpers/fake-fetch";
import { BASE_URL, TOKEN } from "./helpers/fixtures";
import { scriptedSse } from "./helpers/streams";

/**
 * `test/vectors/jobs.json`, shared with the Python suite (`tests/test_vectors_jobs.py`): the async
 * jobs API and the synchronous rerank and readiness stream, as both SDKs must speak them.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const file = path.join(repoRoot, "test/vectors/jobs.json");
if (!existsSync(file)) throw new Error(`test/vectors missing: ${file} not found`);

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

interface Vector {
  name: string;
  kind: "run" | "submit" | "job" | "list" | "error" | "rerank" | "readiness";
  [field: string]: unknown;
}

const doc = JSON.parse(readFileSync(file, "utf8")) as { count: number; vectors: Vector[] };
const API_KEY = "ik_live_testkey000000000000000000000";

function reply(answer: Answer): Response {
  return jsonResponse(answer.status, answer.body, answer.headers ?? {});
}

function endpoint(fetch: FakeFetch, workload: string): Endpoint {
  return new DataClient({ project: "acme", baseUrl: BASE_URL, fetch }).endpoint(workload, { apiKey: API_KEY });
}

/** Snake_case args as the TypeScript helpers take them (top-level keys camelCased). */
function camelArgs(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(args).map(([key, value]) => [toCamelCase(key), value]));
}

/** A typed result in the vectors' neutral form: snake_case fields, usage as total_tokens. */
function neutral(result: unknown): Record<string, unknown> {
  const r = result as {
    results?: Array<{ index: number; relevanceScore: number; document?: { text: string } }>;
    data?: Array<Record<string, unknown>>;
    usage?: { totalTokens: number };
  };
  const out: Record<string, unknown> = {};
  if (r.results !== undefined) {
    out.results = r.results.map((item) => ({
      index: item.index,
      relevance_score: item.relevanceScore,
      ...(item.document === undefined ? {} : { document: item.document.text }),
    }));
  }
  if (r.data !== undefined) {
    out.data = r.data.map((item) =>
      Object.fromEntries(Object.entries(item).map(([key, value]) => [key === "numClasses" ? "num_classes" : key, value])),
    );
  }
  out.total_tokens = r.usage?.totalTokens;
  return out;
}

function neutralJob(job: Job): Record<string, unknown> {
  return {
    id: job.id,
    status: job.status,
    terminal: sdk.isTerminalJobStatus(job.status),
    history: job.history.map((h) => h.status),
    result: job.result === null ? null : neutral(job.result),
    error: job.error,
    attempts: job.attempts,
    started_at: job.startedAt,
    idempotency_key: job.idempotencyKey,
    webhook_url: job.webhook?.url,
    webhook_delivery_status: job.webhook?.delivery?.status,
  };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

/** Runs a call while advancing fake time, so backoffs and Retry-After waits pass at once. */
async function settle<T>(promise: Promise<T>): Promise<T> {
  const caught = promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  await vi.advanceTimersByTimeAsync(120_000);
  const outcome = await caught;
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

describe("jobs.json", () => {
  it("loads its full count, with unique names", () => {
    // Prepare
    const names = doc.vectors.map((v) => v.name);

    // Act
    const unique = new Set(names);

    // Assess
    expect(doc.vectors.length).toBe(doc.count);
    expect(unique.size).toBe(names.length);
    expect(new Set(doc.vectors.map((v) => v.kind))).toEqual(
      new Set(["run", "submit", "job", "list", "error", "rerank", "readiness"]),
    );
  });

  for (const vector of doc.vectors) {
    it(`${vector.kind} ${vector.name}`, async () => {
      await check(vector);
    });
  }
});

async function check(vector: Vector): Promise<void> {
  const v = vector as Record<string, unknown>;
  switch (vector.kind) {
    case "run": {
      // Prepare
      const fetch = fakeFetch(...(v.answers as Answer[]).map(reply));
      const ep = endpoint(fetch, v.workload as string);
      const args = camelArgs(v.args as Record<string, unknown>);
      const helper = v.helper as string;
      const call =
        helper === "jobs.rerank"
          ? ep.jobs.rerank(args as never)
          : helper === "jobs.classify"
            ? ep.jobs.classify(args as never)
            : helper === "jobs.reward"
              ? ep.jobs.reward(args as never)
              : helper === "classify"
                ? ep.classify(args as never)
                : ep.reward(args as never);

      // Act
      const result = await settle(call as Promise<unknown>);

      // Assess
      const request = v.request as { method: string; path: string; body: unknown };
      expect(fetch.calls[0]?.method).toBe(request.method);
      expect(new URL(fetch.calls[0]?.url ?? "").pathname).toBe(request.path);
      expect(fetch.calls[0]?.body).toStrictEqual(request.body);
      expect(fetch.calls[0]?.headers["idempotency-key"]).toMatch(/^[\x20-\x7e]{1,255}$/);
      expect(fetch.calls.slice(1).map((c) => c.method)).toEqual(["GET", "GET"]);
      expect(fetch.calls.slice(1).map((c) => new URL(c.url).searchParams.get("wait"))).toEqual(["20", "20"]);
      expect(neutral(result)).toEqual(v.expected);
      return;
    }
    case "submit": {
      // Prepare
      const fetch = fakeFetch(...(v.answers as Answer[]).map(reply));
      const args = v.args as Record<string, unknown>;
      const request = v.request as { path: string; body: unknown; idempotency_key: string | null };
      const expected = v.expected as Record<string, unknown>;

      // Act
      const job = await settle(endpoint(fetch, v.workload as string).submitJob(camelArgs(args) as never));

      // Assess
      expect(new URL(fetch.calls[0]?.url ?? "").pathname).toBe(request.path);
      for (const call of fetch.calls) expect(call.body).toStrictEqual(request.body);
      const keys = fetch.calls.map((c) => c.headers["idempotency-key"]);
      if (request.idempotency_key !== null) expect(keys).toEqual([request.idempotency_key]);
      if (expected.requests !== undefined) expect(fetch.calls.length).toBe(expected.requests);
      if (expected.same_generated_key === true) {
        expect(keys[0]).toMatch(/^[\x20-\x7e]{1,255}$/);
        expect(new Set(keys).size).toBe(1);
      }
      const read = neutralJob(job as Job);
      for (const field of ["id", "status", "terminal", "idempotency_key", "webhook_url", "webhook_delivery_status"]) {
        if (field in expected) expect(read[field], field).toEqual(expected[field]);
      }
      return;
    }
    case "job": {
      // Prepare
      const fetch = fakeFetch(reply(v.answer as Answer));

      // Act
      const job = await endpoint(fetch, "w").getJob("job_01JZ8Q7R2M3N4P5Q6R7S8T9V0W");

      // Assess
      const read = neutralJob(job);
      for (const [field, want] of Object.entries(v.expected as Record<string, unknown>)) {
        expect(read[field], field).toEqual(want);
      }
      return;
    }
    case "list": {
      // Prepare
      const fetch = fakeFetch(...(v.answers as Answer[]).map(reply));
      const args = v.args as { status: string; limit: number };
      const expected = v.expected as { ids: string[]; queries: Array<Record<string, string>> };

      // Act
      const ids: string[] = [];
      for await (const job of endpoint(fetch, v.workload as string).listAllJobs(args)) ids.push(job.id);

      // Assess
      expect(ids).toEqual(expected.ids);
      expect(fetch.calls.map((c) => Object.fromEntries(new URL(c.url).searchParams))).toEqual(expected.queries);
      return;
    }
    case "error": {
      // Prepare
      const answer = { status: v.status as number, body: v.body, headers: v.headers as Record<string, string> };
      const fetch = fakeFetch(reply(answer), reply(answer));
      const ep = endpoint(fetch, "sentiment");
      const expected = v.expected as { class: { typescript: string }; code: string; message: string; request_id: string };
      const call =
        v.call === "get_job"
          ? ep.getJob("job_missing")
          : v.call === "cancel_job"
            ? ep.cancelJob("job_01")
            : ep.submitJob({ input: { input: "great product" }, idempotencyKey: "order-42" });

      // Act
      const error = await settle(call.then(() => undefined, (e: unknown) => e));

      // Assess
      const expectedClass = (sdk as Record<string, unknown>)[expected.class.typescript];
      expect(error).toBeInstanceOf(InferenceKeyError);
      expect((error as object).constructor).toBe(expectedClass);
      expect(error).toMatchObject({ status: v.status, code: expected.code, message: expected.message, requestId: expected.request_id });
      expect(fetch.calls.length, "not retried").toBe(1);
      return;
    }
    case "rerank": {
      // Prepare
      const fetch = fakeFetch(...(v.answers as Answer[]).map(reply));
      const request = v.request as { path: string; body: unknown };

      // Act
      const out = await endpoint(fetch, v.workload as string).rerank(camelArgs(v.args as Record<string, unknown>) as never);

      // Assess
      expect(new URL(fetch.calls[0]?.url ?? "").pathname).toBe(request.path);
      expect(fetch.calls[0]?.body).toStrictEqual(request.body);
      expect({ id: out.id, model: out.model, ...neutral(out) }).toEqual(v.expected);
      return;
    }
    case "readiness": {
      // Prepare
      const streams = (v.streams as string[]).map((text) => scriptedSse([text]).response);
      const fetch = fakeFetch(...streams);
      const mgmt = new ManagementClient({ token: TOKEN, project: "acme", baseUrl: BASE_URL, fetch });
      const seen: ReadinessEvent[] = [];
      const expected = v.expected as { outcome: string; phases: string[]; last?: Record<string, unknown>; message?: string };

      // Act
      const outcome = await settle(
        mgmt.waitUntilReady(v.workload as string, { onProgress: (e) => seen.push(e) }).then(
          (last) => ({ last }),
          (error: unknown) => ({ error }),
        ),
      );

      // Assess
      const request = v.request as { path: string; accept: string };
      for (const call of fetch.calls) {
        expect(new URL(call.url).pathname).toBe(request.path);
        expect(call.headers.accept).toBe(request.accept);
      }
      expect(fetch.calls.length).toBe(streams.length);
      expect(seen.map((e) => e.phase)).toEqual(expected.phases);
      if (expected.outcome === "ready") {
        const last = (outcome as { last: ReadinessEvent }).last;
        expect({ phase: last.phase, message: last.message, elapsed_ms: last.elapsedMs, step: last.step }).toEqual(expected.last);
      } else {
        const error = (outcome as { error: unknown }).error;
        expect(error).toBeInstanceOf(sdk.WorkloadNotReadyError);
        expect((error as Error).message).toBe(expected.message);
      }
      return;
    }
  }
}
