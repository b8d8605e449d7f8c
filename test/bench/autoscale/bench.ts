import { type Fleet, needPerMinute, oracleFleet, peakFixedFleet, reactiveFleet } from "./baselines";
import { replay, type ReplayResult } from "./replay";
import { concurrency, horizonMinutes, loadTrace, type Trace, type TraceName } from "./trace";

/** One policy's figures on one trace at one CAP. */
export interface PolicyRow {
  policy: string;
  gpuHours: number;
  xOracle: number;
  stranded: number;
  strandedShare: number;
  minutesShort: number;
  minutes: number;
  scaleUps: number;
  scaleDowns: number;
  stoppedSoon: number;
  /** Wait mode only: the added wait of stranded requests, seconds. */
  waitP50?: number;
  waitP99?: number;
}

export interface Scenario {
  trace: TraceName;
  cap: number;
  bootSeconds: number;
  /** Only the first minutes of the trace were replayed: no goal applies. */
  partial: boolean;
  rows: PolicyRow[];
  /** Our policy's decision sentences that changed the worker count (count mode). */
  decisions: string[];
}

export interface ScenarioOptions {
  cap: number;
  bootSeconds?: number;
  /** Replay only the first minutes of the trace (the smoke test). */
  minutes?: number;
  knobs?: Record<string, number>;
  /** Also replay in wait mode (stranded requests wait). */
  waitMode?: boolean;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** Stranded requests and short minutes of a fleet whose ready count changes at minute boundaries. */
function scoreFleet(trace: Trace, before: Int32Array, cap: number, fleet: Fleet): { stranded: number; minutesShort: number } {
  let stranded = 0;
  const short = new Set<number>();
  for (let i = 0; i < trace.arrivals.length; i++) {
    const minute = Math.floor((trace.arrivals[i] as number) / 60);
    if ((before[i] as number) >= cap * (fleet.ready[minute] ?? 0)) {
      stranded++;
      short.add(minute);
    }
  }
  return { stranded, minutesShort: short.size };
}

export async function runScenario(traceName: TraceName, options: ScenarioOptions): Promise<Scenario> {
  const trace = loadTrace(traceName, options.minutes);
  const boot = options.bootSeconds ?? 300;
  const { before, peakPerMinute } = concurrency(trace);
  const need = needPerMinute(peakPerMinute, options.cap);
  const minutes = horizonMinutes(trace);
  const oracle = oracleFleet(need);
  const oracleHours = oracle.paid.reduce((a, b) => a + b, 0) / 60;
  const row = (policy: string, gpuHours: number, stranded: number, rest: Omit<PolicyRow, "policy" | "gpuHours" | "xOracle" | "stranded" | "strandedShare" | "minutes">): PolicyRow => ({
    policy,
    gpuHours,
    xOracle: oracleHours > 0 ? gpuHours / oracleHours : Number.NaN,
    stranded,
    strandedShare: trace.arrivals.length > 0 ? stranded / trace.arrivals.length : 0,
    minutes,
    ...rest,
  });
  const fleetRow = (policy: string, fleet: Fleet) => {
    const { stranded, minutesShort } = scoreFleet(trace, before, options.cap, fleet);
    return row(policy, fleet.paid.reduce((a, b) => a + b, 0) / 60, stranded, {
      minutesShort,
      scaleUps: fleet.scaleUps,
      scaleDowns: fleet.scaleDowns,
      stoppedSoon: fleet.stoppedSoon,
    });
  };
  const replayed = (result: ReplayResult, policy: string, withWaits: boolean) => {
    const waits = [...result.waits].sort((a, b) => a - b);
    return row(policy, result.gpuHours, result.stranded, {
      minutesShort: result.minutesShort,
      scaleUps: result.scaleUps,
      scaleDowns: result.scaleDowns,
      stoppedSoon: result.stoppedSoon,
      ...(withWaits ? { waitP50: quantile(waits, 0.5), waitP99: quantile(waits, 0.99) } : {}),
    });
  };
  const common = {
    cap: options.cap,
    bootSeconds: boot,
    warmReplicas: need[0] ?? 0,
    horizonMinutes: minutes,
    ...(options.knobs === undefined ? {} : { knobs: options.knobs }),
  };
  const ours = await replay(trace, { ...common, mode: "count" });
  const rows = [
    fleetRow("oracle", oracle),
    fleetRow("peak-fixed", peakFixedFleet(need)),
    fleetRow("reactive (5 min up / 10 min down)", reactiveFleet(need, { bootMinutes: Math.ceil(boot / 60) })),
    replayed(ours, "ours", false),
  ];
  if (options.waitMode ?? true) rows.push(replayed(await replay(trace, { ...common, mode: "wait" }), "ours, stranded requests wait", true));
  return { trace: traceName, cap: options.cap, bootSeconds: boot, partial: options.minutes !== undefined, rows, decisions: ours.decisions };
}

export interface GoalResult {
  goal: string;
  hard: boolean;
  met: boolean;
  figures: string;
}

const byPolicy = (scenario: Scenario, policy: string) => scenario.rows.find((r) => r.policy.startsWith(policy)) as PolicyRow;

/**
 * The issue's goals, judged on the scenarios present (defaults, 5-minute boot, 60 s tick):
 * hard: conv at CAP 8 and 4 <= 1.2x oracle and <= 1/3 of the reactive's stranded; code at CAP 4
 * <= 60% of peak-fixed and <= 1/3 of the reactive's stranded. Target: code at CAP 8 on the code
 * rule. Stretch: code at CAP 8 <= 1.5x oracle with under 5% of minutes short.
 */
export function judgeGoals(scenarios: readonly Scenario[]): GoalResult[] {
  const results: GoalResult[] = [];
  const find = (trace: TraceName, cap: number) => scenarios.find((s) => s.trace === trace && s.cap === cap && s.bootSeconds === 300 && !s.partial);
  const strandedRule = (s: Scenario) => {
    const ours = byPolicy(s, "ours");
    const reactive = byPolicy(s, "reactive");
    return { met: ours.stranded <= reactive.stranded / 3, text: `${ours.stranded} stranded vs at most ${Math.floor(reactive.stranded / 3)} (reactive ${reactive.stranded} / 3)` };
  };
  for (const cap of [8, 4]) {
    const s = find("conv", cap);
    if (s === undefined) continue;
    const ours = byPolicy(s, "ours");
    const stranded = strandedRule(s);
    const cost = ours.xOracle <= 1.2;
    results.push({
      goal: `conv at CAP ${cap}: <= 1.2x oracle GPU-hours, <= 1/3 of the reactive's stranded`,
      hard: true,
      met: cost && stranded.met,
      figures: `${ours.gpuHours.toFixed(2)} GPU-h = ${ours.xOracle.toFixed(2)}x oracle; ${stranded.text}`,
    });
  }
  for (const cap of [4, 8]) {
    const s = find("code", cap);
    if (s === undefined) continue;
    const ours = byPolicy(s, "ours");
    const fixed = byPolicy(s, "peak-fixed");
    const stranded = strandedRule(s);
    const cost = ours.gpuHours <= 0.6 * fixed.gpuHours + 1e-9;
    results.push({
      goal: `code at CAP ${cap}: <= 60% of peak-fixed GPU-hours, <= 1/3 of the reactive's stranded${cap === 8 ? " (target)" : ""}`,
      hard: cap === 4,
      met: cost && stranded.met,
      figures: `${ours.gpuHours.toFixed(2)} GPU-h vs at most ${(0.6 * fixed.gpuHours).toFixed(2)}; ${stranded.text} (${(100 * ours.strandedShare).toFixed(1)}%)`,
    });
    if (cap === 8) {
      const share = ours.minutesShort / ours.minutes;
      results.push({
        goal: "code at CAP 8: <= 1.5x oracle with under 5% of minutes short (stretch)",
        hard: false,
        met: ours.xOracle <= 1.5 && share < 0.05,
        figures: `${ours.xOracle.toFixed(2)}x oracle, ${ours.minutesShort} of ${ours.minutes} minutes short (${(100 * share).toFixed(1)}%)`,
      });
    }
  }
  return results;
}

export function scenarioTable(scenario: Scenario): string {
  const lines = [
    `**${scenario.trace} trace, CAP ${scenario.cap}, boot ${scenario.bootSeconds} s**`,
    "",
    "| policy | GPU-h | x oracle | stranded | minutes short | scale-ups / downs | stopped < 10 min after ready | added wait p50 / p99 (s) |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const r of scenario.rows) {
    lines.push(
      `| ${r.policy} | ${r.gpuHours.toFixed(2)} | ${r.xOracle.toFixed(2)} | ${r.stranded} (${(100 * r.strandedShare).toFixed(1)}%) | ${r.minutesShort} of ${r.minutes} | ${r.scaleUps} / ${r.scaleDowns} | ${r.stoppedSoon} | ${
        r.waitP50 === undefined ? "" : `${r.waitP50.toFixed(1)} / ${(r.waitP99 ?? 0).toFixed(1)}`
      } |`,
    );
  }
  return lines.join("\n");
}

/** A point of the cost / stranding plane. */
export interface FrontierPoint {
  label: string;
  gpuHours: number;
  strandedShare: number;
  kind: "baseline" | "knobs" | "defaults";
  /** A few characters to print beside a frontier point. */
  short?: string;
}

/** Our policy over a grid of its knobs, on one trace and CAP, for the frontier plot. */
export async function knobFrontier(
  traceName: TraceName,
  cap: number,
  grid: readonly { knobs: Record<string, number>; short: string }[],
): Promise<FrontierPoint[]> {
  const trace = loadTrace(traceName);
  const need = needPerMinute(concurrency(trace).peakPerMinute, cap);
  const points: FrontierPoint[] = [];
  for (const { knobs, short } of grid) {
    const result = await replay(trace, { cap, warmReplicas: need[0] ?? 0, horizonMinutes: horizonMinutes(trace), knobs, mode: "count" });
    points.push({
      label: Object.entries(knobs)
        .map(([k, v]) => `${k}=${v}`)
        .join(", "),
      gpuHours: result.gpuHours,
      strandedShare: result.stranded / result.requests,
      kind: "knobs",
      short,
    });
  }
  return points;
}

/** The frontier as a small self-contained SVG (no dependency): GPU-hours across, stranded share up. */
export function frontierSvg(
  title: string,
  points: readonly FrontierPoint[],
  target?: { gpuHours: number; strandedShare: number; label: string },
): string {
  const width = 720;
  const height = 440;
  const margin = { left: 70, right: 230, top: 40, bottom: 50 };
  const maxX = Math.max(...points.map((p) => p.gpuHours)) * 1.05;
  const maxY = Math.max(0.01, ...points.map((p) => p.strandedShare)) * 1.1;
  const x = (v: number) => margin.left + (v / maxX) * (width - margin.left - margin.right);
  const y = (v: number) => height - margin.bottom - (v / maxY) * (height - margin.top - margin.bottom);
  const xmlText = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const color = { baseline: "#c0392b", knobs: "#7f8c8d", defaults: "#2471a3" } as const;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="frontier-title" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title id="frontier-title">${xmlText(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${margin.left}" y="22" font-size="14">${xmlText(title)}</text>`,
    `<line x1="${margin.left}" y1="${y(0)}" x2="${x(maxX)}" y2="${y(0)}" stroke="black"/>`,
    `<line x1="${margin.left}" y1="${y(0)}" x2="${margin.left}" y2="${y(maxY)}" stroke="black"/>`,
    `<text x="${(margin.left + x(maxX)) / 2}" y="${height - 12}" text-anchor="middle">GPU-hours paid</text>`,
    `<text transform="translate(18 ${(y(0) + y(maxY)) / 2}) rotate(-90)" text-anchor="middle">requests stranded (%)</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const gx = (maxX * i) / 5;
    const gy = (maxY * i) / 5;
    parts.push(`<text x="${x(gx)}" y="${y(0) + 16}" text-anchor="middle">${gx.toFixed(1)}</text>`);
    parts.push(`<text x="${margin.left - 6}" y="${(y(gy) + 4).toFixed(1)}" text-anchor="end">${(100 * gy).toFixed(1)}</text>`);
    parts.push(`<line x1="${margin.left}" y1="${y(gy).toFixed(1)}" x2="${x(maxX)}" y2="${y(gy).toFixed(1)}" stroke="#eee"/>`);
  }
  if (target !== undefined) {
    parts.push(
      `<rect x="${margin.left}" y="${y(target.strandedShare).toFixed(1)}" width="${(x(target.gpuHours) - margin.left).toFixed(1)}" height="${(y(0) - y(target.strandedShare)).toFixed(1)}" fill="#27ae60" fill-opacity="0.12" stroke="#27ae60"/>`,
      `<text x="${margin.left + 4}" y="${(y(target.strandedShare) - 4).toFixed(1)}" fill="#1e8449">${xmlText(target.label)}</text>`,
    );
  }
  // The knob grid's lower-left envelope: no point of the grid is both cheaper and less stranded.
  const envelope = points
    .filter((p) => p.kind === "knobs")
    .filter((p, _, all) => !all.some((q) => q !== p && q.gpuHours <= p.gpuHours && q.strandedShare <= p.strandedShare && (q.gpuHours < p.gpuHours || q.strandedShare < p.strandedShare)))
    .sort((a, b) => a.gpuHours - b.gpuHours);
  if (envelope.length > 1) {
    parts.push(`<polyline fill="none" stroke="${color.defaults}" stroke-dasharray="4 3" points="${envelope.map((p) => `${x(p.gpuHours).toFixed(1)},${y(p.strandedShare).toFixed(1)}`).join(" ")}"/>`);
  }
  let legend = 0;
  for (const p of points) {
    const cx = x(p.gpuHours).toFixed(1);
    const cy = y(p.strandedShare).toFixed(1);
    const tip = `${p.label}: ${p.gpuHours.toFixed(2)} GPU-h, ${(100 * p.strandedShare).toFixed(1)}% stranded`;
    parts.push(`<circle cx="${cx}" cy="${cy}" r="${p.kind === "knobs" ? 3 : 5}" fill="${color[p.kind]}"><title>${xmlText(tip)}</title></circle>`);
    if (p.kind !== "knobs") {
      parts.push(`<text x="${Number(cx) + 7}" y="${Number(cy) - 6}" fill="${color[p.kind]}">${xmlText(p.label)}</text>`);
    } else if (envelope.includes(p) && p.short !== undefined) {
      parts.push(`<text x="${Number(cx) + 5}" y="${Number(cy) + 12}" fill="${color.knobs}" font-size="9">${xmlText(p.short)}</text>`);
    }
    legend++;
  }
  const lx = width - margin.right + 15;
  parts.push(`<circle cx="${lx}" cy="${margin.top + 10}" r="5" fill="${color.baseline}"/><text x="${lx + 10}" y="${margin.top + 14}">baselines</text>`);
  parts.push(`<circle cx="${lx}" cy="${margin.top + 30}" r="5" fill="${color.defaults}"/><text x="${lx + 10}" y="${margin.top + 34}">ours, defaults</text>`);
  parts.push(`<circle cx="${lx}" cy="${margin.top + 50}" r="3" fill="${color.knobs}"/><text x="${lx + 10}" y="${margin.top + 54}">ours, other knob settings (${legend - points.filter((p) => p.kind !== "knobs").length})</text>`);
  parts.push(`<line x1="${lx - 6}" y1="${margin.top + 70}" x2="${lx + 6}" y2="${margin.top + 70}" stroke="${color.defaults}" stroke-dasharray="4 3"/><text x="${lx + 10}" y="${margin.top + 74}">frontier the knobs reach</text>`);
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
