import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ConsoleAssetReader } from "@inferencekey/core";

/**
 * The console's built files as the control API function has them: copied beside its bundle
 * (infra/api.ts `copyFiles`, `console/` under the task root), read on request. Only paths the site
 * handler vetted (no `..`, known extensions) reach here. `INFERENCEKEY_CONSOLE_DIR` overrides the
 * directory (tests point it at packages/console/dist).
 */
export function lambdaConsoleAssets(env: NodeJS.ProcessEnv = process.env): ConsoleAssetReader {
  const dir = env.INFERENCEKEY_CONSOLE_DIR ?? join(env.LAMBDA_TASK_ROOT ?? process.cwd(), "console");
  return async (relativePath) => {
    try {
      return new Uint8Array(await readFile(join(dir, relativePath)));
    } catch {
      return undefined;
    }
  };
}
