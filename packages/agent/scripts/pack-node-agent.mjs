// Packs the agent for cloud nodes: one self-contained ES module (the agent, @inferencekey/core and
// every dependency bundled in) as package/bin/inferencekey-agent.mjs in a .tgz, which a node's
// install phase fetches from the deployment's artifacts bucket and runs with the registry's Node 22
// alone (no npm install on the node). Prints {"file", "key", "sha256"}: infra uploads the file under
// the key and gives the SHA-256 to the user data, which checks it before running anything.
// Usage: node packages/agent/scripts/pack-node-agent.mjs OUT_DIR
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { gzipSync } from "node:zlib";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { coreWithoutSideEffects } from "../../../scripts/core-without-side-effects.mjs";

const agentDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = resolve(process.argv[2] ?? join(agentDir, "dist"));
const { version } = JSON.parse(readFileSync(join(agentDir, "package.json"), "utf8"));
const staging = mkdtempSync(join(tmpdir(), "ik-pack-agent-"));
try {
  mkdirSync(join(staging, "package/bin"), { recursive: true });
  const bundled = await build({
    stdin: {
      contents: 'import { main } from "./src/cli.ts";\nprocess.exit(await main(process.argv.slice(2)));\n',
      resolveDir: agentDir,
      loader: "ts",
    },
    outfile: join(staging, "package/bin/inferencekey-agent.mjs"),
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node22",
    conditions: ["inferencekey-source"],
    // Bundled CommonJS dependencies may still call require() for Node's own modules.
    banner: { js: "#!/usr/bin/env node\nimport { createRequire as __ikCreateRequire } from 'node:module';\nconst require = __ikCreateRequire(import.meta.url);" },
    metafile: true,
    logLevel: "warning",
    plugins: [coreWithoutSideEffects],
  });
  const imports = Object.values(bundled.metafile.outputs).flatMap((output) => output.imports.map((entry) => entry.path));
  const outside = imports.filter((path) => !path.startsWith("node:") && !builtinModules.includes(path));
  if (outside.length > 0) throw new Error(`the node agent bundle imports packages it does not carry: ${outside.join(", ")}`);
  writeFileSync(join(staging, "package/package.json"), `${JSON.stringify({ name: "@inferencekey/node-agent", version, type: "module", private: true }, null, 2)}\n`);
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `inferencekey-agent-${version}.tgz`);
  // Fixed order, owner and times (and no time in the gzip header): the same sources pack to the
  // same bytes, so the SHA-256 names the build.
  const tar = execFileSync("tar", ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "-cf", "-", "-C", staging, "package"], {
    maxBuffer: 64 * 1024 * 1024,
  });
  writeFileSync(file, gzipSync(tar, { level: 9 }));
  const sha256 = createHash("sha256").update(readFileSync(file)).digest("hex");
  process.stdout.write(`${JSON.stringify({ file, key: `agent/inferencekey-agent-${version}-${sha256.slice(0, 12)}.tgz`, sha256 })}\n`);
} finally {
  rmSync(staging, { recursive: true, force: true });
}
