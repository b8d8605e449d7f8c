import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LAMBDA_BUNDLE, LAMBDA_BUNDLE_BUDGET } from "@inferencekey/aws/deployment";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bestLoad, bundleFunction, lambdaLoadEnvironment, writeLoader } from "../../test/support/lambda-load";

/**
 * Every Lambda entry in functions/, bundled as infra/functions.ts has SST bundle it (one esbuild run
 * per function, split into chunks), stays under the size budget, loads at init only the AWS SDK
 * clients it uses on every path (none: those calls go through `AwsJsonClient`; the others are
 * chunks loaded on first use), and loads (what a cold start pays before the first invocation) in
 * under `LAMBDA_BUNDLE_BUDGET.targetLoadMs` (150 ms) of CPU, best of five, measured as
 * test/support/lambda-load.ts describes. The bundles sit in the repository (beside node_modules) so
 * what they leave external (the AWS SDK clients the runtime ships, packages installed beside them)
 * resolves and loads too. Tracing off is the default deployment (`INFERENCEKEY_TRACING`); with
 * tracing active the X-Ray tracer adds its own load, printed (docs/benchmarks.md, "Lambda bundle
 * load") and not held to the target. `npm test` runs this file alone, after the other suites.
 */
const FUNCTIONS_DIR = new URL("..", import.meta.url).pathname;
const entries = readdirSync(FUNCTIONS_DIR).filter((name) => name.endsWith(".ts"));
const outDir = mkdtempSync(join(FUNCTIONS_DIR, ".bundles-"));

/**
 * The AWS SDK clients each entry loads at init; anything else it needs is loaded on first use. The
 * calls every invocation makes (DynamoDB, the SSM secret, SQS, EventBridge) go through
 * `AwsJsonClient`, so no entry loads an SDK client at init.
 */
const CLIENTS_AT_INIT: Record<string, string[]> = {
  "admin-token.ts": [],
  "agent-api.ts": [],
  "control-api.ts": [],
  "controller-project.ts": [],
  "controller-tick.ts": [],
  "gateway.ts": [],
  "jobs-consumer.ts": [],
};
/** The clients a controller loads on its first pass with a node pool. */
const NODE_POOL_CLIENTS = ["client-ec2", "client-ssm"];
/**
 * The SDK clients each entry loads on first use (an `import()`ed chunk), for the requests that need
 * them: S3 for job inputs and results over 256 KB (and the gateway's images asked for as URLs).
 */
const CLIENTS_ON_FIRST_USE: Record<string, string[]> = {
  "admin-token.ts": [],
  "agent-api.ts": [],
  "control-api.ts": [],
  "controller-project.ts": [...NODE_POOL_CLIENTS, "client-s3"].sort(),
  "controller-tick.ts": [...NODE_POOL_CLIENTS, "client-s3"].sort(),
  "gateway.ts": ["client-s3"],
  "jobs-consumer.ts": ["client-s3"],
};

/** The files of a bundle its entry loads at init (static imports, through its chunks) and those it loads on first use (`import()`). */
function bundleGraph(dir: string, file: string): { atInit: Set<string>; onFirstUse: Set<string> } {
  const atInit = new Set<string>();
  const onFirstUse = new Set<string>();
  const visit = (name: string, lazy: boolean) => {
    if (atInit.has(name) || (lazy && onFirstUse.has(name))) return;
    (lazy ? onFirstUse : atInit).add(name);
    const code = readFileSync(join(dir, name), "utf8");
    for (const [, chunk] of code.matchAll(/(?:\bfrom\s*|\bimport\s*)"\.\/([\w.-]+\.mjs)"/g)) visit(chunk as string, lazy);
    for (const [, chunk] of code.matchAll(/\bimport\(\s*"\.\/([\w.-]+\.mjs)"\s*\)/g)) visit(chunk as string, true);
  };
  visit(file, false);
  for (const name of atInit) onFirstUse.delete(name);
  return { atInit, onFirstUse };
}

