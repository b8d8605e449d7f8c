import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSecret } from "@inferencekey/core";
import { afterEach, describe, expect, it } from "vitest";
import { parseCli } from "../src/cli";
import { LaunchTokenRejectedError, NODE_FILE, nodeCredentials, readInstanceId, registerWithLaunchToken, runNodeAgent } from "../src/node-registration";

const LAUNCH_TOKEN = generateSecret("worker");
const NODE_TOKEN = generateSecret("worker");
const INSTANCE = "i-0123456789abcdef0";

interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** IMDSv2 (session token required) and the platform's register route, answering from a script. */
function fakeNet(registerAnswers: Array<() => Response>) {
  const calls: Call[] = [];
  const fetchImpl = (async (input: string | URL, init: RequestInit = {}) => {
    const url = String(input);
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    calls.push({ method: init.method ?? "GET", url, headers, ...(typeof init.body === "string" ? { body: init.body } : {}) });
    if (url === "http://imds/latest/api/token") {
      return init.method === "PUT" && headers["x-aws-ec2-metadata-token-ttl-seconds"] !== undefined ? new Response("session-1") : new Response("", { status: 403 });
    }
    if (url === "http://imds/latest/meta-data/instance-id") {
      return headers["x-aws-ec2-metadata-token"] === "session-1" ? new Response(INSTANCE) : new Response("", { status: 401 });
    }
    if (url === "http://platform/agent/v1/register") {
      const next = registerAnswers.shift();
      if (next === undefined) throw new Error("no more answers");
      return next();
    }
    throw new Error(`unexpected ${url}`);
  }) as typeof fetch;
  return { calls, fetchImpl };
}

const registered = () => Response.json({ node_id: "node_1", node_token: NODE_TOKEN });

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "ik-node-reg-"));
  dirs.push(dir);
  return dir;
}

describe("readInstanceId", () => {
  it("asks IMDSv2 for a session token first, then the instance id with it", async () => {
    const { calls, fetchImpl } = fakeNet([]);

    expect(await readInstanceId("http://imds", fetchImpl)).toBe(INSTANCE);
    expect(calls.map((c) => [c.method, c.url])).toEqual([
      ["PUT", "http://imds/latest/api/token"],
      ["GET", "http://imds/latest/meta-data/instance-id"],
    ]);
    expect(calls[1]?.headers["x-aws-ec2-metadata-token"]).toBe("session-1");
  });

  it("refuses an answer that is not an instance id", async () => {
    const fetchImpl = (async (input: string | URL) =>
      String(input).endsWith("/api/token") ? new Response("s") : new Response("<html>captive portal</html>")) as typeof fetch;

    await expect(readInstanceId("http://imds", fetchImpl)).rejects.toThrow('IMDSv2 answered "<html>captive portal</html>", not an instance id');
  });
});

describe("registerWithLaunchToken", () => {
  it("sends the launch token as a bearer and the instance id as the body; retries 503 and network faults, honouring Retry-After", async () => {
    const waits: number[] = [];
    const { calls, fetchImpl } = fakeNet([
      () => Response.json({ error: { message: "not recorded yet" } }, { status: 503, headers: { "retry-after": "5" } }),
      () => {
        throw new TypeError("fetch failed");
      },
      registered,
    ]);

    const answer = await registerWithLaunchToken({
      baseUrl: "http://platform",
      launchToken: LAUNCH_TOKEN,
      nodeId: "node_1",
      instanceId: INSTANCE,
      fetch: fetchImpl,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });

    expect(answer).toEqual({ node_id: "node_1", node_token: NODE_TOKEN });
    expect(waits).toEqual([5_000, 2_000]);
    expect(calls.map((c) => [c.headers.authorization, c.body])).toEqual(
      Array(3).fill([`Bearer ${LAUNCH_TOKEN}`, JSON.stringify({ node_id: "node_1", instance_id: INSTANCE })]),
    );
  });

  it("a 401 is final and says why", async () => {
    const { fetchImpl } = fakeNet([() => Response.json({ error: { message: "Registration refused: launch token already used." } }, { status: 401 })]);

    const error = await registerWithLaunchToken({ baseUrl: "http://platform", launchToken: LAUNCH_TOKEN, nodeId: "node_1", instanceId: INSTANCE, fetch: fetchImpl }).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(LaunchTokenRejectedError);
    expect((error as Error).message).toBe("registration refused (401): Registration refused: launch token already used.");
  });
});

describe("nodeCredentials", () => {
  it("registers once, keeps the node token (0600) and deletes the spent launch token; a restart reuses the kept token", async () => {
    const stateDir = join(tempDir(), "state");
    const launchTokenFile = join(tempDir(), "launch-token");
    writeFileSync(launchTokenFile, `${LAUNCH_TOKEN}\n`, { mode: 0o600 });
    const { calls, fetchImpl } = fakeNet([registered]);

    const options = { baseUrl: "http://platform", stateDir, nodeId: "node_1", launchTokenFile, imdsEndpoint: "http://imds", fetch: fetchImpl };
    const first = await nodeCredentials(options);
    const second = await nodeCredentials(options);

    expect(first).toEqual({ nodeId: "node_1", nodeToken: NODE_TOKEN });
    expect(second).toEqual(first);
    expect(calls.filter((c) => c.url.endsWith("/register"))).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(stateDir, NODE_FILE), "utf8"))).toEqual({ node_id: "node_1", node_token: NODE_TOKEN });
    expect(statSync(join(stateDir, NODE_FILE)).mode & 0o777).toBe(0o600);
    expect(existsSync(launchTokenFile)).toBe(false);
  });

  it("names what is missing or malformed, never quoting the token", async () => {
    const stateDir = tempDir();
    const launchTokenFile = join(stateDir, "launch-token");

    const options = { baseUrl: "http://platform", stateDir, nodeId: "node_1", launchTokenFile };
    await expect(nodeCredentials(options)).rejects.toThrow(`no launch token at ${launchTokenFile}`);
    writeFileSync(launchTokenFile, `${LAUNCH_TOKEN.slice(0, -1)}${LAUNCH_TOKEN.endsWith("x") ? "y" : "x"}`);
    const error = (await nodeCredentials(options).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain("is malformed: its checksum does not match");
    expect(error.message).not.toContain(LAUNCH_TOKEN.slice(8, 20));
  });
});

