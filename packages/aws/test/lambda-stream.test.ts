import { describe, expect, it } from "vitest";
import { responseBodyChunks, SSE_KEEP_ALIVE } from "../src";

/** A body that sends `parts`, each after its delay (ms), then ends. */
function timedBody(parts: [number, string][]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async start(controller) {
      for (const [delay, text] of parts) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        controller.enqueue(new TextEncoder().encode(text));
      }
      controller.close();
    },
  });
}

async function collect(chunks: AsyncGenerator<Uint8Array | string>): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of chunks) out.push(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk));
  return out;
}

describe("responseBodyChunks", () => {
  it("sends an SSE comment whenever the stream is silent for the keep-alive interval, and the events unchanged", async () => {
    const chunks = await collect(responseBodyChunks(timedBody([[0, "data: a\n\n"], [130, "data: b\n\n"]]), { sse: true, keepAliveMs: 50 }));

    expect(chunks[0]).toBe("data: a\n\n");
    expect(chunks.at(-1)).toBe("data: b\n\n");
    expect(chunks.slice(1, -1).length).toBeGreaterThanOrEqual(2);
    expect(chunks.slice(1, -1).every((chunk) => chunk === SSE_KEEP_ALIVE)).toBe(true);
  });

  it("passes a body that is not SSE through without keep-alives", async () => {
    const chunks = await collect(responseBodyChunks(timedBody([[0, "{"], [80, "}"]]), { sse: false, keepAliveMs: 20 }));

    expect(chunks).toEqual(["{", "}"]);
  });

  it("runs onEnd before the last chunk is consumed, and when the consumer stops early (cancelling the body)", async () => {
    const events: string[] = [];
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      pull: (controller) => controller.enqueue(new TextEncoder().encode("x")),
      cancel: () => {
        cancelled = true;
      },
    });

    for await (const _ of responseBodyChunks(timedBody([[0, "a"]]), { sse: false, onEnd: async () => void events.push("flushed") })) events.push("chunk");
    for await (const _ of responseBodyChunks(endless, { sse: true, onEnd: async () => void events.push("flushed early") })) break;

    expect(events).toEqual(["chunk", "flushed", "flushed early"]);
    expect(cancelled).toBe(true);
  });

  it("ends the answer quietly where the body breaks off (deadline, upstream failure), after onEnd", async () => {
    let ended = false;
    const breaking = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("data: a\n\n"));
        setTimeout(() => controller.error(new Error("aborted: client")), 20);
      },
    });

    const chunks = await collect(
      responseBodyChunks(breaking, {
        sse: true,
        keepAliveMs: 1000,
        onEnd: async () => {
          ended = true;
        },
      }),
    );

    expect(chunks).toEqual(["data: a\n\n"]);
    expect(ended).toBe(true);
  });
});
