import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

/** The Azure LLM inference traces 2023 (CC-BY 4.0), gzipped copies carried in the repository. */
export const TRACE_DIR = join(dirname(fileURLToPath(import.meta.url)), "../data/azure-llm-2023");
export const TRACE_NAMES = ["code", "conv"] as const;
export type TraceName = (typeof TRACE_NAMES)[number];

/** The service model: a request holds one of a replica's slots for this long. */
export const SERVICE_BASE_SECONDS = 0.15;
export const SERVICE_PER_TOKEN_SECONDS = 0.025;

export interface Trace {
  name: string;
  /** Arrival times in seconds from the first arrival, ascending. */
  arrivals: Float64Array;
  /** How long each request holds a slot, seconds. */
  service: Float64Array;
}

const LINE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}(?:\.\d+)?),(\d+),(\d+)$/;

/** Reads `TIMESTAMP,ContextTokens,GeneratedTokens` rows; `minutes` keeps only the arrivals of the first minutes. */
export function parseTrace(name: string, csv: string, minutes = Number.POSITIVE_INFINITY): Trace {
  const rows: { at: number; tokens: number }[] = [];
  for (const line of csv.split("\n")) {
    const match = LINE.exec(line.trim());
    if (match === null) continue;
    const [, y, mo, d, h, mi, s, , generated] = match;
    const at = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi)) / 1000 + Number(s);
    rows.push({ at, tokens: Number(generated) });
  }
  if (rows.length === 0) throw new Error(`trace ${name}: no rows`);
  rows.sort((a, b) => a.at - b.at);
  const start = (rows[0] as { at: number }).at;
  const kept = rows.filter((r) => r.at - start < minutes * 60);
  return {
    name,
    arrivals: Float64Array.from(kept, (r) => r.at - start),
    service: Float64Array.from(kept, (r) => SERVICE_BASE_SECONDS + SERVICE_PER_TOKEN_SECONDS * r.tokens),
  };
}

export function loadTrace(name: TraceName, minutes?: number): Trace {
  const csv = gunzipSync(readFileSync(join(TRACE_DIR, `AzureLLMInferenceTrace_${name}.csv.gz`))).toString("utf8");
  return parseTrace(name, csv, minutes);
}

/** The last moment anything happens (the last request ends). */
export function traceEnd(trace: Trace): number {
  let end = 0;
  for (let i = 0; i < trace.arrivals.length; i++) end = Math.max(end, (trace.arrivals[i] as number) + (trace.service[i] as number));
  return end;
}

/** Minutes replayed: ceil(last event / 60) + 1. */
export function horizonMinutes(trace: Trace): number {
  return Math.ceil(traceEnd(trace) / 60) + 1;
}

/**
 * The trace's own concurrency when every request is served on arrival: for each request, how many
 * were already in flight when it arrived, and the peak in flight per minute.
 */
export function concurrency(trace: Trace): { before: Int32Array; peakPerMinute: number[] } {
  const n = trace.arrivals.length;
  const before = new Int32Array(n);
  const peakPerMinute = new Array<number>(horizonMinutes(trace)).fill(0);
  const ends: number[] = [];
  // A binary heap of end times: requests still in flight.
  const push = (v: number) => {
    ends.push(v);
    let i = ends.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((ends[p] as number) <= v) break;
      ends[i] = ends[p] as number;
      i = p;
    }
    ends[i] = v;
  };
  const pop = () => {
    const top = ends[0] as number;
    const last = ends.pop() as number;
    if (ends.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= ends.length) break;
        const r = l + 1;
        const c = r < ends.length && (ends[r] as number) < (ends[l] as number) ? r : l;
        if ((ends[c] as number) >= last) break;
        ends[i] = ends[c] as number;
        i = c;
      }
      ends[i] = last;
    }
    return top;
  };
  let minute = 0;
  for (let i = 0; i < n; i++) {
    const at = trace.arrivals[i] as number;
    while (ends.length > 0 && (ends[0] as number) <= at) {
      const end = pop();
      // The in-flight count carried into each minute boundary the departures cross.
      while (Math.floor(end / 60) > minute) {
        minute++;
        peakPerMinute[minute] = Math.max(peakPerMinute[minute] as number, ends.length + 1);
      }
    }
    while (Math.floor(at / 60) > minute) {
      minute++;
      peakPerMinute[minute] = Math.max(peakPerMinute[minute] as number, ends.length);
    }
    before[i] = ends.length;
    push(at + (trace.service[i] as number));
    const m = Math.floor(at / 60);
    peakPerMinute[m] = Math.max(peakPerMinute[m] as number, ends.length);
  }
  return { before, peakPerMinute };
}
