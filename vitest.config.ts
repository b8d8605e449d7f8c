import { defineConfig } from "vitest/config";

/**
 * Workspace packages export their TypeScript sources under the `inferencekey-source` condition
 * (the packed SDK's `dist/` is for users outside the repository); tsconfig.json names it too.
 */
const SOURCE_CONDITION = "inferencekey-source";

export default defineConfig({
  // Vitest runs tests in Vite's server environment, whose conditions are set apart: ours first, then
  // Vite's defaults without "module", which sends packages such as @aws-sdk/core to builds meant for
  // bundlers (extensionless ESM imports that Node cannot load).
  ssr: { resolve: { conditions: [SOURCE_CONDITION, "node", "development|production"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "functions/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
