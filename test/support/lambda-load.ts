import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { LAMBDA_FUNCTION_ENV } from "./lambda-function-env";

/**
 * How a Lambda function's cold start is measured here (functions/test/bundles.test.ts, `npm run
 * bench:lambda-load`): its bundle built as infra/functions.ts has SST build it, then loaded in a
 * fresh Node 22 process that first plays the Lambda runtime's part (the runtime interface client
 * loads util, assert, fs, http, net, module and path and opens its keep-alive agent before it
 * imports the handler: aws-lambda-nodejs-runtime-interface-client src/index.mjs, RAPIDClient.js),
 * with the environment infra/ gives the function. The server secret's read starts at init, to an
 * https endpoint as on AWS (nothing listens: refused after the load is measured), so TLS loads as
 * it does there. CPU time, not wall time: on a shared two-core machine wall time measures the
 * neighbours.
 */

/** The settings of `LAMBDA_BUNDLE` (packages/aws/src/deployment.ts) a build needs. */
export interface BundleSettings {
  format: "esm";
  minify: boolean;
  splitting: boolean;
  external: readonly string[];
  install: Readonly<Record<string, readonly string[]>>;
  banner: string;
}

/** Loads a bundle after the runtime's own modules; prints the CPU ms of the import, then of the import and one second of what it started. */
export const LAMBDA_RUNTIME_LOADER = `
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
for (const name of ["util", "assert", "fs", "http", "net", "module", "path"]) require(name);
new (require("http").Agent)({ keepAlive: true, maxSockets: 1 });
globalThis.awslambda = { streamifyResponse: (handler) => handler, HttpResponseStream: { from: (stream) => stream } };
const started = process.cpuUsage();
await import(process.argv[2]);
const used = process.cpuUsage(started);
await new Promise((resolve) => setTimeout(resolve, 1000));
const settled = process.cpuUsage(started);
process.stdout.write(\`\${(used.user + used.system) / 1000} \${(settled.user + settled.system) / 1000}\`);
process.exit(0);
`;

/** Writes the loader into `dir` (beside the bundles, so packages they leave external resolve) and returns its path. */
export function writeLoader(dir: string): string {
  const path = join(dir, "load.mjs");
  writeFileSync(path, LAMBDA_RUNTIME_LOADER);
  return path;
}

/**
 * The environment of a function as infra/ configures it (`LAMBDA_FUNCTION_ENV`), on this machine's
 * own; tracing off unless `extra` turns it on. Lambda does not set NODE_EXTRA_CA_CERTS on Node.js 20
 * and later (a CA bundle would be parsed at the first TLS use).
 */
export function lambdaLoadEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _caCerts, INFERENCEKEY_TRACING: _tracing, ...machine } = process.env;
  const { INFERENCEKEY_TRACING: _active, ...configured } = LAMBDA_FUNCTION_ENV;
  return {
    ...machine,
    ...configured,
    AWS_ENDPOINT_URL_SSM: "https://127.0.0.1:9",
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    ...extra,
  };
}

/** One esbuild run for one function, into its own directory, as SST bundles it. */
export async function bundleFunction(entryFile: string, name: string, outDir: string, settings: BundleSettings): Promise<string> {
  const dir = join(outDir, name);
  await build({
    entryPoints: [{ in: entryFile, out: name }],
    bundle: true,
    platform: "node",
    target: "node22",
    format: settings.format,
    minify: settings.minify,
    splitting: settings.splitting,
    external: [...settings.external, ...Object.values(settings.install).flat()],
    banner: { js: settings.banner },
    outdir: dir,
    outExtension: { ".js": ".mjs" },
    logLevel: "silent",
  });
  return dir;
}

export interface LoadCost {
  /** CPU ms of the import: what a cold start pays before its first invocation. */
  importMs: number;
  /** CPU ms of the import and of what it started in the background, one second later. */
  settledMs: number;
}

const run = promisify(execFile);

/** One load of `file` in a fresh process. */
export async function loadOnce(loader: string, file: string, env: NodeJS.ProcessEnv): Promise<LoadCost> {
  const [importMs = Number.NaN, settledMs = Number.NaN] = (await run(process.execPath, [loader, file], { env })).stdout.split(" ").map(Number);
  return { importMs, settledMs };
}

/** The cheapest of `runs` loads (the one least disturbed by the machine's other work). */
export async function bestLoad(loader: string, file: string, env: NodeJS.ProcessEnv, runs = 5): Promise<LoadCost> {
  const loads: LoadCost[] = [];
  for (let i = 0; i < runs; i++) loads.push(await loadOnce(loader, file, env));
  return loads.reduce((best, load) => (load.importMs < best.importMs ? load : best));
}
