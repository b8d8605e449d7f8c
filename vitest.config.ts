import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // The SDK's package exports dist/ (built by `npm pack`, for users outside the repository);
    // tests run its sources, as tsc does through the `inferencekey-source` export condition. An
    // alias, not that condition: Vitest hands ssr.resolve.conditions to its workers as Node
    // `--conditions` flags, which change how every external package resolves (the AWS SDK's
    // `module` builds then fail to load).
    alias: [
      {
        find: /^@inferencekey\/sdk$/,
        replacement: fileURLToPath(new URL("./packages/sdk/src/index.ts", import.meta.url)),
      },
    ],
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "functions/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
