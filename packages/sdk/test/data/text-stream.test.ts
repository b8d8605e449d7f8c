import { afterEach, describe, expect, it, vi } from "vitest";
import {
  APIConnectionError,
  BadRequestError,
  DataClient,
  InferenceKeyError,
  InternalServerError,
} from "../../src";
import { type FakeFetch, fakeFetch, jsonResponse } from "../helpers/fake-fetch";
import { BASE_URL } from "../helpers/fixtures";
import { deltaChunk, scriptedSse, sseEvent } from "../helpers/streams";

const API_KEY = "ik_live_testkey000000000000000000000";

function endpoint(fetch: FakeFetch) {
  return new DataClient({ project: "acme", baseUrl: BASE_URL, fetch }).endpoint("support-bot", {
    apiKey: API_KEY,
  });
}

const USAGE_CHUNK = {
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  model: "meta-llama/Llama-3.1-8B-Instruct",
  choices: [],
  usage: { prompt_tokens: 9, completion_tokens: 8, total_tokens: 17 },
};

/** Splits `text` into pieces at the given offsets, as UTF-8 bytes (so a character can be cut in half). */
function bytePieces(text: string, cuts: number[]): Uint8Array[] {
  const bytes = new TextEncoder().encode(text);
  const bounds = [0, ...cuts, bytes.length];
  return bounds.slice(1).map((end, i) => bytes.slice(bounds[i], end));
}

async function drain(stream: AsyncIterable<string>): Promise<string[]> {
  const deltas: string[] = [];
  for await (const delta of stream) deltas.push(delta);
  return deltas;
}

afterEach(() => {
  vi.useRealTimers();
});

