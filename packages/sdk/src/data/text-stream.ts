import { APIConnectionError, errorForStatus, InferenceKeyError } from "../errors";
import { isRecord, wireErrorOf } from "../http/http-client";
import {
  type ChatCompletionWire,
  type FinishReason,
  type TextGeneration,
  type TokenUsage,
  toTokenUsage,
} from "./results";
import { type ServerSentEvent, SseDecoder } from "./sse";

/**
 * The text deltas of a streamed completion, as they arrive (Server-Sent Events, parsed
 * incrementally). Iterate it once with `for await`; meanwhile and afterwards `text`, `model`,
 * `finishReason` and `usage` hold what the stream has told so far (`usage` arrives with the last
 * chunk, when the stream was asked for it with `includeUsage`, the default).
 *
 * The request is sent when iteration starts. Leaving the loop early (`break`, an exception)
 * closes the connection; the call's `signal` aborts the request or the stream at any point, and
 * the loop then rejects with the signal's reason.
 *
 * @example
 * ```ts
 * const stream = ep.streamText({ prompt: "Write a haiku about GPUs", maxTokens: 60 });
 * for await (const delta of stream) process.stdout.write(delta);
 * console.log("\n", stream.finishReason, stream.usage?.totalTokens);
 * ```
 */
export class TextStream implements AsyncIterable<string> {
  private readonly parts: string[] = [];
  private currentModel = "";
  private currentId = "";
  private currentFinishReason: FinishReason | undefined;
  private currentUsage: TokenUsage | undefined;
  private ended = false;
  private iterator: AsyncGenerator<string, void, undefined> | undefined;

  /** @internal Built by `Endpoint.streamText()` / `streamChat()`; `open` sends the request. */
  constructor(
    private readonly open: () => Promise<Response>,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** All text received so far. */
  get text(): string {
    return this.parts.join("");
  }

  /** The model named by the chunks; empty before the first one. */
  get model(): string {
    return this.currentModel;
  }

  /** The completion id named by the chunks; empty before the first one. */
  get id(): string {
    return this.currentId;
  }

  /** Why generation stopped; undefined until the last content chunk. */
  get finishReason(): FinishReason | undefined {
    return this.currentFinishReason;
  }

  /** Token counts from the stream's usage chunk; undefined until it arrived (or when not asked for). */
  get usage(): TokenUsage | undefined {
    return this.currentUsage;
  }

  /** True once the stream ended normally (`[DONE]` or the end of the body). */
  get done(): boolean {
    return this.ended;
  }

  /** The one iterator of this stream: a second loop resumes it, unless the first one left early (which closes it). */
  [Symbol.asyncIterator](): AsyncGenerator<string, void, undefined> {
    this.iterator ??= this.deltas();
    return this.iterator;
  }

  /**
   * Reads the rest of the stream and returns the whole answer, as `generateText()` would.
   *
   * @example
   * ```ts
   * const out = await ep.streamText({ prompt: "Hi" }).collect();
   * console.log(out.text, out.usage?.totalTokens);
   * ```
   */
  async collect(): Promise<TextGeneration> {
    for await (const _ of this) {
      // Draining: the getters accumulate as the stream is read.
    }
    return this.result();
  }

  private result(): TextGeneration {
    const raw: ChatCompletionWire = {
      id: this.currentId,
      object: "chat.completion",
      model: this.currentModel,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: this.text },
          finish_reason: this.currentFinishReason ?? null,
        },
      ],
      usage:
        this.currentUsage === undefined
          ? null
          : {
              prompt_tokens: this.currentUsage.promptTokens,
              completion_tokens: this.currentUsage.completionTokens,
              total_tokens: this.currentUsage.totalTokens,
            },
    };
    return {
      text: this.text,
      model: this.currentModel,
      usage: this.currentUsage,
      finishReason: this.currentFinishReason,
      id: this.currentId,
      raw,
    };
  }

  private async *deltas(): AsyncGenerator<string, void, undefined> {
    const response = await this.open();
    if (response.body === null) {
      this.ended = true;
      return;
    }
    const reader = response.body.getReader();
    const signal = this.signal;
    // Cancelling the reader ends a pending read at once, whether or not `fetch` wired the signal
    // to the body; the loop then sees the abort and throws its reason.
    const onAbort = () => {
      reader.cancel(signal?.reason).catch(() => undefined);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const decoder = new TextDecoder();
    const sse = new SseDecoder();
    let bodyFinished = false;
    try {
      for (;;) {
        let read: ReadableStreamReadResult<Uint8Array>;
        try {
          read = await reader.read();
        } catch (error) {
          signal?.throwIfAborted();
          throw new APIConnectionError({ message: `The stream broke off: ${describe(error)}`, cause: error });
        }
        signal?.throwIfAborted();
        bodyFinished = read.done;
        const events = read.done
          ? [...sse.push(decoder.decode()), ...sse.end()]
          : sse.push(decoder.decode(read.value, { stream: true }));
        for (const event of events) {
          if (event.data.trim() === "[DONE]") {
            this.ended = true;
            return;
          }
          const delta = this.consume(event);
          if (delta !== undefined) yield delta;
        }
        if (read.done) {
          this.ended = true;
          return;
        }
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      // Stopped before the body ended ([DONE], break, error): release the connection.
      if (!bodyFinished) await reader.cancel().catch(() => undefined);
    }
  }

  /** Applies one event to the state; returns its text delta, if any. */
  private consume(event: ServerSentEvent): string | undefined {
    let chunk: unknown;
    try {
      chunk = JSON.parse(event.data);
    } catch (error) {
      throw new InferenceKeyError({
        code: "invalid_response",
        message: `The stream sent an event that is not JSON: ${event.data.slice(0, 200)}`,
        cause: error,
      });
    }
    if (!isRecord(chunk)) return undefined;
    if (chunk.error !== undefined) throw streamError(chunk);
    if (typeof chunk.model === "string") this.currentModel = chunk.model;
    if (typeof chunk.id === "string") this.currentId = chunk.id;
    // The last usage seen wins (a final usage chunk, or cumulative per-chunk stats).
    this.currentUsage = toTokenUsage(chunk.usage) ?? this.currentUsage;
    const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
    if (!isRecord(choice)) return undefined;
    if (typeof choice.finish_reason === "string") this.currentFinishReason = choice.finish_reason;
    const piece = isRecord(choice.delta) ? choice.delta.content : choice.text;
    if (typeof piece !== "string" || piece === "") return undefined;
    this.parts.push(piece);
    return piece;
  }
}

/**
 * An error sent inside the stream after the 200 (vLLM: `{"error": {..., "code": 400}}`): mapped
 * like an HTTP error, with the numeric code as status when it is one, else as a server error.
 */
function streamError(chunk: Record<string, unknown>): InferenceKeyError {
  const wire = wireErrorOf(chunk) ?? {
    code: "stream_error",
    message: "The stream reported an error.",
    details: [],
    fields: {},
  };
  const inner = chunk.error;
  const numeric = isRecord(inner) && typeof inner.code === "number" ? inner.code : undefined;
  const status = numeric !== undefined && numeric >= 400 && numeric < 600 ? numeric : 500;
  return errorForStatus({ status, ...wire });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
