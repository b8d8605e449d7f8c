import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  describeSecretProblem,
  type NodeWorkersResponse,
  NodeWorkersResponseSchema,
  type RegisterResponse,
  RegisterResponseSchema,
} from "@inferencekey/core";
import { type AgentHandle, type AgentOptions, startAgent, WorkerTokenRejectedError } from "./agent";

/**
 * The agent on a node the platform launched. Its user data left a one-time launch token in a
 * root-only file and its node id in the environment. The agent reads its instance id from
 * IMDSv2, spends the token at `POST /agent/v1/register` for the node token, keeps that in its state
 * directory (a restarted agent never registers again: the launch token is spent) and deletes the
 * token file. Then it polls the node's workers (one per project whose replicas the node holds) and
 * runs one heartbeat loop, with its own state directory, per worker.
 */

/** The link-local instance metadata service of EC2. */
export const IMDS_ENDPOINT = "http://169.254.169.254";

/** The file in the state directory that keeps the node's registration (mode 0600). */
export const NODE_FILE = "node.json";

/** How often the node's worker list is read (a new project's replicas wait at most this long). */
export const NODE_WORKERS_POLL_MS = 5_000;

/** The platform refused the launch token (spent, expired, another instance's) or forgot the node. */
export class LaunchTokenRejectedError extends Error {
  override readonly name = "LaunchTokenRejectedError";
}

async function readBounded(response: Response, limit: number): Promise<string> {
  const text = await response.text();
  if (text.length > limit) throw new Error(`answer longer than ${limit} characters`);
  return text;
}

function errorMessageOf(text: string): string {
  try {
    return String((JSON.parse(text) as { error?: { message?: unknown } }).error?.message ?? text).slice(0, 300);
  } catch {
    return text.slice(0, 300);
  }
}

/**
 * The instance id through IMDSv2 (a session token first; the node's metadata options refuse v1).
 * The hop limit of 1 is why this works from the agent on the host and from no container.
 */
export async function readInstanceId(endpoint: string = IMDS_ENDPOINT, fetchImpl: typeof fetch = fetch): Promise<string> {
  const session = await fetchImpl(`${endpoint}/latest/api/token`, {
    method: "PUT",
    headers: { "x-aws-ec2-metadata-token-ttl-seconds": "60" },
    signal: AbortSignal.timeout(2_000),
  });
  if (!session.ok) throw new Error(`IMDSv2 refused a session token: ${session.status}`);
  const token = (await readBounded(session, 512)).trim();
  const answer = await fetchImpl(`${endpoint}/latest/meta-data/instance-id`, {
    headers: { "x-aws-ec2-metadata-token": token },
    signal: AbortSignal.timeout(2_000),
  });
  if (!answer.ok) throw new Error(`IMDSv2 did not give the instance id: ${answer.status}`);
  const instanceId = (await readBounded(answer, 64)).trim();
  if (!/^i-[0-9a-f]{8,32}$/.test(instanceId)) throw new Error(`IMDSv2 answered ${JSON.stringify(instanceId)}, not an instance id`);
  return instanceId;
}

export interface RegisterOptions {
  baseUrl: string;
  launchToken: string;
  nodeId: string;
  instanceId: string;
  fetch?: typeof fetch;
  /** Gives up after this long (default 10 minutes: the platform replaces a node not ready at 20). */
  deadlineMs?: number;
  sleep?: (ms: number) => Promise<void>;
  log?: (line: string) => void;
}

/**
 * One registration, retried while the platform is unreachable or answers 5xx/429. A 4xx is final:
 * the token is spent, expired or another instance's.
 */
