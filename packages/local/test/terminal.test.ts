import type { DataPlaneRequest } from "@inferencekey/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { formatDecisionLine, formatRequestLine, Terminal } from "../src/terminal";

const request = (over: Partial<DataPlaneRequest> = {}): DataPlaneRequest => ({
  project: "acme",
  workload: "support-bot",
  method: "POST",
  route: "chat/completions",
  status: 200,
  latencyMs: 12.4,
  keyId: "key_7hVq",
  ...over,
});

function terminal(options: { requestLinesPerSecond?: number } = {}) {
  let now = Date.parse("2026-06-01T10:00:00.100Z");
  const lines: string[] = [];
  const term = new Terminal({ write: (line) => lines.push(line), nowMs: () => now, ...options });
  return { term, lines, advance: (ms: number) => (now += ms) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("terminal: data-plane lines", () => {
  it("a request line names the workload, route, status, milliseconds and key id", () => {
    expect(formatRequestLine(request())).toBe("acme/support-bot  POST /v1/chat/completions 200 12 ms key_7hVq");
    const { keyId: _, ...refused } = request({ status: 401 });
    expect(formatRequestLine(refused)).toBe("acme/support-bot  POST /v1/chat/completions 401 12 ms key refused");
  });

  it("past the per-second limit, the rest of the second becomes one summary line per workload", () => {
    // Prepare
    const { term, lines, advance } = terminal({ requestLinesPerSecond: 3 });

    // Act: 8 requests in one second over two workloads, then one in the next second.
    for (let i = 0; i < 3; i++) term.request(request());
    term.request(request({ status: 503, latencyMs: 2 }));
    term.request(request({ latencyMs: 40, keyId: "key_other" }));
    term.request(request({ workload: "reranker", route: "rerank", latencyMs: 7 }));
    term.request(request({ workload: "reranker", route: "rerank", latencyMs: 9 }));
    term.request(request({ workload: "reranker", route: "rerank", latencyMs: 11 }));
    advance(1000);
    term.request(request({ latencyMs: 5 }));

    // Assess
    expect(lines).toEqual([
      "acme/support-bot  POST /v1/chat/completions 200 12 ms key_7hVq",
      "acme/support-bot  POST /v1/chat/completions 200 12 ms key_7hVq",
      "acme/support-bot  POST /v1/chat/completions 200 12 ms key_7hVq",
      "acme/support-bot  +2 more requests this second: 200 x1, 503 x1; 21 ms avg, 40 ms max; 2 keys",
      "acme/reranker  +3 more requests this second: 200 x3; 9 ms avg, 11 ms max; 1 key",
      "acme/support-bot  POST /v1/chat/completions 200 5 ms key_7hVq",
    ]);
  });

  it("a summary is printed when its second ends, even if no request follows", () => {
    // Prepare
    vi.useFakeTimers();
    const { term, lines } = terminal({ requestLinesPerSecond: 1 });
    term.request(request());
    term.request(request());

    // Act
    vi.advanceTimersByTime(1000);

    // Assess
    expect(lines.at(-1)).toBe("acme/support-bot  +1 more request this second: 200 x1; 12 ms avg, 12 ms max; 1 key");
    term.close();
  });
});

describe("terminal: decisions and events", () => {
  it("a decision is printed with its reason when the count wanted changes or its wording does, not when only its numbers do", () => {
    // Prepare
    const { term, lines } = terminal();
    const change = (decision: string, previousDesired: number | undefined, desired: number) =>
      term.decision({ project: "acme", workload: "support-bot", decision, desired, ...(previousDesired === undefined ? {} : { previousDesired }) });

    // Act
    change("scaling 0 -> 1: a request arrived with no replica ready", 0, 1);
    change("steady at 1: 2.72 requests/min", 1, 1);
    change("steady at 1: 1.5 requests/min", 1, 1);
    change("holding 2: no load, waiting 300 s more before scaling down", 2, 2);
    change("holding 2: no load, waiting 298 s more before scaling down", 2, 2);
    change("window open, closes 2026-06-01T18:00:00.000Z", undefined, 1);

    // Assess
    expect(lines).toEqual([
      "acme/support-bot  controller: wants 1 replica (was 0): scaling 0 -> 1: a request arrived with no replica ready",
      "acme/support-bot  controller: steady at 1: 2.72 requests/min",
      "acme/support-bot  controller: holding 2: no load, waiting 300 s more before scaling down",
      "acme/support-bot  controller: wants 1 replica: window open, closes 2026-06-01T18:00:00.000Z",
    ]);
  });

  it("decision lines of two workloads do not silence each other", () => {
    const a = formatDecisionLine({ project: "acme", workload: "a", decision: "fixed at 2 replicas", desired: 2, previousDesired: 0 });
    expect(a).toBe("acme/a  controller: wants 2 replicas (was 0): fixed at 2 replicas");
    const { term, lines } = terminal();
    term.decision({ project: "acme", workload: "a", decision: "steady at 1: no load", desired: 1, previousDesired: 1 });
    term.decision({ project: "acme", workload: "b", decision: "steady at 1: no load", desired: 1, previousDesired: 1 });
    expect(lines).toHaveLength(2);
  });

  it("events are printed under their workload; desired-count changes are left to the decision lines", () => {
    // Prepare
    const { term, lines } = terminal();

    // Act
    term.event("acme", "support-bot", { at: "2026-06-01T10:00:00.000Z", type: "DesiredChanged", message: "scaling 0 -> 1: a request arrived" });
    term.event("acme", "support-bot", { at: "2026-06-01T10:00:01.000Z", type: "ReplicaReady", message: "replica rep_x (slot 0, generation 1) is ready" });

    // Assess
    expect(lines).toEqual(["acme/support-bot  replica rep_x (slot 0, generation 1) is ready"]);
  });
});
