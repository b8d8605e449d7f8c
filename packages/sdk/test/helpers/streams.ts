/** A streamed body the test controls: pieces are served one per read, then it ends or hangs. */
export interface ScriptedBody {
  response: Response;
  /** Set when the consumer cancelled the body (early exit, abort). */
  cancelled: () => boolean;
  /** How many pieces have been read so far. */
  served: () => number;
}

/**
 * An SSE response whose body yields `pieces` (strings are UTF-8 encoded; byte arrays pass as
 * given, so a multi-byte character can be split), one per `read()`. With `hang`, the body never
 * ends after the last piece, like a server still generating.
 */
export function scriptedSse(
  pieces: Array<string | Uint8Array>,
  options: { hang?: boolean } = {},
): ScriptedBody {
  const encoder = new TextEncoder();
  let index = 0;
  let wasCancelled = false;
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const piece = pieces[index];
        if (piece === undefined) {
          if (options.hang) return new Promise<void>(() => undefined);
          controller.close();
          return;
        }
        index++;
        controller.enqueue(typeof piece === "string" ? encoder.encode(piece) : piece);
      },
      cancel() {
        wasCancelled = true;
      },
    },
    // No read-ahead: a piece is pulled only when the consumer reads, so `served` is exact.
    { highWaterMark: 0 },
  );
  const response = new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
  return { response, cancelled: () => wasCancelled, served: () => index };
}

/** `data: <json>\n\n` for one chunk. */
export function sseEvent(chunk: unknown): string {
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

/** An OpenAI chat.completion.chunk with one content delta (or a finish reason). */
export function deltaChunk(content: string | undefined, finishReason: string | null = null): unknown {
  return {
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    model: "meta-llama/Llama-3.1-8B-Instruct",
    choices: [{ index: 0, delta: content === undefined ? {} : { content }, finish_reason: finishReason }],
  };
}
