import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { LAMBDA_BUNDLE, LAMBDA_BUNDLE_BUDGET } from "@inferencekey/aws/deployment";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Every Lambda entry in functions/, bundled as infra/functions.ts has SST bundle it (one esbuild run
 * per function, split into chunks), stays under the size budget, loads at init only the AWS SDK
 * clients it uses on every path (the others are chunks loaded on first use), and loading it (what a
 * cold start pays before the first invocation) costs little more CPU than loading the platform code
 * it wraps, bundled the same way. CPU time, best of three, in fresh Node processes: wall time on
 * this shared two-core machine measures the neighbours. The bundles sit in the repository (beside
 * node_modules) so what they leave external (the AWS SDK the runtime ships, packages installed
 * beside them) resolves and loads too.
 *
 * The target is `LAMBDA_BUNDLE_BUDGET.targetLoadMs` (150 ms) per entry. Here the platform code alone
 * (core, the DynamoDB client, measured as `floor`) costs about 200-270 ms of CPU, so no entry reaches
 * it on this machine; measured per entry (docs/benchmarks.md, "Lambda bundle load"): admin-token
 * 160-200 ms, agent-api 200-300, control-api 220-290, controller-project 270-350, controller-tick
 * 280-440 (its SQS client), gateway 300-315, jobs-consumer ~365 (its SQS, EventBridge and S3 clients). The test prints each
 * entry's numbers and asserts the target when the floor meets it, and the bound over the floor for
 * every entry but those in OVER_LOAD_BOUND (each with its reason).
 */
const FUNCTIONS_DIR = new URL("..", import.meta.url).pathname;
const entries = readdirSync(FUNCTIONS_DIR).filter((name) => name.endsWith(".ts"));
const outDir = mkdtempSync(join(FUNCTIONS_DIR, ".bundles-"));
const run = promisify(execFile);

