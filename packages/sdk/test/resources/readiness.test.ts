import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ManagementClient, NotFoundError, WaitTimeoutError, WorkloadNotReadyError } from "../../src";
import { HttpClient } from "../../src/http/http-client";
import { type ProgressSink, progressReporter, toReadinessEvent, waitUntilReady } from "../../src/resources/readiness";
import { connectionReset, fakeFetch, wireError } from "../helpers/fake-fetch";
import { BASE_URL, TOKEN } from "../helpers/fixtures";
import { scriptedSse, sseEvent } from "../helpers/streams";

const event = (phase: string, step: number, elapsedMs = step * 1000, message = `${phase} now`) => ({
  phase,
  message,
  elapsed_ms: elapsedMs,
  step,
});

function sink(isTTY: boolean): ProgressSink & { text: () => string } {
  const parts: string[] = [];
  return { isTTY, write: (t: string) => parts.push(t), text: () => parts.join("") };
}

function http(fetch: ReturnType<typeof fakeFetch>): HttpClient {
  return new HttpClient({ baseUrl: BASE_URL, token: TOKEN, fetch });
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("progress views", () => {
  it("redraws one line in place on a terminal and ends it with a newline", () => {
    // Prepare
    const out = sink(true);
    const reporter = progressReporter("support-bot", "auto", out);

    // Act
    reporter.report({ phase: "pulling", message: "weights", elapsedMs: 1500, step: 4 });
    reporter.report({ phase: "ready", message: "1/1 ready", elapsedMs: 9000, step: 6 });
    reporter.end();

    // Assess
    expect(out.text()).toBe(
      "\r\x1b[2Ksupport-bot: pulling - weights (step 4, 1.5 s)\r\x1b[2Ksupport-bot: ready - 1/1 ready (step 6, 9.0 s)\n",
    );
  });

  it("prints plain lines when stderr is not a terminal, and nothing when silent", () => {
    // Prepare
    const plain = sink(false);
    const quiet = sink(true);

    // Act
    progressReporter("w", "auto", plain).report({ phase: "starting", message: "", elapsedMs: 200, step: 5 });
    const silent = progressReporter("w", "silent", quiet);
    silent.report({ phase: "starting", message: "", elapsedMs: 200, step: 5 });
    silent.end();

    // Assess
    expect(plain.text()).toBe("w: starting (step 5, 0.2 s)\n");
    expect(quiet.text()).toBe("");
  });
});

describe("toReadinessEvent", () => {
  it("reads a step written as a string (the vendor surface) and skips what is not an event", () => {
    // Prepare
    const vendor = '{"phase":"pulling","message":"weights","elapsed_ms":1500,"step":"4"}';

    // Act
    const read = [toReadinessEvent(vendor), toReadinessEvent("not json"), toReadinessEvent('{"message":"no phase"}')];

    // Assess
    expect(read).toEqual([{ phase: "pulling", message: "weights", elapsedMs: 1500, step: 4 }, undefined, undefined]);
  });
});

describe("waitUntilReady", () => {
  it("draws the default view on the given stderr and returns the ready event", async () => {
    // Prepare
    const body = scriptedSse([sseEvent(event("starting", 5)), sseEvent(event("ready", 6))]);
    const out = sink(false);

    // Act
    const ready = await waitUntilReady(http(fakeFetch(body.response)), "acme", "support-bot", {}, out);

    // Assess
    expect(ready).toEqual({ phase: "ready", message: "ready now", elapsedMs: 6000, step: 6 });
    expect(out.text().split("\n").filter(Boolean)).toHaveLength(2);
  });

  it("reconnects when the connection drops mid-stream", async () => {
    // Prepare: the first body breaks after one event, as a reset connection does.
    const encoder = new TextEncoder();
    let pulled = 0;
    const broken = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled++ === 0) controller.enqueue(encoder.encode(sseEvent(event("pulling", 4))));
        else controller.error(new TypeError("terminated"));
      },
    });
    const second = scriptedSse([sseEvent(event("ready", 6))]);
    const fetch = fakeFetch(new Response(broken, { status: 200 }), connectionReset(), second.response);
    const phases: string[] = [];

    // Act
    const waited = waitUntilReady(http(fetch), "acme", "support-bot", { onProgress: (e) => phases.push(e.phase) });
    await vi.advanceTimersByTimeAsync(20_000);
    const ready = await waited;

    // Assess
    expect(ready.phase).toBe("ready");
    expect(phases).toEqual(["pulling", "ready"]);
    expect(fetch.calls).toHaveLength(3);
  });

  it("reconnects when a stream goes silent for 45 s (a dead connection), not before", async () => {
    // Prepare
    const silent = scriptedSse([sseEvent(event("pulling", 4))], { hang: true });
    const second = scriptedSse([sseEvent(event("ready", 6))]);
    const fetch = fakeFetch(silent.response, second.response);

    // Act
    const waited = waitUntilReady(http(fetch), "acme", "w", { silent: true });
    await vi.advanceTimersByTimeAsync(44_000);
    const before = fetch.calls.length;
    await vi.advanceTimersByTimeAsync(10_000);
    const ready = await waited;

    // Assess
    expect(before).toBe(1);
    expect(ready.phase).toBe("ready");
    expect(fetch.calls).toHaveLength(2);
    expect(silent.cancelled()).toBe(true);
  });

  it("throws WorkloadNotReadyError with the reason of an error event", async () => {
    // Prepare
    const body = scriptedSse([sseEvent(event("error", 6, 1900, "exited with code 127: vllm: not found"))]);

    // Act
    const error = await waitUntilReady(http(fakeFetch(body.response)), "acme", "w", { silent: true }).catch(
      (e: unknown) => e,
    );

    // Assess
    expect(error).toBeInstanceOf(WorkloadNotReadyError);
    expect(error).toMatchObject({
      code: "workload_not_ready",
      message: "exited with code 127: vllm: not found",
      phase: "error",
      step: 6,
      elapsedMs: 1900,
    });
  });

  it("throws WaitTimeoutError naming the last phase when the timeout runs out", async () => {
    // Prepare: one event, then a stream that stays open with nothing more.
    const body = scriptedSse([sseEvent(event("pulling", 4))], { hang: true });

    // Act
    const waited = waitUntilReady(http(fakeFetch(body.response)), "acme", "w", { timeoutMs: 5_000, silent: true }).catch(
      (e: unknown) => e,
    );
    await vi.advanceTimersByTimeAsync(5_001);
    const error = await waited;

    // Assess
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as WaitTimeoutError).message).toMatch(/last phase: pulling/);
    expect((error as WaitTimeoutError).last).toMatchObject({ phase: "pulling" });
    expect(body.cancelled()).toBe(true);
  });

  it("prints nothing when silent and gives each event to onProgress instead of the view", async () => {
    // Prepare
    const out = sink(false);
    const ready = () => scriptedSse([sseEvent(event("ready", 6))]).response;
    const seen: string[] = [];

    // Act
    await waitUntilReady(http(fakeFetch(ready())), "acme", "w", { silent: true }, out);
    await waitUntilReady(http(fakeFetch(ready())), "acme", "w", { onProgress: (e) => seen.push(e.phase) }, out);

    // Assess
    expect(out.text()).toBe("");
    expect(seen).toEqual(["ready"]);
  });

  it("throws a 404 at once rather than reconnecting", async () => {
    // Prepare
    const fetch = fakeFetch(wireError(404, "not_found", "workload not found"));
    const mgmt = new ManagementClient({ token: TOKEN, project: "acme", baseUrl: BASE_URL, fetch });

    // Act
    const error = await mgmt.waitUntilReady("missing", { silent: true }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(NotFoundError);
    expect(fetch.calls).toHaveLength(1);
    expect(new URL(fetch.calls[0]?.url ?? "").pathname).toBe("/v1/projects/acme/workloads/missing/readiness-events");
    expect(fetch.calls[0]?.headers.accept).toBe("text/event-stream");
    expect(fetch.calls[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });
});
