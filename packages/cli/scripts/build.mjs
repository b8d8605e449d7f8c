// Builds dist/main.js for the packed CLI (`npm pack` runs it as `prepack`): one ES module with the
// SDK and the private @inferencekey/core bundled in, so the tarball needs only its declared
// dependencies (commander, yaml, smol-toml, zod). Inside the repository nothing reads dist/: the bin
// runs src/ through tsx when dist/ is absent.
import { rmSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { coreWithoutSideEffects } from "../../../scripts/core-without-side-effects.mjs";

const cliDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(cliDir, "dist");
rmSync(dist, { recursive: true, force: true });

const external = ["commander", "yaml", "smol-toml", "zod"];
const bundled = await build({
  entryPoints: [join(cliDir, "src/entry.ts")],
  outfile: join(dist, "main.js"),
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20.3",
  conditions: ["inferencekey-source"],
  external,
  metafile: true,
  logLevel: "warning",
  plugins: [coreWithoutSideEffects],
});
const imports = Object.values(bundled.metafile.outputs).flatMap((output) => output.imports.map((entry) => entry.path));
// Node's own modules are fine under either name ("fs" or "node:fs"), a declared package's subpaths ("zod/mini") too.
const declared = (path) => external.some((name) => path === name || path.startsWith(`${name}/`));
const unexpected = imports.filter((path) => !path.startsWith("node:") && !builtinModules.includes(path) && !declared(path));
if (unexpected.length > 0) throw new Error(`dist/main.js imports packages the tarball does not declare: ${unexpected.join(", ")}`);
