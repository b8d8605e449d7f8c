import { SseDecoder } from "../data/sse";
import { ConfigurationError, InferenceKeyError, WaitTimeoutError, WorkloadNotReadyError } from "../errors";
import { type HttpClient, isRecord } from "../http/http-client";
import { backoffDelay, defaultSleep, isTransient } from "../http/retry";
import type { OpenLiteral } from "../spec";
import { pathOf } from "./paths";

/**
 * The phases a workload goes through on its way to serving, in order: `scheduling`, `placing`,
 * `launching` (a node), `pulling`, `starting`, `ready`; or `error`, when it cannot get there.
 *
 * @example
 * ```ts
 * const phase: ReadinessPhase = (await mgmt.waitUntilReady("support-bot")).phase; // "ready"
 * ```
 */
export type ReadinessPhase = OpenLiteral<
  "scheduling" | "placing" | "launching" | "pulling" | "starting" | "ready" | "error"
>;

/**
 * One readiness event: the `phase`, a human `message`, the `elapsedMs` since the workload's
 * generation was accepted, and its `step` (1 for the first phase).
 *
 * @example
 * ```ts
 * await mgmt.waitUntilReady("support-bot", {
 *   progress: (event: ReadinessEvent) => console.log(`[${event.step}] ${event.phase}: ${event.message}`),
 * });
 * ```
 */
export interface ReadinessEvent {
  phase: ReadinessPhase;
  message: string;
  elapsedMs: number;
  step: number;
}

/**
 * Options of `waitUntilReady()` (the vendor SDK's, camelCased). By default progress is drawn on
 * stderr: one line redrawn in place when stderr is a terminal, one plain line per event otherwise.
 * `onProgress` receives every event instead; `silent: true` prints nothing. `timeoutMs` bounds the
 * whole wait (default 900 000, 15 minutes); `signal` cancels it.
 *
 * @example
 * ```ts
 * const options: WaitUntilReadyOptions = { timeoutMs: 600_000, silent: true };
 * await mgmt.waitUntilReady("support-bot", options);
 * ```
 */
export interface WaitUntilReadyOptions {
  timeoutMs?: number | undefined;
  onProgress?: ((event: ReadinessEvent) => void) | undefined;
  silent?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

/** What the caller asked to see: each event given to a function, nothing, or the default view. */
type ProgressMode = "auto" | "silent" | ((event: ReadinessEvent) => void);

/** What the default progress view writes to: stderr, or a test's stand-in. */
export interface ProgressSink {
  isTTY?: boolean | undefined;
  write(text: string): unknown;
}

const DEFAULT_READY_TIMEOUT_MS = 900_000;
/** Without a byte for this long (keep-alives come every 15 s) the stream counts as dropped. */
const IDLE_STREAM_MS = 45_000;
const RECONNECT_BACKOFF = { initialDelayMs: 500, maxDelayMs: 5_000, maxRetryAfterMs: 5_000, jitter: 0.25 };

function stderr(): ProgressSink | undefined {
  const proc = (globalThis as { process?: { stderr?: ProgressSink } }).process;
  return proc?.stderr;
}

/** The reporter `progress` asks for: a function of each event, and what to do at the end. */
export function progressReporter(
  slug: string,
  progress: ProgressMode,
  sink: ProgressSink | undefined = stderr(),
): { report(event: ReadinessEvent): void; end(): void } {
  if (typeof progress === "function") return { report: progress, end: () => undefined };
  if (progress === "silent" || sink === undefined) return { report: () => undefined, end: () => undefined };
  const line = (e: ReadinessEvent) =>
    `${slug}: ${e.phase}${e.message === "" ? "" : ` - ${e.message}`} (step ${e.step}, ${(e.elapsedMs / 1000).toFixed(1)} s)`;
  if (sink.isTTY === true) {
    let drawn = false;
    return {
      // Carriage return and erase-line: one line, redrawn in place.
      report: (event) => {
        sink.write(`\r\x1b[2K${line(event)}`);
        drawn = true;
      },
      end: () => {
        if (drawn) sink.write("\n");
      },
    };
  }
  return { report: (event) => sink.write(`${line(event)}\n`), end: () => undefined };
}

/** A readiness event read defensively from one SSE `data:` payload; undefined when it is not one. */
export function toReadinessEvent(data: string): ReadinessEvent | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || typeof parsed.phase !== "string") return undefined;
  // The vendor surface (/api) writes `step` as a string; /v1 as a number: read both.
  const number = (value: unknown) => {
    const parsed = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
    return typeof parsed === "number" && Number.isFinite(parsed) ? parsed : 0;
  };
  return {
    phase: parsed.phase,
    message: typeof parsed.message === "string" ? parsed.message : "",
    elapsedMs: number(parsed.elapsed_ms),
    step: number(parsed.step),
  };
}

