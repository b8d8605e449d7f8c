import { type Readiness, readinessStep } from "../workloads/readiness";

/** One readiness event on the wire (docs/api.md, "Readiness events"). */
export interface ReadinessEventBody {
  phase: Readiness["phase"];
  message: string;
  /** Since the stream opened. */
  elapsed_ms: number;
  /** 1-based position of the phase (`error`: the step it failed at). */
  step: number;
}

export interface ReadinessStreamOptions {
  /** How often the workload's state is read again. Default 1000 ms. */
  pollMs?: number;
  /** A `:` comment line this often keeps proxies from closing a quiet stream. Default 15000 ms. */
  keepAliveMs?: number;
  /** The stream closes after this long without `ready` or `error` (the client reconnects). Default 15 min. */
  maxMs?: number;
  /**
   * Ends the stream: the client went away, or the server ends it (a Lambda invocation's deadline).
   * A last comment then tells the client to reconnect (lost on a client already gone).
   */
  signal?: AbortSignal;
  /** Shapes an event for its surface (the vendor surface writes `step` as a string). */
  format?: (event: ReadinessEventBody) => unknown;
}

export const READINESS_STREAM_DEFAULTS = { pollMs: 1000, keepAliveMs: 15_000, maxMs: 15 * 60_000 } as const;

/**
 * A `text/event-stream` response of a workload's readiness: the current phase at once, then an
 * event each time the phase or its message changes, until `ready` or `error` (or `maxMs`). `first`
 * is the readiness already read by the caller, so a refused or unknown workload is answered as a
 * plain error before any stream starts; `read` reads it again (a throw ends the stream with `error`).
 */
export function readinessEventStream(first: Readiness, read: () => Promise<Readiness>, options: ReadinessStreamOptions = {}): Response {
  const pollMs = options.pollMs ?? READINESS_STREAM_DEFAULTS.pollMs;
  const keepAliveMs = options.keepAliveMs ?? READINESS_STREAM_DEFAULTS.keepAliveMs;
  const maxMs = options.maxMs ?? READINESS_STREAM_DEFAULTS.maxMs;
  const format = options.format ?? ((event: ReadinessEventBody) => event);
  const encoder = new TextEncoder();
  const opened = performance.now();
  let closed = false;
  /** Ended by `signal`, not by reaching ready/error or the lifetime: the last comment says to reconnect. */
  let endedBySignal = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    closed = true;
    wake?.();
  };
  const endBySignal = () => {
    endedBySignal = true;
    stop();
  };
  options.signal?.addEventListener("abort", endBySignal, { once: true });

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (text: string) => {
        if (!closed) controller.enqueue(encoder.encode(text));
      };
      let last: Readiness | undefined;
      let lastStep = 1;
      let lastWrite = performance.now();
      const emit = (readiness: Readiness) => {
        if (readiness.phase !== "error") lastStep = readinessStep(readiness.phase);
        const event: ReadinessEventBody = {
          phase: readiness.phase,
          message: readiness.message,
          elapsed_ms: Math.round(performance.now() - opened),
          step: readiness.phase === "error" ? lastStep : readinessStep(readiness.phase),
        };
        send(`data: ${JSON.stringify(format(event))}\n\n`);
        lastWrite = performance.now();
        last = readiness;
      };
      // Keep-alives run on their own timer: a store read slow to answer (a busy table, a cold
      // client) never leaves the stream silent past the interval, whatever the poll is doing.
      const keepAlive = setInterval(
        () => {
          if (performance.now() - lastWrite < keepAliveMs) return;
          send(": keep-alive\n\n");
          lastWrite = performance.now();
        },
        Math.max(50, Math.min(1000, keepAliveMs / 4)),
      );
      try {
        emit(first);
        while (!closed && last?.phase !== "ready" && last?.phase !== "error") {
          const elapsed = performance.now() - opened;
          if (elapsed >= maxMs) {
            send(": the stream's lifetime is over; reconnect to keep following\n\n");
            break;
          }
          await sleep(Math.min(pollMs, maxMs - elapsed));
          if (closed) break;
          let next: Readiness;
          try {
            next = await read();
          } catch (error) {
            next = { phase: "error", message: error instanceof Error ? error.message : "the workload could not be read" };
          }
          if (next.phase !== last?.phase || next.message !== last?.message) emit(next);
        }
      } finally {
        clearInterval(keepAlive);
        options.signal?.removeEventListener("abort", endBySignal);
        closed = true;
        try {
          if (endedBySignal) controller.enqueue(encoder.encode(": the server ends this stream; reconnect to keep following\n\n"));
          controller.close();
        } catch {
          // Already cancelled by the client.
        }
      }
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      // Proxies (nginx) would buffer the events otherwise.
      "x-accel-buffering": "no",
    },
  });
}
