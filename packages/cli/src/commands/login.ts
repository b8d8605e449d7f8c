import { ManagementClient, NotFoundError } from "@inferencekey/sdk";
import { configPath, writeProfile } from "../config";
import { CliError, EXIT } from "../errors";

/**
 * `inferencekey login --base-url URL --project NAME [--profile NAME]`: reads the ik_sdk_ token from
 * standard input (never from argv, where other local users could read it), checks it against the
 * API, and writes the profile file with mode 0600.
 */
export async function login(
  options: { baseUrl: string; project: string; profile?: string },
  token: string,
  io: { out: (text: string) => void; env: NodeJS.ProcessEnv },
): Promise<number> {
  const trimmed = token.trim();
  if (!trimmed.startsWith("ik_sdk_")) {
    throw new CliError("login reads an ik_sdk_ control token on standard input (e.g. `echo $TOKEN | inferencekey login ...`)", EXIT.invalidInput);
  }
  let baseUrl: string;
  try {
    baseUrl = new URL(options.baseUrl).origin;
  } catch {
    throw new CliError(`--base-url ${JSON.stringify(options.baseUrl)} is not a URL`, EXIT.invalidInput);
  }
  // The token must work before it is kept: listing the project's workloads proves it authenticates
  // (a project an organisation token has not used yet answers 404, after authentication).
  await new ManagementClient({ token: trimmed, baseUrl, project: options.project, maxRetries: 1 })
    .list({ limit: 1 })
    .catch((error: unknown) => {
      if (!(error instanceof NotFoundError)) throw error;
    });
  const path = configPath(io.env);
  writeProfile(path, options.profile ?? "default", { base_url: baseUrl, token: trimmed, project: options.project });
  io.out(`logged in to ${baseUrl} (project ${options.project}); profile "${options.profile ?? "default"}" written to ${path} (mode 0600)\n`);
  return EXIT.ok;
}