export async function registerWithLaunchToken(options: RegisterOptions): Promise<RegisterResponse> {
  const fetchImpl = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  const deadline = Date.now() + (options.deadlineMs ?? 10 * 60 * 1000);
  const url = new URL("/agent/v1/register", options.baseUrl).toString();
  let delayMs = 1_000;
  for (;;) {
    let retryAfterMs: number | undefined;
    let problem: string;
    try {
      const response = await fetchImpl(url, {
        method: "POST",
        headers: { authorization: `Bearer ${options.launchToken}`, "content-type": "application/json" },
        body: JSON.stringify({ node_id: options.nodeId, instance_id: options.instanceId }),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await readBounded(response, 64 * 1024);
      if (response.ok) {
        const answer = RegisterResponseSchema.parse(JSON.parse(text));
        const tokenProblem = describeSecretProblem("worker", answer.node_token);
        if (tokenProblem !== undefined) throw new LaunchTokenRejectedError(`the platform answered a malformed node token: ${tokenProblem}`);
        return answer;
      }
      if (response.status !== 429 && response.status < 500) {
        throw new LaunchTokenRejectedError(`registration refused (${response.status}): ${errorMessageOf(text)}`);
      }
      const header = Number(response.headers.get("retry-after"));
      if (Number.isFinite(header) && header > 0) retryAfterMs = Math.min(header, 60) * 1000;
      problem = `${response.status} ${errorMessageOf(text)}`;
    } catch (error) {
      if (error instanceof LaunchTokenRejectedError) throw error;
      problem = (error as Error).message;
    }
    const waitMs = retryAfterMs ?? delayMs;
    if (Date.now() + waitMs > deadline) throw new Error(`registration did not succeed before its deadline; last: ${problem}`);
    options.log?.(`registration: ${problem}; again in ${Math.round(waitMs / 1000)} s`);
    await sleep(waitMs);
    delayMs = Math.min(delayMs * 2, 30_000);
  }
}

export interface NodeCredentialsOptions {
  baseUrl: string;
  stateDir: string;
  nodeId: string;
  /** The root-only file the user data wrote the launch token to. */
  launchTokenFile: string;
  imdsEndpoint?: string;
  fetch?: typeof fetch;
  log?: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

/** The node's token: the one kept from an earlier registration, else a new registration's. */
export async function nodeCredentials(options: NodeCredentialsOptions): Promise<{ nodeId: string; nodeToken: string }> {
  const kept = join(options.stateDir, NODE_FILE);
  if (existsSync(kept)) {
    const saved = JSON.parse(readFileSync(kept, "utf8")) as { node_id?: unknown; node_token?: unknown };
    if (saved.node_id === options.nodeId && typeof saved.node_token === "string" && describeSecretProblem("worker", saved.node_token) === undefined) {
      return { nodeId: options.nodeId, nodeToken: saved.node_token };
    }
    throw new Error(`${kept} does not hold node ${options.nodeId}'s registration; remove it only if this node never registered`);
  }
  if (!existsSync(options.launchTokenFile)) {
    throw new Error(`no registration in ${kept} and no launch token at ${options.launchTokenFile}: this node cannot register`);
  }
  const launchToken = readFileSync(options.launchTokenFile, "utf8").trim();
  const problem = describeSecretProblem("worker", launchToken);
  if (problem !== undefined) throw new Error(`the launch token in ${options.launchTokenFile} is malformed: ${problem}`);
  const instanceId = await readInstanceId(options.imdsEndpoint, options.fetch);
  const answer = await registerWithLaunchToken({
    baseUrl: options.baseUrl,
    launchToken,
    nodeId: options.nodeId,
    instanceId,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.log === undefined ? {} : { log: options.log }),
    ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
  });
  mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
  // Written whole, then renamed: a crash never leaves half a registration the next start would trust.
  const partial = `${kept}.partial`;
  writeFileSync(partial, `${JSON.stringify({ node_id: answer.node_id, node_token: answer.node_token })}\n`, { mode: 0o600 });
  chmodSync(partial, 0o600);
  renameSync(partial, kept);
  rmSync(options.launchTokenFile, { force: true });
  options.log?.(`registered instance ${instanceId} as node ${answer.node_id}`);
  return { nodeId: answer.node_id, nodeToken: answer.node_token };
}

/** The node's workers now; a 401 means the node is gone (terminated, forgotten). */
export async function fetchNodeWorkers(baseUrl: string, nodeId: string, nodeToken: string, fetchImpl: typeof fetch = fetch): Promise<NodeWorkersResponse> {
  const response = await fetchImpl(new URL(`/agent/v1/nodes/${encodeURIComponent(nodeId)}/workers`, baseUrl), {
    headers: { authorization: `Bearer ${nodeToken}` },
    signal: AbortSignal.timeout(10_000),
  });
  const text = await readBounded(response, 256 * 1024);
  if (response.status === 401) throw new LaunchTokenRejectedError(`the platform no longer knows node ${nodeId}: ${errorMessageOf(text)}`);
  if (!response.ok) throw new Error(`listing the node's workers answered ${response.status}: ${errorMessageOf(text)}`);
  return NodeWorkersResponseSchema.parse(JSON.parse(text));
}

export interface NodeAgentOptions extends Omit<AgentOptions, "token" | "stateDir"> {
  nodeId: string;
  nodeToken: string;
  /** Each worker's agent keeps its state under `<stateDir>/workers/<worker id>`. */
  stateDir: string;
  pollMs?: number;
}

export interface NodeAgentHandle {
  /** Resolves after `stop()`; rejects with LaunchTokenRejectedError when the platform forgets the node. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
  /** The workers running now, by id. */
  workers(): string[];
}

/** Runs one agent per worker of the node, following the platform's list. */
export function runNodeAgent(options: NodeAgentOptions): NodeAgentHandle {
  const log = options.log ?? (() => undefined);
  const running = new Map<string, { handle: Promise<AgentHandle | undefined>; token: string }>();
  let stopped = false;
  let wake: (() => void) | undefined;
  const pollMs = options.pollMs ?? NODE_WORKERS_POLL_MS;

  const stopWorker = async (workerId: string) => {
    const entry = running.get(workerId);
    running.delete(workerId);
    const handle = await entry?.handle;
    await handle?.stop({ stopReplicas: true });
  };

  const loop = async () => {
    while (!stopped) {
      try {
        const listed = await fetchNodeWorkers(options.baseUrl, options.nodeId, options.nodeToken, options.fetch);
        const wanted = new Map(listed.workers.map((w) => [w.worker_id, w]));
        for (const workerId of [...running.keys()]) {
          if (!wanted.has(workerId)) {
            log(`node ${options.nodeId}: worker ${workerId} no longer here; stopping its replicas`);
            await stopWorker(workerId);
          }
        }
        for (const worker of wanted.values()) {
          if (running.has(worker.worker_id)) continue;
          log(`node ${options.nodeId}: starting the agent of worker ${worker.worker_id} (project ${worker.project})`);
          const { nodeId: _node, nodeToken: _token, pollMs: _poll, ...agentOptions } = options;
          const handle = startAgent({
            ...agentOptions,
            token: worker.worker_token,
            stateDir: join(options.stateDir, "workers", worker.worker_id),
            log: (line) => log(`[${worker.project}] ${line}`),
          }).catch((error: unknown) => {
            log(`node ${options.nodeId}: the agent of worker ${worker.worker_id} did not start: ${(error as Error).message}`);
            running.delete(worker.worker_id);
            return undefined;
          });
          running.set(worker.worker_id, { handle, token: worker.worker_token });
          void handle.then((started) =>
            started?.done.catch((error: unknown) => {
              // A revoked worker token: forget it; the next poll says whether the worker is still wanted.
              if (error instanceof WorkerTokenRejectedError) running.delete(worker.worker_id);
            }),
          );
        }
      } catch (error) {
        if (error instanceof LaunchTokenRejectedError) throw error;
        log(`node ${options.nodeId}: ${(error as Error).message}; trying again`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };

  const done = loop().finally(async () => {
    await Promise.all([...running.keys()].map((id) => stopWorker(id)));
  });
  return {
    done,
    stop: async () => {
      stopped = true;
      wake?.();
      await done.catch(() => undefined);
    },
    workers: () => [...running.keys()],
  };
}
