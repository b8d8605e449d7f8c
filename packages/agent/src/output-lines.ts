import { REDACTED, redactSecrets } from "@inferencekey/core";
/** Longest line kept (the protocol caps stderr_tail lines at 2000 characters). */
const MAX_LINE = 2_000;

export { REDACTED };

/**
 * Replaces every occurrence of each secret, and every credential shape (`ik_sdk_`, `ik_live_`,
 * `ik_wrk_`, `ik_rep_`), by a marker: backend logs may echo their arguments or files they read.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = redactSecrets(text);
  for (const secret of secrets) if (secret.length >= 4) out = out.replaceAll(secret, REDACTED);
  return out;
}

/**
 * Splits a byte stream into lines, redacts secrets (on whole lines, so a secret split across two
 * chunks is still caught), hands each line on and keeps the last `keep` of them.
 */
export class OutputLines {
  private partial = "";
  private readonly tail: string[] = [];

  constructor(
    private readonly keep: number,
    private readonly secrets: readonly string[],
    private readonly onLine: (line: string) => void = () => {},
  ) {}

  push(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const lines = text.split("\n");
    this.partial = lines.pop() ?? "";
    // A runaway line without newline is cut rather than buffered forever.
    if (this.partial.length > 16 * MAX_LINE) {
      lines.push(this.partial);
      this.partial = "";
    }
    for (const line of lines) this.add(line);
  }

  flush(): void {
    if (this.partial !== "") this.add(this.partial);
    this.partial = "";
  }

  reset(): void {
    this.partial = "";
    this.tail.length = 0;
  }

  lines(): string[] {
    return [...this.tail];
  }

  /** The last line with text on it, if any. */
  last(): string | undefined {
    for (let i = this.tail.length - 1; i >= 0; i--) {
      const line = this.tail[i];
      if (line !== undefined && line.trim() !== "") return line;
    }
    return undefined;
  }

  private add(raw: string): void {
    const line = redact(raw.replace(/\r$/, ""), this.secrets).slice(0, MAX_LINE);
    this.tail.push(line);
    if (this.tail.length > this.keep) this.tail.shift();
    this.onLine(line);
  }
}
