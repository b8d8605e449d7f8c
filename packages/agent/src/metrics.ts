import type { ReplicaLoad } from "@inferencekey/core";
import { type ProbeTarget, replicaUrl } from "./health";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME_START = /[a-zA-Z_:]/;
const NAME_CHAR = /[a-zA-Z0-9_:]/;
const LABEL_START = /[a-zA-Z_]/;
const LABEL_CHAR = /[a-zA-Z0-9_]/;

function parseValue(token: string): number | undefined {
  switch (token) {
    case "+Inf":
    case "Inf":
      return Number.POSITIVE_INFINITY;
    case "-Inf":
      return Number.NEGATIVE_INFINITY;
    case "NaN":
      return Number.NaN;
  }
  if (token === "") return undefined;
  const value = Number(token);
  return Number.isNaN(value) ? undefined : value;
}

/** Longest exposition line parsed (the gauges read here are under 200 characters). */
const MAX_SAMPLE_LINE = 4096;

/** One sample line (`name{label="v",...} value [timestamp]`), or undefined when the line is not one. */
function parseLine(line: string): Sample | undefined {
  let i = 0;
  const at = (k: number) => line.charAt(k);
  if (!NAME_START.test(at(i))) return undefined;
  while (i < line.length && NAME_CHAR.test(at(i))) i++;
  const name = line.slice(0, i);
  const labels: Record<string, string> = {};
  if (at(i) === "{") {
    i++;
    for (;;) {
      while (at(i) === " " || at(i) === ",") i++;
      if (at(i) === "}") {
        i++;
        break;
      }
      if (!LABEL_START.test(at(i))) return undefined;
      const start = i;
      while (i < line.length && LABEL_CHAR.test(at(i))) i++;
      const label = line.slice(start, i);
      while (at(i) === " ") i++;
      if (at(i) !== "=") return undefined;
      i++;
      while (at(i) === " ") i++;
      if (at(i) !== '"') return undefined;
      i++;
      let value = "";
      for (;;) {
        if (i >= line.length) return undefined;
        const c = at(i);
        if (c === '"') break;
        if (c === "\\") {
          const next = at(i + 1);
          value += next === "n" ? "\n" : next;
          i += 2;
        } else {
          value += c;
          i++;
        }
      }
      i++;
      // defineProperty: a label named __proto__ must stay a label.
      Object.defineProperty(labels, label, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  const rest = line.slice(i);
  if (rest !== "" && !/^[ \t]/.test(rest)) return undefined;
  const token = rest.trim().split(/[ \t]+/)[0] ?? "";
  const value = parseValue(token);
  return value === undefined ? undefined : { name, labels, value };
}

/**
 * Parses Prometheus text exposition format. Lines it cannot read are skipped: a scrape is advisory,
 * so any input yields a (possibly empty) list and never an exception.
 */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split("\n")) {
    // No sample the agent reads comes near this; a longer line is the backend's noise, not scanned.
    if (raw.length > MAX_SAMPLE_LINE) continue;
    const line = raw.replace(/\r$/, "").trimStart();
    if (line === "" || line.startsWith("#")) continue;
    const sample = parseLine(line);
    if (sample !== undefined) samples.push(sample);
  }
  return samples;
}

/** Metric names per load signal, in order of preference (the first name present wins). */
const RUNNING = ["vllm:num_requests_running", "sglang:num_running_reqs"];
const WAITING = ["vllm:num_requests_waiting", "sglang:num_queue_reqs"];
/** vLLM renamed gpu_cache_usage_perc to kv_cache_usage_perc; sglang's token_usage is its KV pool usage. */
const KV_CACHE = ["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", "sglang:token_usage"];

function values(samples: Sample[], names: string[]): number[] | undefined {
  for (const name of names) {
    const found = samples.filter((s) => s.name === name && Number.isFinite(s.value)).map((s) => s.value);
    if (found.length > 0) return found;
  }
  return undefined;
}

/**
 * The load signals of a replica from its metrics: requests summed over series (one per served model),
 * KV-cache usage as the highest series, clamped to [0, 1]. Undefined when no request gauge is present.
 */
export function loadFromSamples(samples: Sample[], scrapedAt: Date): ReplicaLoad | undefined {
  const running = values(samples, RUNNING);
  const waiting = values(samples, WAITING);
  if (running === undefined && waiting === undefined) return undefined;
  const sum = (xs: number[] | undefined) =>
    Math.max(
      0,
      (xs ?? []).reduce((a, b) => a + b, 0),
    );
  const kv = values(samples, KV_CACHE);
  return {
    running_requests: sum(running),
    waiting_requests: sum(waiting),
    ...(kv === undefined ? {} : { kv_cache_usage: Math.min(1, Math.max(0, ...kv)) }),
    scraped_at: scrapedAt.toISOString(),
  };
}

/** Scrapes `/metrics` of a replica; undefined when it has none (ollama) or does not answer in time. */
export async function scrapeLoad(
  target: ProbeTarget,
  options: { fetch?: typeof fetch; timeoutMs?: number; now?: () => Date } = {},
): Promise<ReplicaLoad | undefined> {
  if (target.backend === "ollama") return undefined;
  try {
    const response = await (options.fetch ?? fetch)(replicaUrl(target, "/metrics"), {
      headers: { authorization: `Bearer ${target.secret}` },
      signal: AbortSignal.timeout(options.timeoutMs ?? 1_000),
    });
    const text = await response.text();
    if (!response.ok) return undefined;
    return loadFromSamples(parsePrometheusText(text), (options.now ?? (() => new Date()))());
  } catch {
    return undefined;
  }
}

/**
 * The highest load (running + waiting) sampled over a trailing window. Sampled at 1 Hz between
 * heartbeats, it lets a burst that came and went between two heartbeats (or two controller ticks)
 * reach the autoscaler; a single reading at heartbeat time would mostly see zero.
 */
export class PeakWindow {
  private readonly samples: { at: number; value: number }[] = [];

  constructor(readonly windowMs: number) {}

  add(atMs: number, value: number): void {
    // Keep the list decreasing in value: an older, lower sample can never be the peak again.
    while (this.samples.length > 0 && (this.samples[this.samples.length - 1] as { value: number }).value <= value) this.samples.pop();
    this.samples.push({ at: atMs, value });
  }

  /** The peak over (nowMs - windowMs, nowMs], or undefined when nothing was sampled in it. */
  peak(nowMs: number): number | undefined {
    while (this.samples.length > 0 && (this.samples[0] as { at: number }).at <= nowMs - this.windowMs) this.samples.shift();
    return this.samples[0]?.value;
  }
}
