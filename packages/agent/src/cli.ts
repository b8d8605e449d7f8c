import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { describeSecretProblem } from "@inferencekey/core";
import { type AgentHandle, startAgent, WorkerTokenRejectedError } from "./agent";
import { LaunchTokenRejectedError, nodeCredentials, runNodeAgent } from "./node-registration";

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
  --node-id ID           on a node the platform launched, instead of a worker token: the node's id
                         (env INFERENCEKEY_NODE_ID); needs --launch-token-file
  --launch-token-file F  the one-time launch token the node's user data wrote; the agent registers
                         with it once, keeps the node token in the state dir, deletes the file and
                         runs one heartbeat loop per worker of the node (env INFERENCEKEY_LAUNCH_TOKEN_FILE)
  --imds-endpoint URL    instance metadata service (env INFERENCEKEY_IMDS_ENDPOINT;
                         default http://169.254.169.254)
  -h, --help             this text

On SIGTERM or SIGINT the agent stops its replicas gracefully, then exits.
Exit codes: 0 stopped, 1 unexpected error, 2 bad usage, 3 worker or launch token rejected.`;

export interface CliConfig {
  baseUrl: string;
  /** Absent on a node: it registers with `launchTokenFile` (or already did: its state dir keeps the node token). */
  token?: string;
  nodeId?: string;
  launchTokenFile?: string;
  imdsEndpoint?: string;
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

function checkImdsEndpoint(url: string): string | undefined {
  try {
    if (new URL(url).protocol === "http:") return undefined;
  } catch {
    // reported below
  }
  return `--imds-endpoint ${JSON.stringify(url)} is not an http URL (expected e.g. http://169.254.169.254)`;
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
        "node-id": { type: "string" },
        "launch-token-file": { type: "string" },
        "imds-endpoint": { type: "string" },
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
  const launchTokenFile = str("launch-token-file") ?? env.INFERENCEKEY_LAUNCH_TOKEN_FILE;
  const imdsEndpoint = str("imds-endpoint") ?? env.INFERENCEKEY_IMDS_ENDPOINT;
  const nodeId = str("node-id") ?? env.INFERENCEKEY_NODE_ID;
  const nodeMode = (token === undefined || token === "") && ((launchTokenFile ?? "") !== "" || (nodeId ?? "") !== "");
  const nodeProblem =
    nodeMode && (nodeId === undefined || !/^[A-Za-z0-9_-]{1,64}$/.test(nodeId))
      ? "a node needs its id: pass --node-id node_... or set INFERENCEKEY_NODE_ID (the user data does)"
      : nodeMode && !launchTokenFile
        ? "a node needs --launch-token-file (env INFERENCEKEY_LAUNCH_TOKEN_FILE; the user data sets it)"
        : undefined;
  const problem = (nodeMode ? nodeProblem : checkToken(token)) ?? checkUrl(baseUrl) ?? (imdsEndpoint ? checkImdsEndpoint(imdsEndpoint) : undefined);
  if (problem !== undefined || (token === undefined && !nodeMode) || baseUrl === undefined)
    return { kind: "error", message: problem ?? "" };
  const advertiseHost = str("advertise-host") ?? env.INFERENCEKEY_ADVERTISE_HOST;
  const envsDir = str("envs-dir") ?? env.INFERENCEKEY_BACKEND_ENVS;
  return {
    kind: "run",
    config: {
      ...(nodeMode ? { nodeId, launchTokenFile } : { token }),
      ...(imdsEndpoint ? { imdsEndpoint } : {}),
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
  const { nodeId, launchTokenFile, imdsEndpoint, token, ...config } = parsed.config;
  const log = (line: string) => io.out(`${new Date().toISOString()} ${line}`);
  if (token === undefined) {
    if (nodeId === undefined || launchTokenFile === undefined) return 2;
    return runNode(io, log, { ...config, nodeId, launchTokenFile, ...(imdsEndpoint === undefined ? {} : { imdsEndpoint }) });
  }
  let handle: AgentHandle;
  try {
    handle = await startAgent({
      ...config,
      token,
      env: io.env,
      log,
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

/** A node the platform launched: register once, then one agent per worker of the node, until a signal. */
async function runNode(
  io: CliIo,
  log: (line: string) => void,
  config: Omit<CliConfig, "token" | "nodeId" | "launchTokenFile"> & { nodeId: string; launchTokenFile: string },
): Promise<number> {
  const { nodeId, launchTokenFile, imdsEndpoint, ...agentConfig } = config;
  let nodeToken: string;
  try {
    ({ nodeToken } = await nodeCredentials({ baseUrl: config.baseUrl, stateDir: config.stateDir, nodeId, launchTokenFile, log, ...(imdsEndpoint === undefined ? {} : { imdsEndpoint }) }));
  } catch (error) {
    io.err(`inferencekey-agent: ${(error as Error).message}`);
    return error instanceof LaunchTokenRejectedError ? 3 : 1;
  }
  const node = runNodeAgent({ ...agentConfig, nodeId, nodeToken, env: io.env, log });
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping replicas gracefully`);
    void node.stop();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    await node.done;
    return 0;
  } catch (error) {
    io.err(`inferencekey-agent: ${(error as Error).message}`);
    return error instanceof LaunchTokenRejectedError ? 3 : 1;
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}
