import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { LAMBDA_BUNDLE, LAMBDA_BUNDLE_BUDGET } from "@inferencekey/aws";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Every Lambda entry in functions/, bundled as infra/functions.ts has SST bundle it, stays under
 * the size budget, and loading it (what a cold start pays before the first invocation) costs
 * little more CPU than loading the platform code it wraps, bundled the same way. CPU time, best
 * of three, in fresh Node processes: wall time on this shared two-core machine measures the
 * neighbours. The bundles sit in the repository (beside node_modules) so what they leave external
 * (the AWS SDK the runtime ships, packages installed beside them) resolves and loads too.
 */
const FUNCTIONS_DIR = new URL("..", import.meta.url).pathname;
const entries = readdirSync(FUNCTIONS_DIR).filter((name) => name.endsWith(".ts"));
const outDir = mkdtempSync(join(FUNCTIONS_DIR, ".bundles-"));
const run = promisify(execFile);

/** Loads the bundle in a new process; prints the CPU time the load took, in ms. */
const LOADER = `
globalThis.awslambda = { streamifyResponse: (handler) => handler, HttpResponseStream: { from: (stream) => stream } };
const started = process.cpuUsage();
await import(process.argv[2]);
const used = process.cpuUsage(started);
process.stdout.write(String((used.user + used.system) / 1000));
process.exit(0);
`;
const loader = join(outDir, "load.mjs");
/** The platform code every entry wraps, without the entry's layers. */
const FLOOR = `
import { lambdaPlatformContext, ServerSecretHolder } from "@inferencekey/aws";
import { createControlApi } from "@inferencekey/core";
export const api = createControlApi(lambdaPlatformContext(new ServerSecretHolder()));
`;

/** One esbuild run for every entry and the floor (what is installed beside a bundle is external to all). */
async function bundleAll(entryPoints: { in: string; out: string }[]): Promise<void> {
  await build({
    entryPoints,
    bundle: true,
    platform: "node",
    target: "node22",
    format: LAMBDA_BUNDLE.format,
    minify: LAMBDA_BUNDLE.minify,
    external: [...LAMBDA_BUNDLE.external, ...Object.values(LAMBDA_BUNDLE.install).flat()],
    banner: { js: LAMBDA_BUNDLE.banner },
    outdir: outDir,
    outExtension: { ".js": ".mjs" },
    logLevel: "silent",
  });
}

/** The best of three loads, in ms of CPU, with the environment infra/ gives the functions. */
async function loadCpuMs(file: string): Promise<number> {
  const env = {
    ...process.env,
    INFERENCEKEY_TABLE: "inferencekey-bundle-test",
    INFERENCEKEY_SERVER_SECRET_PARAMETER: "/inferencekey/bundle-test/server-secret",
    // Nothing listens there: the secrets middleware's read at init fails after the load is measured.
    AWS_ENDPOINT_URL_SSM: "http://127.0.0.1:9",
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
  };
  const loads: number[] = [];
  for (let i = 0; i < 3; i++) loads.push(Number((await run(process.execPath, [loader, file], { env })).stdout));
  return Math.min(...loads);
}

let floorMs = 0;

beforeAll(async () => {
  writeFileSync(loader, LOADER);
  const floorEntry = join(outDir, "floor.ts");
  writeFileSync(floorEntry, FLOOR);
  await bundleAll([
    { in: floorEntry, out: "floor" },
    ...entries.map((entry) => ({ in: join(FUNCTIONS_DIR, entry), out: entry.replace(/\.ts$/, "") })),
  ]);
  floorMs = await loadCpuMs(join(outDir, "floor.mjs"));
}, 60_000);

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("Lambda bundles", () => {
  it.each(entries)("%s stays under the size budget and loads at little more cost than the platform code", async (entry) => {
    const name = entry.replace(/\.ts$/, "");
    const outfile = join(outDir, `${name}.mjs`);

    const loadMs = await loadCpuMs(outfile);

    expect(statSync(outfile).size).toBeLessThan(LAMBDA_BUNDLE_BUDGET.maxBytes);
    const allowedMs = Math.max(LAMBDA_BUNDLE_BUDGET.maxEntryOverheadMs, LAMBDA_BUNDLE_BUDGET.maxEntryOverheadShare * floorMs);
    expect(loadMs - floorMs, `${entry}: ${Math.round(loadMs)} ms against ${Math.round(floorMs)} ms for the platform code`).toBeLessThan(allowedMs);
  }, 60_000);
});