/** The AWS SDK clients a bundle file imports, at init or on first use. */
function sdkClients(dir: string, file: string): { atInit: Set<string>; onFirstUse: Set<string> } {
  const graph = bundleGraph(dir, file);
  const clientsOf = (files: Set<string>) =>
    new Set([...files].flatMap((name) => [...readFileSync(join(dir, name), "utf8").matchAll(/\bfrom\s*"@aws-sdk\/(client-[a-z0-9-]+)"/g)].map((match) => match[1] as string)));
  const atInit = clientsOf(graph.atInit);
  const onFirstUse = clientsOf(graph.onFirstUse);
  for (const client of atInit) onFirstUse.delete(client);
  return { atInit, onFirstUse };
}

/** Whether any of these bundle files holds the X-Ray SDK (its daemon address variable is in its code). */
function holdsXRay(dir: string, files: Iterable<string>): boolean {
  return [...files].some((name) => readFileSync(join(dir, name), "utf8").includes("AWS_XRAY_DAEMON_ADDRESS"));
}

const dirs = new Map<string, string>();

let loader = "";

beforeAll(async () => {
  loader = writeLoader(outDir);
  for (const entry of entries) dirs.set(entry, await bundleFunction(join(FUNCTIONS_DIR, entry), entry.replace(/\.ts$/, ""), outDir, LAMBDA_BUNDLE));
}, 120_000);

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("Lambda bundles", () => {
  it("every entry has its list of AWS SDK clients loaded at init", () => {
    expect(Object.keys(CLIENTS_AT_INIT).sort()).toEqual([...entries].sort());
    expect(Object.keys(CLIENTS_ON_FIRST_USE).sort()).toEqual([...entries].sort());
  });

  it.each(entries)("%s stays under the size budget and loads at init only the AWS SDK clients it always uses", (entry) => {
    const name = entry.replace(/\.ts$/, "");
    const dir = dirs.get(entry) as string;

    const bytes = readdirSync(dir).reduce((sum, file) => sum + statSync(join(dir, file)).size, 0);
    const { atInit, onFirstUse } = sdkClients(dir, `${name}.mjs`);

    expect(bytes).toBeLessThan(LAMBDA_BUNDLE_BUDGET.maxBytes);
    expect([...atInit].sort(), entry).toEqual(CLIENTS_AT_INIT[entry]);
    expect([...onFirstUse].sort(), entry).toEqual(CLIENTS_ON_FIRST_USE[entry]);
  });

  it.each(entries)("%s holds the X-Ray tracer in a chunk it loads only when tracing is on", (entry) => {
    const dir = dirs.get(entry) as string;

    const graph = bundleGraph(dir, `${entry.replace(/\.ts$/, "")}.mjs`);

    expect(holdsXRay(dir, graph.atInit), entry).toBe(false);
    expect(holdsXRay(dir, graph.onFirstUse), entry).toBe(true);
  });

  it("keeps core's English validation messages when bundled (zod/mini sets no locale by itself)", async () => {
    // Prepare
    const probe = join(outDir, "messages-probe.ts");
    writeFileSync(probe, 'import { CatalogDataSchema } from "@inferencekey/core";\nexport const problem = () => JSON.stringify(CatalogDataSchema.safeParse({ date: 7 }).error?.issues.map((issue) => issue.message));\n');
    const dir = await bundleFunction(probe, "messages-probe", outDir, LAMBDA_BUNDLE);

    // Act
    const { problem } = (await import(join(dir, "messages-probe.mjs"))) as { problem: () => string };

    // Assess
    expect(problem()).toContain("Invalid input: expected string");
  });

  it.each(entries)("%s loads in under the target's CPU time (tracing off; the cost with tracing on is printed)", async (entry) => {
    const file = join(dirs.get(entry) as string, `${entry.replace(/\.ts$/, "")}.mjs`);

    const load = await bestLoad(loader, file, lambdaLoadEnvironment());
    const traced = await bestLoad(loader, file, lambdaLoadEnvironment({ INFERENCEKEY_TRACING: "active" }));
    const loadMs = load.importMs;
    const tracedMs = traced.importMs;

    const message = `${entry}: ${Math.round(loadMs)} ms of CPU to load (target ${LAMBDA_BUNDLE_BUDGET.targetLoadMs} ms), ${Math.round(load.settledMs)} ms with what it started in the background; ${Math.round(tracedMs)} ms with X-Ray tracing active`;
    console.log(message);
    expect(loadMs, message).toBeLessThan(LAMBDA_BUNDLE_BUDGET.targetLoadMs);
  }, 120_000);
});
