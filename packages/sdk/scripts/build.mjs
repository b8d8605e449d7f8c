// Builds dist/ for the packed SDK (`npm pack` runs it as `prepack`): dist/index.js, one ES module
// with the private @inferencekey/core bundled in (only the few constants the SDK uses survive
// tree-shaking, so dist/index.js imports no package), and dist/index.d.ts, one declaration
// file with core's types inlined. Those types are inferred from core's zod schemas, so the
// declarations import `zod` (a declared dependency) and nothing else.
// Runs on the Node that runs npm (20 or 22). Inside the repository nothing reads dist/: tsc reads
// src/ through the `inferencekey-source` export condition, vitest through an alias.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { coreWithoutSideEffects } from "../../../scripts/core-without-side-effects.mjs";

const sdkDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(sdkDir, "dist");
const require = createRequire(import.meta.url);

rmSync(dist, { recursive: true, force: true });

const bundled = await build({
  entryPoints: [join(sdkDir, "src/index.ts")],
  outfile: join(dist, "index.js"),
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20.3",
  external: ["zod"],
  metafile: true,
  logLevel: "warning",
  plugins: [coreWithoutSideEffects],
});

const imports = Object.values(bundled.metafile.outputs).flatMap((output) =>
  output.imports.map((entry) => entry.path),
);
const isZod = (path) => path === "zod" || path.startsWith("zod/");
const unexpected = imports.filter((path) => !path.startsWith("node:") && !isZod(path));
if (unexpected.length > 0) {
  throw new Error(`dist/index.js imports packages the tarball does not declare: ${unexpected.join(", ")}`);
}

// dts-bundle-generator compiles src (and core's src through the build tsconfig's `paths`) and inlines
// every local type into one file. Its own check of that file is skipped (it doubles the build
// time): test/e2e/quickstarts.test.ts compiles the README quickstart against the packed file
// with skipLibCheck off, which type-checks all of it.
const generator = require.resolve("dts-bundle-generator/dist/bin/dts-bundle-generator.js");
const declarations = spawnSync(
  process.execPath,
  [
    generator,
    "--silent",
    "--no-check",
    "--no-banner",
    "--export-referenced-types=false",
    "--project",
    join(sdkDir, "tsconfig.build.json"),
    "--out-file",
    join(dist, "index.d.ts"),
    join(sdkDir, "src/index.ts"),
  ],
  { stdio: "inherit" },
);
if (declarations.status !== 0) {
  throw new Error(`dts-bundle-generator failed (exit ${declarations.status ?? declarations.signal})`);
}

// Core's schemas are zod/mini's (`import * as z from "zod/mini"`); dts-bundle-generator keeps the
// types it names through `z.` but drops a namespace import from a package's subpath, so it is put back.
let declarationText = readFileSync(join(dist, "index.d.ts"), "utf8");
if (/\bz\.[A-Za-z]/.test(declarationText) && !/^import \* as z from /m.test(declarationText)) {
  declarationText = `import * as z from "zod/mini";\n\n${declarationText}`;
  writeFileSync(join(dist, "index.d.ts"), declarationText);
}
const typeImports = [
  ...declarationText.matchAll(/^(?:import .* from|\/\/\/ <reference \w+=) ?["']([^"']+)["']/gm),
].map((match) => match[1]);
const undeclared = typeImports.filter((path) => !isZod(path));
if (undeclared.length > 0) {
  throw new Error(`dist/index.d.ts imports packages the tarball does not declare: ${undeclared.join(", ")}`);
}
console.log(`@inferencekey/sdk: built dist/index.js (${imports.length} imports) and dist/index.d.ts`);