describe("streamText", () => {
  it("asks for a stream with usage and sends nothing until iterated", async () => {
    // Prepare
    const body = scriptedSse([sseEvent(deltaChunk("Hi")), "data: [DONE]\n\n"]);
    const fetch = fakeFetch(body.response);
    const ep = endpoint(fetch);

    // Act
    const stream = ep.streamText({ prompt: "Hola", maxTokens: 60 });
    const callsBeforeIterating = fetch.calls.length;
    await drain(stream);

    // Assess
    expect(callsBeforeIterating).toBe(0);
    expect(fetch.calls[0]?.url).toBe(`${BASE_URL}/endpoint/acme/support-bot/v1/chat/completions`);
    expect(fetch.calls[0]?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(fetch.calls[0]?.body).toEqual({
      messages: [{ role: "user", content: "Hola" }],
      max_tokens: 60,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it("omits stream_options when includeUsage is false", async () => {
    // Prepare
    const fetch = fakeFetch(scriptedSse(["data: [DONE]\n\n"]).response);
    const ep = endpoint(fetch);

    // Act
    await drain(ep.streamText({ prompt: "Hola", includeUsage: false }));

    // Assess
    expect(fetch.calls[0]?.body).toEqual({ messages: [{ role: "user", content: "Hola" }], stream: true });
  });

  it("parses events split across reads (mid-line, mid-character, CRLF) and surfaces usage at the end", async () => {
    // Prepare
    const text = [
      ": keep-alive\r\n\r\n",
      sseEvent(deltaChunk("")).replaceAll("\n", "\r\n"),
      sseEvent(deltaChunk("Hola")),
      sseEvent(deltaChunk(", ¿en qué")),
      sseEvent(deltaChunk(" puedo ayudarle?")),
      sseEvent(deltaChunk(undefined, "stop")),
      sseEvent(USAGE_CHUNK),
      "data: [DONE]\n\n",
    ].join("");
    const qMark = new TextEncoder().encode(text).indexOf(0xc2); // first byte of "¿"
    const body = scriptedSse(bytePieces(text, [5, 17, 40, qMark + 1, qMark + 30, text.length - 3]));
    const ep = endpoint(fakeFetch(body.response));

    // Act
    const stream = ep.streamText({ prompt: "Hola" });
    const usageBefore = stream.usage;
    const deltas = await drain(stream);

    // Assess
    expect(usageBefore).toBeUndefined();
    expect(deltas).toEqual(["Hola", ", ¿en qué", " puedo ayudarle?"]);
    expect(stream.text).toBe("Hola, ¿en qué puedo ayudarle?");
    expect(stream.model).toBe("meta-llama/Llama-3.1-8B-Instruct");
    expect(stream.finishReason).toBe("stop");
    expect(stream.usage).toEqual({ promptTokens: 9, completionTokens: 8, totalTokens: 17 });
    expect(stream.done).toBe(true);
  });

  it("stops at [DONE] and releases the body even if the server keeps it open", async () => {
    // Prepare
    const body = scriptedSse([sseEvent(deltaChunk("a")), "data: [DONE]\n\n"], { hang: true });
    const ep = endpoint(fakeFetch(body.response));

    // Act
    const deltas = await drain(ep.streamText({ prompt: "x" }));

    // Assess
    expect(deltas).toEqual(["a"]);
    expect(body.cancelled()).toBe(true);
  });

  it("ends normally when the body ends without [DONE] or a final blank line", async () => {
    // Prepare
    const body = scriptedSse([
      sseEvent(deltaChunk("a")),
      `data: ${JSON.stringify(deltaChunk("b", "length"))}`,
    ]);
    const ep = endpoint(fakeFetch(body.response));

    // Act
    const stream = ep.streamText({ prompt: "x" });
    const deltas = await drain(stream);

    // Assess
    expect(deltas).toEqual(["a", "b"]);
    expect(stream.finishReason).toBe("length");
    expect(stream.done).toBe(true);
  });

  it("collect() reads the rest and returns a TextGeneration", async () => {
    // Prepare
    const body = scriptedSse([
      sseEvent(deltaChunk("Hel")),
      sseEvent(deltaChunk("lo", "stop")),
      sseEvent(USAGE_CHUNK),
      "data: [DONE]\n\n",
    ]);
    const ep = endpoint(fakeFetch(body.response));
    const stream = ep.streamText({ prompt: "x" });
    const first = await stream[Symbol.asyncIterator]().next();

    // Act
    const out = await stream.collect();

    // Assess
    expect(first.value).toBe("Hel");
    expect(out).toMatchObject({
      text: "Hello",
      model: "meta-llama/Llama-3.1-8B-Instruct",
      finishReason: "stop",
      usage: { promptTokens: 9, completionTokens: 8, totalTokens: 17 },
      id: "chatcmpl-1",
    });
    expect(out.raw.choices?.[0]?.message?.content).toBe("Hello");
  });

  it("aborts mid-stream: the loop rejects with the signal's reason and the body is cancelled", async () => {
    // Prepare
    const body = scriptedSse([sseEvent(deltaChunk("one")), sseEvent(deltaChunk("two"))], { hang: true });
    const ep = endpoint(fakeFetch(body.response));
    const controller = new AbortController();
    const reason = new Error("user pressed stop");
    const seen: string[] = [];

    // Act
    const loop = (async () => {
      for await (const delta of ep.streamText({ prompt: "x", signal: controller.signal })) {
        seen.push(delta);
        if (seen.length === 2) setTimeout(() => controller.abort(reason), 0);
      }
    })();

    // Assess
    await expect(loop).rejects.toBe(reason);
    expect(seen).toEqual(["one", "two"]);
    expect(body.cancelled()).toBe(true);
  });

  it("an abort before the answer arrives rejects with the reason and sends nothing more", async () => {
    // Prepare
    const fetch = fakeFetch("hang");
    const ep = endpoint(fetch);
    const controller = new AbortController();
    const reason = new Error("cancelled early");

    // Act
    const loop = drain(ep.streamText({ prompt: "x", signal: controller.signal }));
    await vi.waitFor(() => expect(fetch.calls).toHaveLength(1));
    controller.abort(reason);

    // Assess
    await expect(loop).rejects.toBe(reason);
    expect(fetch.calls[0]?.signal?.aborted).toBe(true);
  });

  it("leaving the loop early cancels the body", async () => {
    // Prepare
    const body = scriptedSse([sseEvent(deltaChunk("one")), sseEvent(deltaChunk("two"))], { hang: true });
    const ep = endpoint(fakeFetch(body.response));

    // Act
    for await (const delta of ep.streamText({ prompt: "x" })) {
      if (delta === "one") break;
    }

    // Assess
    expect(body.cancelled()).toBe(true);
  });

  it("turns an error event inside the stream into the status-mapped error", async () => {
    // Prepare
    const errorEvent = sseEvent({
      error: { object: "error", message: "context too long", type: "BadRequestError", code: 400 },
    });
    const fetch = fakeFetch(
      scriptedSse([sseEvent(deltaChunk("a")), errorEvent]).response,
      scriptedSse([
        sseEvent({ error: { message: "engine died", type: "server_error", code: "engine_dead" } }),
      ]).response,
    );
    const ep = endpoint(fetch);

    // Act
    const first = await drain(ep.streamText({ prompt: "x" })).catch((e: unknown) => e);
    const second = await drain(ep.streamText({ prompt: "x" })).catch((e: unknown) => e);

    // Assess
    expect(first).toBeInstanceOf(BadRequestError);
    expect(first).toMatchObject({ status: 400, code: "BadRequestError", message: "context too long" });
    expect(second).toBeInstanceOf(InternalServerError);
    expect(second).toMatchObject({ status: 500, code: "engine_dead" });
  });

  it("reports a body that breaks off as APIConnectionError and a non-JSON event as invalid_response", async () => {
    // Prepare
    const broken = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(sseEvent(deltaChunk("a"))));
        controller.error(new Error("other side closed"));
      },
    });
    const fetch = fakeFetch(new Response(broken), scriptedSse(["data: {oops\n\n"]).response);
    const ep = endpoint(fetch);

    // Act
    const reset = await drain(ep.streamText({ prompt: "x" })).catch((e: unknown) => e);
    const garbled = await drain(ep.streamText({ prompt: "x" })).catch((e: unknown) => e);

    // Assess
    expect(reset).toBeInstanceOf(APIConnectionError);
    expect(reset).toMatchObject({ message: expect.stringContaining("other side closed") });
    expect(garbled).toBeInstanceOf(InferenceKeyError);
    expect(garbled).toMatchObject({ code: "invalid_response" });
  });

  it("retries a 503 workload_scaling_up before the stream starts, then streams", async () => {
    // Prepare
    vi.useFakeTimers();
    const scaling = jsonResponse(
      503,
      {
        error: { message: "starting", type: "service_unavailable", param: null, code: "workload_scaling_up" },
      },
      { "retry-after": "3" },
    );
    const body = scriptedSse([sseEvent(deltaChunk("ready")), "data: [DONE]\n\n"]);
    const fetch = fakeFetch(scaling, body.response);
    const ep = endpoint(fetch);

    // Act
    const pending = drain(ep.streamText({ prompt: "x", scaleUpTimeoutSeconds: 10 }));
    await vi.advanceTimersByTimeAsync(3_000);
    const deltas = await pending;

    // Assess
    expect(deltas).toEqual(["ready"]);
    expect(fetch.calls).toHaveLength(2);
    expect(fetch.calls.map((c) => c.headers["x-scale-up-timeout"])).toEqual(["10", "10"]);
  });

  it("streamChat streams a conversation the same way", async () => {
    // Prepare
    const body = scriptedSse([sseEvent(deltaChunk("Hi!")), "data: [DONE]\n\n"]);
    const fetch = fakeFetch(body.response);
    const ep = endpoint(fetch);
    const messages = [{ role: "user", content: "Hello" }];

    // Act
    const deltas = await drain(ep.streamChat({ messages, includeUsage: false }));

    // Assess
    expect(deltas).toEqual(["Hi!"]);
    expect(fetch.calls[0]?.body).toEqual({ messages, stream: true });
  });
});
