import { describe, expect, it } from "vitest";
import { SseDecoder } from "../../src/data/sse";

describe("SseDecoder", () => {
  it("dispatches an event at each blank line, skipping comments and unknown fields", () => {
    // Prepare
    const decoder = new SseDecoder();

    // Act
    const events = decoder.push(': keep-alive\n\nid: 7\ndata: {"a":1}\n\nevent: ping\ndata:x\n\n');

    // Assess
    expect(events).toEqual([
      { event: undefined, data: '{"a":1}' },
      { event: "ping", data: "x" },
    ]);
  });

  it("joins multi-line data with newlines and strips one leading space only", () => {
    // Prepare
    const decoder = new SseDecoder();

    // Act
    const events = decoder.push("data: first\ndata:  second\n\n");

    // Assess
    expect(events).toEqual([{ event: undefined, data: "first\n second" }]);
  });

  it("reassembles lines split across pieces, including a \\r\\n split between pieces", () => {
    // Prepare
    const decoder = new SseDecoder();
    const pieces = ["da", "ta: hel", "lo\r", "\n\r", "\ndata: [DO", "NE]\r\r\n"];

    // Act
    const events = pieces.flatMap((piece) => decoder.push(piece));

    // Assess
    expect(events).toEqual([
      { event: undefined, data: "hello" },
      { event: undefined, data: "[DONE]" },
    ]);
  });

  it("flushes a pending event at the end of the stream without a final blank line", () => {
    // Prepare
    const decoder = new SseDecoder();
    const early = decoder.push("data: tail");

    // Act
    const events = decoder.end();

    // Assess
    expect(early).toEqual([]);
    expect(events).toEqual([{ event: undefined, data: "tail" }]);
    expect(decoder.end()).toEqual([]);
  });
});
