/**
 * An incremental Server-Sent Events decoder: the subset OpenAI-compatible servers use (`data:`
 * and `event:` fields, `:` comments, blank-line dispatch), fed text as it arrives in arbitrary
 * pieces. Lines may end in `\n`, `\r\n` or `\r`, and a piece may end inside a line or between the
 * `\r` and `\n` of one line ending.
 */

/** One dispatched event: its `event` name (undefined for the default) and its joined `data` lines. */
export interface ServerSentEvent {
  event: string | undefined;
  data: string;
}

export class SseDecoder {
  private buffer = "";
  private data: string[] = [];
  private event: string | undefined;

  /** Takes the next piece of text; returns the events it completes, in order. */
  push(text: string): ServerSentEvent[] {
    this.buffer += text;
    const events: ServerSentEvent[] = [];
    let start = 0;
    for (;;) {
      const end = lineEnd(this.buffer, start);
      if (end === -1) break;
      // A `\r` at the very end may be the first half of `\r\n`: wait for the next piece to tell.
      if (this.buffer[end] === "\r" && end === this.buffer.length - 1) break;
      const line = this.buffer.slice(start, end);
      start = end + (this.buffer[end] === "\r" && this.buffer[end + 1] === "\n" ? 2 : 1);
      const event = this.line(line);
      if (event !== undefined) events.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /** The end of the stream: what is pending is dispatched even without a final blank line. */
  end(): ServerSentEvent[] {
    const rest = this.buffer.endsWith("\r") ? this.buffer.slice(0, -1) : this.buffer;
    this.buffer = "";
    const events: ServerSentEvent[] = [];
    if (rest !== "") {
      const event = this.line(rest);
      if (event !== undefined) events.push(event);
    }
    const last = this.dispatch();
    if (last !== undefined) events.push(last);
    return events;
  }

  private line(line: string): ServerSentEvent | undefined {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const raw = colon === -1 ? "" : line.slice(colon + 1);
    const value = raw.startsWith(" ") ? raw.slice(1) : raw;
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    return undefined;
  }

  private dispatch(): ServerSentEvent | undefined {
    const event = this.data.length === 0 ? undefined : { event: this.event, data: this.data.join("\n") };
    this.data = [];
    this.event = undefined;
    return event;
  }
}

function lineEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === "\n" || c === "\r") return i;
  }
  return -1;
}
