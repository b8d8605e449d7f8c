import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { type Assignment, projectSecretNameProblem, shellQuote, VLLM_VERSION_PATTERN } from "@inferencekey/core";
import { AGENT_INSTANCE_ENV, REPLICA_ID_ENV } from "./processes";

/** The environment variable that carries the replica secret to the backend (never its command line text). */
export const SECRET_ENV = "INFERENCEKEY_REPLICA_SECRET";

/** Where versioned backend environments live unless told otherwise: `<dir>/vllm-<version>/bin`. */
export function defaultEnvsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.INFERENCEKEY_BACKEND_ENVS || join(homedir(), ".inferencekey", "envs");
}

export interface CommandOptions {
  /**
   * The loopback port the backend binds (the agent picks it). The assigned address and port belong
   * to the replica front, which proxies to this one.
   */
  backendPort: number;
  /** Versioned backend environments (default: INFERENCEKEY_BACKEND_ENVS, else ~/.inferencekey/envs). */
  envsDir?: string;
  /** The environment the backend inherits (default: this process's), minus every INFERENCEKEY_* variable. */
  baseEnv?: NodeJS.ProcessEnv;
  /** Injectable for tests. */
  isDirectory?: (path: string) => boolean;
  /** The agent instance, set as INFERENCEKEY_AGENT_INSTANCE beside the replica id: stops find the backend's processes by both. */
  instance?: string;
  /** Variables the agent's owner sets for every backend (e.g. `npm start`'s INFERENCEKEY_START_DIR). */
  backendEnv?: Record<string, string>;
}

export interface BuiltCommand {
  /** Run with `/bin/sh -c`. Holds no secret: the secret is referenced as "$INFERENCEKEY_REPLICA_SECRET". */
  shell: string;
  env: Record<string, string>;
  /** The variables the agent set itself, secrets (the replica's, the project's) left out: safe to log. */
  agentEnv: Record<string, string>;
  /** The versioned environment the command runs from, when `vllm_version` pinned one. */
  envDir?: string;
  /** Digest of what runs (command, agent-set variables): tells whether a recorded process still matches. */
  hash: string;
  /**
   * What the front sends the backend in place of the caller's Authorization: set when the backend
   * was given the replica secret (vLLM through VLLM_API_KEY, a command that places `{api_key}`).
   */
  backendAuthorization?: string;
}

export type BuildResult = { ok: true; command: BuiltCommand } | { ok: false; reason: string };

const HOST_PATTERN = /^[A-Za-z0-9.:_%[\]-]+$/;

