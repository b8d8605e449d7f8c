import { describe, expect, it } from "vitest";
import { readinessEventStream } from "../../src/http/readiness-events";
import type { Readiness } from "../../src/workloads/readiness";

/**
 * A slow store read must not silence a readiness stream: CloudFront drops an origin that sends
 * nothing for its read timeout, so keep-alives run on their own timer, not between reads.
 */
describe("readiness stream keep-alives", () => {
  it("keep coming while a store read takes several keep-alive intervals", async () => {
    // Arrange: every read answers after 300 ms; a keep-alive is due every 40 ms.
    const scheduling: Readiness = { phase: "scheduling", message: "waiting for the controller" };
    const slowRead = () => new Promise<Readiness>((resolve) => setTimeout(() => resolve(scheduling), 300));
    const response = readinessEventStream(scheduling, slowRead, { pollMs: 5, keepAliveMs: 40, maxMs: 700 });

    // Act: read the body chunk by chunk, noting when each arrived.
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const arrivals: { at: number; text: string }[] = [];
    const started = performance.now();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arrivals.push({ at: performance.now() - started, text: decoder.decode(value) });
    }

    // Assess: keep-alives arrived during the reads, and no silence came near a read's length.
    const keepAlives = arrivals.filter((chunk) => chunk.text === ": keep-alive\n\n");
    const gaps = arrivals.map((chunk, i) => chunk.at - (arrivals[i - 1]?.at ?? 0));
    expect(keepAlives.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...gaps)).toBeLessThan(250);
  });
});
