// An esbuild plugin for the packed SDK and CLI builds: core is pure domain code, but its package does
// not say so; saying it for these builds only lets esbuild drop every core module a bundle does not
// use (store, gateway, controller...), and reads core from its TypeScript source.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const coreEntry = join(dirname(fileURLToPath(import.meta.url)), "../packages/core/src/index.ts");

export const coreWithoutSideEffects = {
  name: "core-without-side-effects",
  setup(builder) {
    builder.onResolve({ filter: /^@inferencekey\/core$/ }, () => ({ path: coreEntry, sideEffects: false }));
  },
};
