import type { ChunkSource } from "./exchange";

/** Raised (as a stream error) when a request body grows past its route's limit. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/** Reads a whole body, refusing more than `limit` bytes as they arrive. */
export async function readLimited(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLargeError(limit);
    }
    chunks.push(value);
  }
  return concatChunks(chunks, total);
}

/** Reads a whole chunk source, refusing more than `limit` bytes as they arrive. */
export async function readSourceLimited(source: ChunkSource, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const chunk = await source.next();
    if (chunk === undefined) break;
    total += chunk.byteLength;
    if (total > limit) {
      source.cancel();
      throw new BodyTooLargeError(limit);
    }
    chunks.push(chunk);
  }
  return concatChunks(chunks, total);
}

/** One buffer of `chunks` (the only chunk itself when there is one). */
export function concatChunks(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * A streamed request body that can be sent more than once. Each attempt gets its own stream; the
 * chunks an attempt consumed are kept (references, bounded by the route's limit) while `replayable`,
 * so a retry after a connection failure replays them and then continues from the client. Call
 * `settle()` once a replica answered: nothing is retried after that, and the copies are released.
 */
export class ReplayableBody {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private sent: Uint8Array[] = [];
  private total = 0;
  private ended = false;
  private reading: Promise<void> | undefined;
  /** Set when the body went over the limit. */
  tooLarge = false;

  constructor(
    source: ReadableStream<Uint8Array>,
    private readonly limit: number,
    private replayable: boolean,
    private readonly onChunk?: (chunk: Uint8Array) => void,
  ) {
    this.reader = source.getReader();
  }

  /** A fresh stream for one upstream attempt: recorded chunks first, then the rest of the client's body. */
  attempt(): ReadableStream<Uint8Array> {
    let index = 0;
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          // Reads are serialised so a dead attempt's pending read cannot skip a chunk for the next.
          while (this.reading !== undefined) await this.reading;
          if (index < this.sent.length) {
            const chunk = this.sent[index++];
            if (chunk !== undefined) controller.enqueue(chunk);
            return;
          }
          if (this.ended) {
            controller.close();
            return;
          }
          let result: ReadableStreamReadResult<Uint8Array> | undefined;
          let failure: unknown;
          this.reading = this.reader.read().then(
            (r) => {
              result = r;
            },
            (error: unknown) => {
              failure = error;
            },
          );
          await this.reading;
          this.reading = undefined;
          if (result === undefined) {
            controller.error(failure);
            return;
          }
          if (result.done) {
            this.ended = true;
            controller.close();
            return;
          }
          const chunk = result.value;
          this.total += chunk.byteLength;
          if (this.total > this.limit) {
            this.tooLarge = true;
            this.reader.cancel().catch(() => undefined);
            controller.error(new BodyTooLargeError(this.limit));
            return;
          }
          this.onChunk?.(chunk);
          if (this.replayable) {
            this.sent.push(chunk);
            index++;
          }
          controller.enqueue(chunk);
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** Whether another attempt could send the whole body again (kept copies, or nothing read yet). */
  canReplay(): boolean {
    return this.replayable || this.total === 0;
  }

  /** A replica answered: stop keeping copies. */
  settle(): void {
    this.replayable = false;
    this.sent = [];
  }

  /** Give up on the client's body (the request failed or was refused). */
  cancel(): void {
    this.settle();
    this.reader.cancel().catch(() => undefined);
  }
}
