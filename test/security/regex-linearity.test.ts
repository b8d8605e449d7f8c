import type { IncomingMessage } from "node:http";
import { parsePrometheusText, shellQuote } from "@inferencekey/agent";
import {
  bearer,
  closest,
  extractUsage,
  hasPrefix,
  isWellFormedSecret,
  parseCron,
  parseEndpointPath,
  parseIdempotencyKey,
  parseJsonBody,
  parseTimeZone,
  parseWindow,
  validateSpec,
} from "@inferencekey/core";
import { describe, expect, it } from "vitest";
import { requestUrl } from "../../packages/local/src/node-http";

/**
 * Every pattern that reads user input runs in time linear in its input and behind a length cap.
 * Each case feeds the code path that applies the pattern (not the bare regex: the cap is part of
 * the promise) an input built to make a backtracking pattern retry at every position, at 16 KiB and
 * at 256 KiB. Linear code takes about 16x longer on the larger input; capped code about as long;
 * a quadratic one about 256x (main's vllm_version pattern: 14.2 s on 100k digits).
 *
 * Timing: the fastest of 5 runs each, and anything under 1 ms counts as 1 ms, so timer resolution
 * and a stray GC pause on a microsecond-long call cannot fail the test; a quadratic path on 256 KiB
 * takes seconds, far past 16 ms.
 */
const SMALL = 16 * 1024;
const LARGE = 256 * 1024;
const RUNS = 5;
const FLOOR_MS = 1;

const spec = { name: "x", slug: "x", model: "org/model", backend: "vllm" };
const run = (n: number, c = "1") => c.repeat(n);

interface Case {
  name: string;
  /** An adversarial input of about `size` characters. */
  input(size: number): string;
  /** The code path that applies the pattern to it. */
  apply(input: string): unknown;
}

const CASES: Case[] = [
  { name: "spec vllm_version (digits that two parts could share)", input: (n) => `1.1${run(n)}!`, apply: (v) => validateSpec({ ...spec, vllm_version: v }) },
  { name: "spec slug (and its suggestion's hyphen trimming)", input: (n) => `a${run(n, "-")}!`, apply: (v) => validateSpec({ ...spec, slug: v }) },
  { name: "spec model (no whitespace)", input: (n) => `${run(n, "a")} `, apply: (v) => validateSpec({ ...spec, model: v }) },
  { name: "spec worker_id", input: (n) => `wrk_${run(n, "a")}!`, apply: (v) => validateSpec({ ...spec, worker_id: v }) },
  {
    name: "spec allowed_cuda_versions",
    input: (n) => `1.${run(n)}!`,
    apply: (v) => validateSpec({ ...spec, execution_policy: "autoscaling", execution_policy_config: { min_workers: 0, max_workers: 1, workers: { source: "cloud", cloud_pool: { gpu_types: ["L4"], allowed_cuda_versions: [v] } } } }),
  },
  { name: "unknown spec field names (typo suggestions)", input: (n) => run(n, "x"), apply: (v) => validateSpec({ ...spec, [v]: 1 }) },
  { name: "schedule window (whitespace around 'to' and separators)", input: (n) => `mon-fri 09:00${run(n, " ")}x`, apply: (v) => parseWindow(v) },
  { name: "schedule window (a run of spaces)", input: (n) => `${run(n, " ")}to x`, apply: (v) => parseWindow(v) },
  { name: "cron expression", input: (n) => `${run(n, " ")}x`, apply: (v) => parseCron(v) },
  { name: "time zone (offset form)", input: (n) => `UTC${run(n, " ")}+1x`, apply: (v) => parseTimeZone(v) },
  { name: "time zone (name)", input: (n) => `Europe/${run(n, "a")}`, apply: (v) => parseTimeZone(v) },
  { name: "Authorization: Bearer", input: (n) => `Bearer ${run(n, " ")}x${run(n, " ")}!`, apply: (v) => bearer(v) },
  { name: "Authorization: Bearer (long credential)", input: (n) => `Bearer ${run(n, "a")} b`, apply: (v) => bearer(v) },
  { name: "secret shape and checksum", input: (n) => `ik_live_${run(n, "a")}`, apply: (v) => isWellFormedSecret("live", v) },
  { name: "Idempotency-Key", input: (n) => `${run(n, "a")} `, apply: (v) => { try { return parseIdempotencyKey(v, "scope"); } catch { return undefined; } } },
  { name: "prefixed ids (x-request-id, worker ids)", input: (n) => `req_${run(n, "a")}!`, apply: (v) => hasPrefix(v, "req") },
  { name: "endpoint path", input: (n) => `/endpoint/${run(n, "a")}-/${run(n, "b")}/v1/chat/completions`, apply: (v) => parseEndpointPath(v) },
  {
    name: "request target and Host header",
    input: (n) => `/${run(n, "a")}%`,
    apply: (v) => requestUrl({ url: v, headers: { host: `${run(v.length, "a")}:` } } as unknown as IncomingMessage, "http://127.0.0.1:1"),
  },
  { name: "JSON body depth scan", input: (n) => `{"a":"${run(n, "[")}"}`, apply: (v) => { try { return parseJsonBody(v); } catch { return undefined; } } },
  { name: "usage object in a replica's answer", input: (n) => `{"usage": {"prompt_tokens"${run(n, " ")}:x}}`, apply: (v) => extractUsage(v) },
  { name: "Prometheus metrics from a backend", input: (n) => `vllm:num_requests_running{a="${run(n, "\\\\")}"} 1\n${run(n, " ")}x`, apply: (v) => parsePrometheusText(v) },
  { name: "shell quoting of spec values", input: (n) => `${run(n, "a")}'`, apply: (v) => shellQuote(v) },
  { name: "typo suggestions", input: (n) => run(n, "a"), apply: (v) => closest(v, ["vllm", "sglang", "ollama"]) },
];

function fastestMs(apply: (input: string) => unknown, input: string): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    try {
      apply(input);
    } catch {
      // Refusals are answers too: only the time matters here.
    }
    best = Math.min(best, performance.now() - started);
  }
  return Math.max(best, FLOOR_MS);
}

describe("every pattern that reads user input is linear and length-capped", () => {
  it.each(CASES)("$name: 256 KiB takes at most 16x the time of 16 KiB", ({ input, apply }) => {
    // Prepare
    const small = input(SMALL);
    const large = input(LARGE);
    fastestMs(apply, small);

    // Act
    const smallMs = fastestMs(apply, small);
    const largeMs = fastestMs(apply, large);

    // Assess
    expect(largeMs, `16 KiB: ${smallMs.toFixed(2)} ms, 256 KiB: ${largeMs.toFixed(2)} ms`).toBeLessThanOrEqual(16 * smallMs);
  });
});
