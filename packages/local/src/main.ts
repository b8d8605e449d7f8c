import { resolve } from "node:path";
import { ensureConsoleBuilt } from "./console-assets";
import { LOCAL_COMMANDS_SETTING } from "./local-compute";
import { startLocalPlatform } from "./platform";
import { StateDirLockedError } from "./state-lock";

/** `npm start`: the whole platform on this machine. Settings come from the environment, read here only. */
const port = Number(process.env.PORT ?? "8787");
const dir = resolve(process.env.INFERENCEKEY_HOME ?? ".inferencekey");

if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number (0-65535), got "${process.env.PORT}"`);
  process.exit(2);
}

const localCommands = process.env[LOCAL_COMMANDS_SETTING] ?? "organisation";
if (localCommands !== "organisation" && localCommands !== "all") {
  console.error(`${LOCAL_COMMANDS_SETTING} must be "organisation" (the default) or "all", got "${localCommands}"`);
  process.exit(2);
}

// Names of further variables backends inherit (e.g. HF_TOKEN): by default they get only PATH, HOME and the locale.
const backendEnvNames = (process.env.INFERENCEKEY_BACKEND_ENV ?? "")
  .split(",")
  .map((name) => name.trim())
  .filter((name) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name));

// Job webhooks to http and private addresses (a receiver on this machine): on unless turned off.
const privateWebhooks = process.env.INFERENCEKEY_ALLOW_PRIVATE_WEBHOOKS ?? "true";
if (privateWebhooks !== "true" && privateWebhooks !== "false") {
  console.error(`INFERENCEKEY_ALLOW_PRIVATE_WEBHOOKS must be "true" (the default) or "false", got "${privateWebhooks}"`);
  process.exit(2);
}

// The dashboard is rebuilt first when its sources changed (a digest check when they did not).
await ensureConsoleBuilt((line) => console.log(line));

const platform = await startLocalPlatform({ dir, port, localCommands, backendEnvNames, allowPrivateWebhooks: privateWebhooks === "true" }).catch((error: unknown) => {
  const code = (error as NodeJS.ErrnoException).code;
  console.error(
    error instanceof StateDirLockedError
      ? error.message
      : code === "EADDRINUSE"
        ? `Port ${port} is in use: stop the other process or start with PORT=<free port> npm start`
        : `InferenceKey failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});

console.log(
  [
    "",
    `InferenceKey is running at ${platform.url}`,
    `  state:     ${dir}`,
    `  console:   ${platform.url}/console/`,
    `  control:   ${platform.url}/v1`,
    `  endpoints: ${platform.url}/endpoint/{project}/{workload}/v1`,
    "",
    platform.adminTokenIssued
      ? `A new organisation admin token was written to ${platform.devEnvPath}.`
      : `Credentials: ${platform.devEnvPath} (unchanged).`,
    "Next, in another shell:",
    `  source ${platform.devEnvPath}`,
    '  then follow "Quickstart" in README.md (ManagementClient.fromEnv({ project: "acme" }))',
    "",
    "Ctrl-C stops the platform; state is kept for the next start.",
    "",
  ].join("\n"),
);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: shutting down`);
  await platform.close();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
