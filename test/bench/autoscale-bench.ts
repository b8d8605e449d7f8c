import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type FrontierPoint, frontierSvg, judgeGoals, knobFrontier, runScenario, type Scenario, scenarioTable } from "./autoscale/bench";
import { TRACE_NAMES, type TraceName } from "./autoscale/trace";

/**
 * `npm run bench:autoscale`: replays the Azure LLM 2023 traces through the production controller
 * tick and compares our autoscaler with the oracle, peak-fixed and reactive fleets. Exits 1 when a
 * hard goal fails. Options: --cap N (default: 8 and 4), --boot SECONDS (default 300), --trace code|conv,
 * --minutes N (replay only the first minutes), --svg PATH (where the frontier plot goes; "" skips it).
 */
const { values } = parseArgs({
  options: {
    cap: { type: "string" },
    boot: { type: "string", default: "300" },
    trace: { type: "string" },
    minutes: { type: "string" },
    svg: { type: "string", default: join(dirname(fileURLToPath(import.meta.url)), "../../docs/autoscale-frontier.svg") },
  },
});

const caps = values.cap === undefined ? [8, 4] : [Number(values.cap)];
const boot = Number(values.boot);
const traces = values.trace === undefined ? [...TRACE_NAMES] : [values.trace as TraceName];
if (caps.some((c) => !Number.isInteger(c) || c < 1) || !Number.isFinite(boot) || boot < 0 || traces.some((t) => !TRACE_NAMES.includes(t))) {
  console.error("usage: autoscale-bench [--cap N] [--boot SECONDS] [--trace code|conv] [--minutes N] [--svg PATH]");
  process.exit(2);
}
const minutes = values.minutes === undefined ? undefined : Number(values.minutes);

const started = performance.now();
const scenarios: Scenario[] = [];
for (const trace of traces) {
  for (const cap of caps) {
    const scenario = await runScenario(trace, { cap, bootSeconds: boot, ...(minutes === undefined ? {} : { minutes }) });
    scenarios.push(scenario);
    console.log(`${scenarioTable(scenario)}\n`);
  }
}

const full = minutes === undefined && boot === 300;
const goals = judgeGoals(scenarios);
if (goals.length > 0) {
  console.log("Goals (defaults, 5-minute boot, 60 s tick, min_workers 0):\n");
  for (const g of goals) console.log(`- ${g.met ? "met" : "MISSED"}${g.hard ? "" : " (not a hard goal)"}: ${g.goal}: ${g.figures}`);
  console.log("");
}

const code8 = scenarios.find((s) => s.trace === "code" && s.cap === 8);
if (full && code8 !== undefined && values.svg !== "") {
  // Our knobs over a grid against the three baselines, on the hardest point.
  const grid: { knobs: Record<string, number>; short: string }[] = [];
  for (const headroom of [0, 0.05, 0.1, 0.2, 0.35]) {
    for (const stabilization of [120, 300, 600]) {
      grid.push({ knobs: { headroom, scale_down_stabilization_seconds: stabilization }, short: `h${headroom} s${stabilization}` });
    }
  }
  const points: FrontierPoint[] = [
    ...code8.rows
      .filter((r) => !r.policy.includes("wait"))
      .map((r) => ({
        label: r.policy === "ours" ? "ours, defaults" : r.policy.replace(/ \(.*\)$/, ""),
        gpuHours: r.gpuHours,
        strandedShare: r.strandedShare,
        kind: r.policy === "ours" ? ("defaults" as const) : ("baseline" as const),
      })),
    ...(await knobFrontier("code", 8, grid)),
  ];
  const fixed = code8.rows.find((r) => r.policy === "peak-fixed");
  const reactive = code8.rows.find((r) => r.policy.startsWith("reactive"));
  const target =
    fixed === undefined || reactive === undefined
      ? undefined
      : { gpuHours: 0.6 * fixed.gpuHours, strandedShare: reactive.strandedShare / 3, label: "target: <= 60% of peak-fixed, <= 1/3 of reactive's stranded" };
  writeFileSync(values.svg, frontierSvg("code trace, CAP 8: cost / stranding frontier of our knobs vs the baselines", points, target));
  console.log(`frontier (headroom x scale_down_stabilization_seconds) written to ${values.svg}:`);
  for (const p of points.filter((q) => q.kind === "knobs")) {
    console.log(`- ${p.label}: ${p.gpuHours.toFixed(2)} GPU-h, ${(100 * p.strandedShare).toFixed(1)}% stranded`);
  }
  console.log("");
}

console.log(`replayed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
const failed = goals.filter((g) => g.hard && !g.met);
if (failed.length > 0) {
  console.error(`${failed.length} hard goal(s) missed`);
  process.exit(1);
}