/**
 * Reads a body chunk; rejects with the signal's reason when it aborts first, and with a TypeError
 * (a dropped stream, reconnected) when nothing arrives for {@link IDLE_STREAM_MS}.
 */
function readOrAbort(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  signal: AbortSignal,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(idle);
      signal.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      done();
      reject(signal.reason);
    };
    const idle = setTimeout(() => {
      done();
      reject(new TypeError(`the readiness stream sent nothing for ${IDLE_STREAM_MS / 1000} s`));
    }, IDLE_STREAM_MS);
    signal.addEventListener("abort", onAbort, { once: true });
    reader.read().then(
      (result) => {
        done();
        resolve(result);
      },
      (error: unknown) => {
        done();
        reject(error);
      },
    );
  });
}

/**
 * Follows `GET /v1/projects/{p}/workloads/{slug}/readiness-events` until `ready` (returned) or
 * `error` (thrown as WorkloadNotReadyError), reconnecting when the stream drops.
 */
export async function waitUntilReady(
  http: HttpClient,
  project: string,
  slug: string,
  options: WaitUntilReadyOptions = {},
  sink: ProgressSink | undefined = stderr(),
): Promise<ReadinessEvent> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new ConfigurationError(`timeoutMs must be a positive number of milliseconds, got ${timeoutMs}.`);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== "function") {
    throw new ConfigurationError(`onProgress must be a function of each readiness event, got ${typeof options.onProgress}.`);
  }
  const reporter = progressReporter(slug, options.onProgress ?? (options.silent === true ? "silent" : "auto"), sink);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  const signal = options.signal === undefined ? deadline.signal : AbortSignal.any([options.signal, deadline.signal]);
  let last: ReadinessEvent | undefined;
  let reconnects = 0;
  try {
    for (;;) {
      let sawEvent = false;
      try {
        const response = await http.response({
          method: "GET",
          path: pathOf`/v1/projects/${project}/workloads/${slug}/readiness-events`,
          headers: { accept: "text/event-stream" },
          signal,
          // The headers come quickly; the body is bounded by the deadline, not by this.
          timeoutMs: Math.min(60_000, timeoutMs),
        });
        const reader = response.body?.getReader();
        if (reader === undefined) {
          throw new InferenceKeyError({ code: "invalid_response", message: "The readiness stream had no body." });
        }
        const decoder = new TextDecoder();
        const sse = new SseDecoder();
        try {
          for (;;) {
            const { done, value } = await readOrAbort(reader, signal);
            const events = done ? sse.end() : sse.push(decoder.decode(value, { stream: true }));
            for (const raw of events) {
              const event = toReadinessEvent(raw.data);
              if (event === undefined) continue;
              sawEvent = true;
              last = event;
              reporter.report(event);
              if (event.phase === "ready") return event;
              if (event.phase === "error") {
                throw new WorkloadNotReadyError({
                  message: event.message || `Workload ${slug} reported an error before it was ready.`,
                  phase: event.phase,
                  step: event.step,
                  elapsedMs: event.elapsedMs,
                });
              }
            }
            if (done) break;
          }
        } finally {
          reader.cancel().catch(() => undefined);
        }
      } catch (error) {
        if (deadline.signal.aborted && !(options.signal?.aborted ?? false)) break;
        if (options.signal?.aborted) throw options.signal.reason;
        if (error instanceof WorkloadNotReadyError) throw error;
        // A dropped stream (a reset, a proxy's idle cut, a restarting API) is followed again.
        const dropped = error instanceof TypeError || (error instanceof InferenceKeyError && isTransient(error));
        if (!dropped) throw error;
      }
      // The stream ended (or dropped) before ready: reconnect, sooner when it had been making progress.
      if (sawEvent) reconnects = 0;
      await defaultSleep(backoffDelay(reconnects, RECONNECT_BACKOFF, Math.random), signal).catch(() => undefined);
      reconnects++;
      if (deadline.signal.aborted && !(options.signal?.aborted ?? false)) break;
      if (options.signal?.aborted) throw options.signal.reason;
    }
    throw new WaitTimeoutError({
      message: `Workload ${slug} was not ready after ${timeoutMs} ms${last === undefined ? "" : ` (last phase: ${last.phase}: ${last.message})`}; it keeps starting.`,
      last,
    });
  } finally {
    clearTimeout(timer);
    reporter.end();
  }
}