/** The AWS SDK clients each entry loads at init; anything else it needs is loaded on first use. */
const CLIENTS_AT_INIT: Record<string, string[]> = {
  "admin-token.ts": ["client-dynamodb"],
  "agent-api.ts": ["client-dynamodb"],
  "control-api.ts": ["client-dynamodb"],
  "controller-project.ts": ["client-dynamodb"],
  // Every tick fans out through the project queue (infra/controller.ts sets its URL).
  "controller-tick.ts": ["client-dynamodb", "client-sqs"],
  // S3 (images asked for as URLs, large job inputs), SQS and EventBridge (jobs) load on first use.
  "gateway.ts": ["client-dynamodb"],
  // Every batch reads and writes jobs (DynamoDB), settles messages (SQS), publishes their events
  // (EventBridge) and may read a large input or write a large result (S3).
  "jobs-consumer.ts": ["client-dynamodb", "client-eventbridge", "client-s3", "client-sqs"],
};
/** Entries over the load bound, with why (docs/benchmarks.md, "Lambda bundle load"). */
const OVER_LOAD_BOUND: Record<string, string> = {
  "jobs-consumer.ts": "its SQS, EventBridge and S3 clients (every batch settles messages, publishes job events, may move a large input or result): about 180 ms over the platform code",
  "controller-tick.ts": "its SQS client (the fan-out, used on every tick, so loading it later saves nothing): 30-170 ms over the platform code",
};
/** The clients a controller loads on its first pass with a node pool. */
const NODE_POOL_CLIENTS = ["client-ec2", "client-ssm"];

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
import { lambdaPlatformContext, ServerSecretHolder } from "@inferencekey/aws/env";
import { createControlApi } from "@inferencekey/core";
export const api = createControlApi(lambdaPlatformContext(new ServerSecretHolder()));
`;

/** One esbuild run per function, into its own directory, as SST bundles (what is installed beside a bundle is external to all). */
async function bundle(entry: string, name: string): Promise<string> {
  const dir = join(outDir, name);
  await build({
    entryPoints: [{ in: entry, out: name }],
    bundle: true,
    platform: "node",
    target: "node22",
    format: LAMBDA_BUNDLE.format,
    minify: LAMBDA_BUNDLE.minify,
    splitting: LAMBDA_BUNDLE.splitting,
    external: [...LAMBDA_BUNDLE.external, ...Object.values(LAMBDA_BUNDLE.install).flat()],
    banner: { js: LAMBDA_BUNDLE.banner },
    outdir: dir,
    outExtension: { ".js": ".mjs" },
    logLevel: "silent",
  });
  return dir;
}

/** The AWS SDK clients a bundle file imports, at init (static imports, through its chunks) or on first use (`import()`). */
function sdkClients(dir: string, file: string): { atInit: Set<string>; onFirstUse: Set<string> } {
  const atInit = new Set<string>();
  const onFirstUse = new Set<string>();
  const visit = (name: string, lazy: boolean, seen: Set<string>) => {
    if (seen.has(name)) return;
    seen.add(name);
    const code = readFileSync(join(dir, name), "utf8");
    for (const [, client] of code.matchAll(/\bfrom\s*"@aws-sdk\/(client-[a-z0-9-]+)"/g)) (lazy ? onFirstUse : atInit).add(client as string);
    for (const [, chunk] of code.matchAll(/(?:\bfrom\s*|\bimport\s*)"\.\/([\w.-]+\.mjs)"/g)) visit(chunk as string, lazy, seen);
    for (const [, chunk] of code.matchAll(/\bimport\(\s*"\.\/([\w.-]+\.mjs)"\s*\)/g)) visit(chunk as string, true, seen);
  };
  visit(file, false, new Set());
  for (const client of atInit) onFirstUse.delete(client);
  return { atInit, onFirstUse };
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

const dirs = new Map<string, string>();
let floorMs = 0;

beforeAll(async () => {
  writeFileSync(loader, LOADER);
  const floorEntry = join(outDir, "floor.ts");
  writeFileSync(floorEntry, FLOOR);
  const floorDir = await bundle(floorEntry, "floor");
  for (const entry of entries) dirs.set(entry, await bundle(join(FUNCTIONS_DIR, entry), entry.replace(/\.ts$/, "")));
  floorMs = await loadCpuMs(join(floorDir, "floor.mjs"));
}, 120_000);

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("Lambda bundles", () => {
  it("every entry has its list of AWS SDK clients loaded at init", () => {
    expect(Object.keys(CLIENTS_AT_INIT).sort()).toEqual([...entries].sort());
  });

  it.each(entries)("%s stays under the size budget and loads at init only the AWS SDK clients it always uses", (entry) => {
    const name = entry.replace(/\.ts$/, "");
    const dir = dirs.get(entry) as string;

    const bytes = readdirSync(dir).reduce((sum, file) => sum + statSync(join(dir, file)).size, 0);
    const { atInit, onFirstUse } = sdkClients(dir, `${name}.mjs`);

    expect(bytes).toBeLessThan(LAMBDA_BUNDLE_BUDGET.maxBytes);
    expect([...atInit].sort(), entry).toEqual(CLIENTS_AT_INIT[entry]);
    if (entry.startsWith("controller-")) expect([...onFirstUse], entry).toEqual(expect.arrayContaining(NODE_POOL_CLIENTS));
  });

  it.each(entries.filter((entry) => OVER_LOAD_BOUND[entry] === undefined))("%s loads at little more cost than the platform code", async (entry) => {
    const name = entry.replace(/\.ts$/, "");

    const loadMs = await loadCpuMs(join(dirs.get(entry) as string, `${name}.mjs`));

    const message = `${entry}: ${Math.round(loadMs)} ms of CPU to load (target ${LAMBDA_BUNDLE_BUDGET.targetLoadMs} ms), ${Math.round(floorMs)} ms for the platform code`;
    console.log(message);
    const allowedMs = Math.max(LAMBDA_BUNDLE_BUDGET.maxEntryOverheadMs, LAMBDA_BUNDLE_BUDGET.maxEntryOverheadShare * floorMs);
    expect(loadMs - floorMs, message).toBeLessThan(allowedMs);
    if (floorMs < LAMBDA_BUNDLE_BUDGET.targetLoadMs) expect(loadMs, message).toBeLessThan(LAMBDA_BUNDLE_BUDGET.targetLoadMs);
  }, 60_000);
});
