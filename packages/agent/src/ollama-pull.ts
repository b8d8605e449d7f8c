import { type ProbeResult, type ProbeTarget, replicaUrl } from "./health";

export interface OllamaPullOptions {
  fetch?: typeof fetch;
  now?: () => number;
  /** After a failed pull, the next one starts no sooner than this. Default 30 s. */
  retryAfterMs?: number;
  /** A pull that reported nothing for this long no longer counts as progress. Default 60 s. */
  stalledAfterMs?: number;
  /**
   * Where the pull's progress is told (the agent's log, so `npm start`'s terminal): its start, each
   * new step ("pulling manifest", "pulling 6a07...", "verifying sha256 digest"), a download's
   * percentage at most every `progressLogMs`, and how it ended.
   */
  log?: (line: string) => void;
  /** Least time between two progress lines of one download step. Default 5 s. */
  progressLogMs?: number;
}

const MB = 1024 ** 2;
const GB = 1024 ** 3;

/** One NDJSON line of `POST /api/pull` in words: "pulling 6a07...: 45% (2.1 of 4.7 GB)". */
export function describePullLine(line: { status?: unknown; total?: unknown; completed?: unknown }): string {
  const status = typeof line.status === "string" ? line.status : "working";
  const total = typeof line.total === "number" ? line.total : undefined;
  const completed = typeof line.completed === "number" ? line.completed : 0;
  if (total === undefined || total <= 0) return status;
  const percent = Math.floor((completed / total) * 100);
  const [unit, size] = total >= GB ? ["GB", GB] : ["MB", MB];
  return `${status}: ${percent}% (${(completed / size).toFixed(1)} of ${(total / size).toFixed(1)} ${unit})`;
}

/**
 * Pulls an ollama replica's model through the replica's own API (`POST /api/pull`), because
 * `ollama serve` starts with only the models already on disk. One pull at a time; its progress is
 * what the replica reports while starting, and a pull that keeps reporting counts as progress (the
 * supervisor's startup timeout then measures silence, not download time). A failed pull is retried
 * after `retryAfterMs`.
 */
export class OllamaModelPull {
  private running: AbortController | undefined;
  private status = "";
  private lastProgressAt = 0;
  private lastFailure: string | undefined;
  private endedAt: number | undefined;
  /** The step (ollama's `status`) and time of the last progress line logged. */
  private loggedStep: string | undefined;
  private loggedAt = 0;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;

  constructor(
    private readonly target: ProbeTarget,
    private readonly options: OllamaPullOptions = {},
  ) {
    this.fetchImpl = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
  }

  /** The ollama server answers but lacks the model: make sure a pull is on its way, and say how it goes. */
  ensure(): ProbeResult {
    const now = this.now();
    const retryAfter = this.options.retryAfterMs ?? 30_000;
    if (this.running === undefined && (this.endedAt === undefined || now - this.endedAt >= retryAfter)) this.start(now);
    const model = this.target.model;
    if (this.running === undefined) {
      return {
        ok: false,
        reason: `pulling model ${model} into ollama failed: ${this.lastFailure ?? "no reason given"}; retrying in ${Math.ceil(
          (retryAfter - (now - (this.endedAt ?? now))) / 1000,
        )} s`,
      };
    }
    const stalled = now - this.lastProgressAt >= (this.options.stalledAfterMs ?? 60_000);
    return { ok: false, reason: `pulling model ${model} into ollama: ${this.status}`, progress: !stalled };
  }

  /** Stops a pull in flight (the replica is stopping). */
  abort(): void {
    this.running?.abort();
  }

  private start(now: number): void {
    const controller = new AbortController();
    this.running = controller;
    this.status = "requested";
    this.lastProgressAt = now;
    this.loggedStep = undefined;
    const model = this.target.model;
    this.options.log?.(`pulling model ${model} into ollama`);
    void this.pull(controller.signal)
      .then(
        (failure) => {
          this.lastFailure = failure;
        },
        (error: unknown) => {
          this.lastFailure = error instanceof Error ? error.message : String(error);
        },
      )
      .then(() => {
        if (controller.signal.aborted) this.options.log?.(`pulling model ${model} into ollama: stopped (the replica is stopping)`);
        else if (this.lastFailure === undefined) this.options.log?.(`pulled model ${model} into ollama in ${Math.round((this.now() - now) / 1000)} s`);
        else
          this.options.log?.(
            `pulling model ${model} into ollama failed: ${this.lastFailure}; retrying in ${Math.round((this.options.retryAfterMs ?? 30_000) / 1000)} s`,
          );
      })
      .finally(() => {
        if (this.running === controller) this.running = undefined;
        this.endedAt = this.now();
      });
  }

  /** Runs one pull to its end; resolves undefined on success, else the reason it failed. */
  private async pull(signal: AbortSignal): Promise<string | undefined> {
    const url = replicaUrl(this.target, "/api/pull");
    const response = await this.fetchImpl(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      // `name` for ollama releases from before `model` replaced it.
      body: JSON.stringify({ model: this.target.model, name: this.target.model, stream: true }),
      signal,
    });
    if (response.body === null) return `POST ${url} answered ${response.status} without a body`;
    const decoder = new TextDecoder();
    let carry = "";
    let failure: string | undefined = response.ok ? undefined : `POST ${url} answered ${response.status}`;
    let succeeded = false;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      const lines = (carry + decoder.decode(chunk, { stream: true })).split("\n");
      carry = lines.pop() ?? "";
      for (const line of lines) {
        const outcome = this.onLine(line);
        if (outcome === "success") succeeded = true;
        else if (outcome !== undefined) failure = outcome;
      }
    }
    const last = this.onLine(carry + decoder.decode());
    if (last === "success") succeeded = true;
    else if (last !== undefined) failure = last;
    if (failure !== undefined) return failure;
    return succeeded ? undefined : "the pull ended without reporting success";
  }

  /** Reads one NDJSON line: "success", an error message, or undefined for progress. */
  private onLine(line: string): string | undefined {
    if (line.trim() === "") return undefined;
    let parsed: { status?: unknown; total?: unknown; completed?: unknown; error?: unknown };
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      return undefined;
    }
    if (typeof parsed.error === "string") return parsed.error;
    this.status = describePullLine(parsed);
    this.lastProgressAt = this.now();
    if (parsed.status === "success") return "success";
    this.logProgress(typeof parsed.status === "string" ? parsed.status : "working");
    return undefined;
  }

  /** A new step is always told; the same step's percentage at most every progressLogMs. */
  private logProgress(step: string): void {
    if (this.options.log === undefined) return;
    const now = this.now();
    if (step === this.loggedStep && now - this.loggedAt < (this.options.progressLogMs ?? 5_000)) return;
    this.loggedStep = step;
    this.loggedAt = now;
    this.options.log(`pulling model ${this.target.model} into ollama: ${this.status}`);
  }
}
