import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { describeSecretProblem } from "@inferencekey/core";
import { type AgentHandle, startAgent, WorkerTokenRejectedError } from "./agent";

export const HELP = `inferencekey-agent: runs InferenceKey backend replicas on this box

Usage: inferencekey-agent [options]

Options:
  --token TOKEN          worker token, ik_wrk_... (env INFERENCEKEY_WORKER_TOKEN; prefer the
                         variable: a command-line flag is visible to other users in ps)
  --base-url URL         the platform's base URL (env INFERENCEKEY_BASE_URL)
  --state-dir DIR        where the agent records the processes it runs
                         (env INFERENCEKEY_AGENT_STATE_DIR; default ~/.inferencekey/agent)
  --advertise-host HOST  the address the platform reaches this box on; replica fronts listen on it
                         (env INFERENCEKEY_ADVERTISE_HOST; default: first non-loopback IPv4)
  --envs-dir DIR         versioned backend environments, <DIR>/vllm-<version>/bin
                         (env INFERENCEKEY_BACKEND_ENVS; default ~/.inferencekey/envs)
  -h, --help             this text

On SIGTERM or SIGINT the agent stops its replicas gracefully, then exits.
Exit codes: 0 stopped, 1 unexpected error, 2 bad usage, 3 worker token rejected.`;

export interface CliConfig {
  baseUrl: string;
  token: string;
  stateDir: string;
  advertiseHost?: string;
  envsDir?: string;
}

export type ParsedCli =
  | { kind: "help" }
  | { kind: "run"; config: CliConfig }
  | { kind: "error"; message: string };

function checkToken(token: string | undefined): string | undefined {
  if (token === undefined || token === "") {
    return "no worker token: pass --token ik_wrk_... or set INFERENCEKEY_WORKER_TOKEN (it was shown once when the worker was registered)";
  }
  if (token.startsWith("ik_sdk_") || token.startsWith("ik_live_")) {
    return `that is ${token.startsWith("ik_sdk_") ? "a control token (ik_sdk_)" : "a data key (ik_live_)"}, not a worker token: the agent needs the ik_wrk_ token shown when the worker was registered`;
  }
  // Never echo the token: a mistyped one is still mostly a secret.
  const problem = describeSecretProblem("worker", token);
  if (problem !== undefined) return `the worker token is malformed: ${problem}`;
  return undefined;
}

function checkUrl(url: string | undefined): string | undefined {
  if (url === undefined || url === "")
    return "no control plane URL: pass --base-url https://... or set INFERENCEKEY_BASE_URL";
  try {
    const parsed = new URL(url);
    if (parsed.protocol === "http:" || parsed.protocol === "https:") return undefined;
  } catch {
    // reported below
  }
  return `--base-url ${JSON.stringify(url)} is not an http(s) URL (expected e.g. https://inferencekey.example.com)`;
}

export function parseCli(argv: string[], env: NodeJS.ProcessEnv): ParsedCli {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        token: { type: "string" },
        "base-url": { type: "string" },
        "state-dir": { type: "string" },
        "advertise-host": { type: "string" },
        "envs-dir": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (error) {
    return { kind: "error", message: (error as Error).message };
  }
  if (values.help === true) return { kind: "help" };
  const str = (name: string) => {
    const value = values[name];
    return typeof value === "string" ? value : undefined;
  };
  const token = str("token") ?? env.INFERENCEKEY_WORKER_TOKEN;
  const baseUrl = str("base-url") ?? env.INFERENCEKEY_BASE_URL;
  const problem = checkToken(token) ?? checkUrl(baseUrl);
  if (problem !== undefined || token === undefined || baseUrl === undefined)
    return { kind: "error", message: problem ?? "" };
  const advertiseHost = str("advertise-host") ?? env.INFERENCEKEY_ADVERTISE_HOST;
  const envsDir = str("envs-dir") ?? env.INFERENCEKEY_BACKEND_ENVS;
  return {
    kind: "run",
    config: {
      token,
      baseUrl,
      stateDir:
        str("state-dir") ?? env.INFERENCEKEY_AGENT_STATE_DIR ?? join(homedir(), ".inferencekey", "agent"),
      ...(advertiseHost ? { advertiseHost } : {}),
      ...(envsDir ? { envsDir } : {}),
    },
  };
}

export interface CliIo {
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  err: (line: string) => void;
}

const defaultIo: CliIo = {
  env: process.env,
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

/** Runs the agent until SIGTERM/SIGINT (then stops replicas gracefully) or a 401; returns the exit code. */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const parsed = parseCli(argv, io.env);
  if (parsed.kind === "help") {
    io.out(HELP);
    return 0;
  }
  if (parsed.kind === "error") {
    io.err(`inferencekey-agent: ${parsed.message}`);
    io.err("run inferencekey-agent --help for usage");
    return 2;
  }
  const { config } = parsed;
  let handle: AgentHandle;
  try {
    handle = await startAgent({
      ...config,
      env: io.env,
      log: (line) => io.out(`${new Date().toISOString()} ${line}`),
    });
  } catch (error) {
    io.err(`inferencekey-agent: ${(error as Error).message}`);
    return 2;
  }
  const onSignal = (signal: NodeJS.Signals) => {
    io.out(`${new Date().toISOString()} ${signal}: stopping replicas gracefully`);
    void handle.stop({ stopReplicas: true });
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    await handle.done;
    return 0;
  } catch (error) {
    io.err(`inferencekey-agent: ${(error as Error).message}`);
    return error instanceof WorkerTokenRejectedError ? 3 : 1;
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}
