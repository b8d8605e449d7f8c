import { parseArgs } from "node:util";
import { buildFleet, measureFanOutTick, measureSequentialTick, row, TABLE_HEADER } from "./fanout/fleet";

/**
 * `npm run bench:fanout`: the controller tick fanned out per project over --projects x --per-project
 * workloads (default 500 x 20 = 10,000) on the memory store with --latency ms per store call
 * (default 5): the first tick at the first --concurrency level (comma-separated concurrent project
 * passes, default 50,10,100), a steady tick at each;
 * then a sequential tick over --sequential projects of the same fleet shape for comparison. Prints a
 * markdown table (docs/benchmarks.md, "Controller fan-out").
 */
const { values } = parseArgs({
  options: {
    projects: { type: "string", default: "500" },
    "per-project": { type: "string", default: "20" },
    latency: { type: "string", default: "5" },
    concurrency: { type: "string", default: "50,10,100" },
    sequential: { type: "string", default: "10" },
  },
});
const projects = Number(values.projects);
const perProject = Number(values["per-project"]);
const latencyMs = Number(values.latency);
const levels = (values.concurrency ?? "").split(",").map(Number);
const sequentialProjects = Number(values.sequential);

const setup = performance.now();
const fleet = await buildFleet(projects, perProject);
console.error(`setup: ${fleet.workloads} workloads in ${((performance.now() - setup) / 1000).toFixed(1)} s`);
const lines = [...TABLE_HEADER];
// The first tick places one replica per workload (at the first concurrency level); the steady ticks,
// once every worker reported its replicas ready, only confirm (at each level).
lines.push(row("first (places 1 replica each)", await measureFanOutTick(fleet, { concurrency: levels[0] ?? 50, latencyMs })));
console.error(lines.at(-1));
await fleet.reportReady();
for (const concurrency of levels) {
  lines.push(row("steady (all ready)", await measureFanOutTick(fleet, { concurrency, latencyMs })));
  console.error(lines.at(-1));
}
if (sequentialProjects > 0) {
  const small = await buildFleet(sequentialProjects, perProject);
  lines.push(row("first (places 1 replica each)", await measureSequentialTick(small, latencyMs)));
  await small.reportReady();
  lines.push(row("steady (all ready)", await measureSequentialTick(small, latencyMs)));
}
console.log(lines.join("\n"));
