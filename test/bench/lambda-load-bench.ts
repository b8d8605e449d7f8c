import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type BundleSettings, bundleFunction, type LoadCost, lambdaLoadEnvironment, loadOnce, writeLoader } from "../support/lambda-load";

/**
 * `npm run bench:lambda-load [-- --against <checkout>] [--rounds 7]`: each Lambda function's cold
 * start load (CPU ms, as functions/test/bundles.test.ts measures it) for this checkout and,
 * side by side, for another checkout of the repository (an older commit in a `git worktree` with
 * its own `npm ci`), each bundled with its own checkout's `LAMBDA_BUNDLE` settings. The loads are
 * interleaved (one of each function of each checkout per round) so both see the same machine.
 * Prints a markdown table (docs/benchmarks.md, "Lambda bundle load").
 */
const { values } = parseArgs({ options: { against: { type: "string" }, rounds: { type: "string", default: "7" } } });
const rounds = Number(values.rounds);
const checkouts = [resolve(new URL("../..", import.meta.url).pathname), ...(values.against === undefined ? [] : [resolve(values.against)])];

interface Built {
  checkout: string;
  entry: string;
  file: string;
  bytes: number;
  loader: string;
  loads: LoadCost[];
}

const built: Built[] = [];
for (const checkout of checkouts) {
  const { LAMBDA_BUNDLE } = (await import(join(checkout, "packages/aws/src/deployment.ts"))) as { LAMBDA_BUNDLE: BundleSettings };
  // Inside the checkout's node_modules: what the bundles leave external resolves there, and no tool reads it.
  const outDir = join(checkout, "node_modules", ".lambda-load-bench");
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const loader = writeLoader(outDir);
  const entries = readdirSync(join(checkout, "functions")).filter((name) => name.endsWith(".ts"));
  for (const entry of entries) {
    const name = entry.replace(/\.ts$/, "");
    const dir = await bundleFunction(join(checkout, "functions", entry), name, outDir, LAMBDA_BUNDLE);
    const bytes = readdirSync(dir).reduce((sum, file) => sum + statSync(join(dir, file)).size, 0);
    built.push({ checkout, entry: name, file: join(dir, `${name}.mjs`), bytes, loader, loads: [] });
  }
}

// The older checkout reads the projects' queue URL under its earlier name.
const env = lambdaLoadEnvironment({ INFERENCEKEY_PROJECT_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/inferencekey-bundle-test-passes" });
for (let round = 0; round < rounds; round++) {
  for (const bundle of built) bundle.loads.push(await loadOnce(bundle.loader, bundle.file, env));
}

const describe = (bundle: Built | undefined): string => {
  if (bundle === undefined) return "-";
  const imports = bundle.loads.map((load) => load.importMs).sort((a, b) => a - b);
  const best = bundle.loads.reduce((a, b) => (b.importMs < a.importMs ? b : a));
  return `${Math.round(best.importMs)} ms (median ${Math.round(imports[Math.floor(imports.length / 2)] ?? Number.NaN)}; ${Math.round(best.settledMs)} with background work), ${Math.round(bundle.bytes / 1000)} KB`;
};
const names = [...new Set(built.map((bundle) => bundle.entry))].sort();
console.log(`| function | ${checkouts.map((checkout) => `\`${checkout}\``).join(" | ")} |`);
console.log(`| --- | ${checkouts.map(() => "---").join(" | ")} |`);
for (const name of names) {
  console.log(`| ${name} | ${checkouts.map((checkout) => describe(built.find((bundle) => bundle.checkout === checkout && bundle.entry === name))).join(" | ")} |`);
}
console.log(`\nCPU ms to load, best (and median) of ${rounds} interleaved rounds, Node ${process.versions.node}.`);