export { shellQuote };

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** `host:port` as ollama reads OLLAMA_HOST (IPv6 in brackets). */
function hostPort(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Where every backend binds: the replica front, not the backend, faces the network. */
export const BACKEND_HOST = "127.0.0.1";

/**
 * Builds what the agent runs for an assignment. The backend binds loopback on `backendPort`; the
 * agent's replica front serves the assigned address and port, checks the replica secret, and
 * proxies. The secret is never in the backend's argv unless the command places `{api_key}` itself.
 *
 * - `{port}` and `{host}` in the command are replaced by the backend's loopback address; PORT and
 *   HOST are always set to it.
 * - vllm, sglang and vllm-omni commands without either placeholder get `--host 127.0.0.1 --port
 *   <backendPort>` appended. vllm and vllm-omni get VLLM_API_KEY (the replica secret, in the
 *   environment only: vLLM reads it there), so even on loopback they refuse other local users on
 *   `/v1/*`; the front sends them that key. sglang takes a key only on its command line, so it gets
 *   none: the front is its only gate.
 * - ollama has no API key option. It gets `OLLAMA_HOST=127.0.0.1:<backendPort>`.
 * - CUDA_VISIBLE_DEVICES lists `gpu_indexes` (empty on a CPU-only box: no GPU visible).
 * - `vllm_version` runs the command from `<envsDir>/vllm-<version>/bin` (prepended to PATH); when
 *   that directory does not exist the replica cannot start and the reason says where it looked.
 */
export function buildCommand(assignment: Assignment, options: CommandOptions): BuildResult {
  const { backend, secret } = assignment;
  if (!HOST_PATTERN.test(assignment.host)) {
    return { ok: false, reason: `host ${JSON.stringify(assignment.host)} is not an address the agent can bind` };
  }
  const host = BACKEND_HOST;
  const port = options.backendPort;
  const baseEnv = options.baseEnv ?? process.env;
  const agentEnv: Record<string, string> = {
    HOST: host,
    PORT: String(port),
    CUDA_VISIBLE_DEVICES: assignment.gpu_indexes.join(","),
    [REPLICA_ID_ENV]: assignment.replica_id,
    ...(options.instance === undefined ? {} : { [AGENT_INSTANCE_ENV]: options.instance }),
    ...options.backendEnv,
  };

  let envDir: string | undefined;
  if (assignment.vllm_version !== undefined) {
    const version = assignment.vllm_version;
    const envsDir = options.envsDir ?? defaultEnvsDir(baseEnv);
    // The version becomes a path: refuse anything but a version (no "../").
    if (!VLLM_VERSION_PATTERN.test(version) || version.includes("..")) {
      return { ok: false, reason: `vllm_version ${JSON.stringify(version)} is not a version such as 0.6.3` };
    }
    envDir = join(envsDir, `vllm-${version}`);
    const bin = join(envDir, "bin");
    if (!(options.isDirectory ?? isDirectory)(bin)) {
      return {
        ok: false,
        reason:
          `vllm_version ${version} requested but no environment at ${bin} ` +
          `(create it: python3 -m venv ${envDir} && ${bin}/pip install vllm==${version}; ` +
          `the environments directory is set by INFERENCEKEY_BACKEND_ENVS)`,
      };
    }
    agentEnv.PATH = baseEnv.PATH ? `${bin}:${baseEnv.PATH}` : bin;
    agentEnv.VIRTUAL_ENV = envDir;
  }

  let shell = assignment.command.trim();
  const placesAddress = shell.includes("{port}") || shell.includes("{host}");
  const placesKey = shell.includes("{api_key}");
  shell = shell
    .replaceAll("{port}", String(port))
    .replaceAll("{host}", shellQuote(host))
    .replaceAll("{api_key}", `"$${SECRET_ENV}"`);

  switch (backend) {
    case "vllm":
    case "vllm-omni":
    case "sglang":
      if (!placesAddress) shell += ` --host ${shellQuote(host)} --port ${port}`;
      break;
    case "ollama":
      agentEnv.OLLAMA_HOST = hostPort(host, port);
      break;
  }

  const secretEnv: Record<string, string> = { [SECRET_ENV]: secret };
  if (backend === "vllm" || backend === "vllm-omni") secretEnv.VLLM_API_KEY = secret;

  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(baseEnv)) {
    // The agent's own settings (worker token, server secrets of the local platform) stay out of backends.
    if (value !== undefined && !name.startsWith("INFERENCEKEY_")) env[name] = value;
  }
  // The project's secrets (HF_TOKEN...) come after the inherited environment and never replace what
  // the agent sets itself: the platform refuses those names, and an older platform's answer is checked here too.
  for (const [name, value] of Object.entries(assignment.env ?? {})) {
    if (projectSecretNameProblem(name) === undefined) env[name] = value;
  }
  Object.assign(env, agentEnv, secretEnv);

  // PATH is left out: it carries the agent's own PATH, which may differ between two runs of the agent.
  // The instance tag is left out too: it says who started the process, not what runs.
  const hashed = Object.entries(agentEnv).filter(([name]) => name !== "PATH" && name !== AGENT_INSTANCE_ENV);
  const hash = createHash("sha256")
    .update(
      JSON.stringify({ replica: assignment.replica_id, backend, shell, envDir, agentEnv: hashed.sort() }),
    )
    .digest("hex")
    .slice(0, 32);
  const keyed = placesKey || backend === "vllm" || backend === "vllm-omni";
  return {
    ok: true,
    command: {
      shell,
      env,
      agentEnv,
      ...(envDir === undefined ? {} : { envDir }),
      hash,
      ...(keyed ? { backendAuthorization: `Bearer ${secret}` } : {}),
    },
  };
}