describe("parseCli on a node", () => {
  it("takes a launch token file instead of a worker token, and an IMDS endpoint", () => {
    expect(
      parseCli([], {
        INFERENCEKEY_BASE_URL: "https://ik.example.com",
        INFERENCEKEY_LAUNCH_TOKEN_FILE: "/etc/inferencekey/launch-token",
        INFERENCEKEY_NODE_ID: "node_1",
        INFERENCEKEY_AGENT_STATE_DIR: "/var/lib/inferencekey/agent",
        INFERENCEKEY_IMDS_ENDPOINT: "http://127.0.0.1:9",
      }),
    ).toEqual({
      kind: "run",
      config: {
        baseUrl: "https://ik.example.com",
        nodeId: "node_1",
        launchTokenFile: "/etc/inferencekey/launch-token",
        imdsEndpoint: "http://127.0.0.1:9",
        stateDir: "/var/lib/inferencekey/agent",
      },
    });
    expect(parseCli([], { INFERENCEKEY_BASE_URL: "https://a", INFERENCEKEY_LAUNCH_TOKEN_FILE: "/f" })).toEqual({
      kind: "error",
      message: "a node needs its id: pass --node-id node_... or set INFERENCEKEY_NODE_ID (the user data does)",
    });
    expect(parseCli(["--imds-endpoint", "ftp://x"], { INFERENCEKEY_BASE_URL: "https://a", INFERENCEKEY_LAUNCH_TOKEN_FILE: "/f", INFERENCEKEY_NODE_ID: "node_1" })).toEqual({
      kind: "error",
      message: '--imds-endpoint "ftp://x" is not an http URL (expected e.g. http://169.254.169.254)',
    });
  });
});

describe("runNodeAgent", () => {
  it("runs one agent per worker the platform lists, stops those that leave, and stops all when the node is gone", async () => {
    // Prepare: the platform's answers, changed by the test; every call recorded.
    const tokenA = generateSecret("worker");
    const tokenB = generateSecret("worker");
    let listed: { status: number; workers: { project: string; worker_id: string; worker_token: string }[] } = {
      status: 200,
      workers: [
        { project: "acme", worker_id: "wrk_a", worker_token: tokenA },
        { project: "beta", worker_id: "wrk_b", worker_token: tokenB },
      ],
    };
    const heartbeats: { token: string; at: number }[] = [];
    const fetchImpl = (async (input: string | URL, init: RequestInit = {}) => {
      const url = String(input);
      const authorization = new Headers(init.headers).get("authorization") ?? "";
      if (url === "http://platform/agent/v1/nodes/node_1/workers") {
        expect(authorization).toBe(`Bearer ${NODE_TOKEN}`);
        return listed.status === 200
          ? Response.json({ node_id: "node_1", state: "ready", workers: listed.workers })
          : Response.json({ error: { message: "Node node_1 is gone." } }, { status: listed.status });
      }
      if (url === "http://platform/agent/v1/heartbeat") {
        const token = authorization.replace("Bearer ", "");
        heartbeats.push({ token, at: Date.now() });
        const project = token === tokenA ? "acme" : "beta";
        return Response.json({ worker_id: token === tokenA ? "wrk_a" : "wrk_b", project, assignments: [], heartbeat_interval_seconds: 0.05 });
      }
      throw new Error(`unexpected ${url}`);
    }) as typeof fetch;
    const stateDir = tempDir();

    // Act 1: both workers listed.
    const node = runNodeAgent({ baseUrl: "http://platform", nodeId: "node_1", nodeToken: NODE_TOKEN, stateDir, fetch: fetchImpl, gpus: [], useCgroups: false, pollMs: 50 });
    await waitUntil(() => heartbeats.some((h) => h.token === tokenA) && heartbeats.some((h) => h.token === tokenB));

    // Act 2: beta's worker leaves the node.
    listed = { status: 200, workers: [{ project: "acme", worker_id: "wrk_a", worker_token: tokenA }] };
    await waitUntil(() => node.workers().length === 1);
    const leftAt = Date.now();
    await new Promise((r) => setTimeout(r, 300));

    // Act 3: the platform forgets the node.
    listed = { status: 401, workers: [] };
    const ended = await node.done.catch((error: unknown) => error);

    // Assess
    expect(node.workers()).toEqual([]);
    expect(heartbeats.filter((h) => h.token === tokenB && h.at > leftAt + 100)).toEqual([]);
    expect(ended).toBeInstanceOf(LaunchTokenRejectedError);
    expect((ended as Error).message).toContain("the platform no longer knows node node_1: Node node_1 is gone.");
    expect(existsSync(join(stateDir, "workers/wrk_a"))).toBe(true);
    expect(existsSync(join(stateDir, "workers/wrk_b"))).toBe(true);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}
