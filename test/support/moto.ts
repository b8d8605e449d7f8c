import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

const REPO_ROOT = resolve(import.meta.dirname, "../..");

/** Where `scripts/emulators.sh` installs moto server (`npm test` runs it before the suites). */
export const MOTO_SERVER = resolve(REPO_ROOT, ".tools/moto/bin/moto_server");

export interface RunningMoto {
  /** e.g. `http://127.0.0.1:41235`, for every AWS client's `endpoint` (DynamoDB, SQS, EC2, EventBridge...). */
  endpoint: string;
  /** Forgets every resource of every service (moto's reset API), for a clean slate between cases. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The shared AWS emulator for integration suites: one moto server on loopback, on a port the
 * kernel picks (port 0; moto prints the one it got), started by the suite and stopped by it. moto
 * serves every service on one endpoint. It neither checks IAM nor deduplicates ClientTokens: unit
 * tests with aws-sdk-client-mock cover those.
 */
export async function startMoto(timeoutMs = 30_000): Promise<RunningMoto> {
  if (!existsSync(MOTO_SERVER)) {
    throw new Error(`moto server is not installed at ${MOTO_SERVER}: run \`sh scripts/emulators.sh\` (npm test does)`);
  }
  const child = spawn(MOTO_SERVER, ["-H", "127.0.0.1", "-p", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PYTHONUNBUFFERED: "1" },
  });
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const endpoint = await new Promise<string>((found, failed) => {
    let output = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      failed(new Error(`moto server did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const read = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8192);
      const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1] === undefined) return;
      clearTimeout(timer);
      found(match[1]);
    };
    child.stdout?.on("data", read);
    child.stderr?.on("data", read);
    child.once("exit", (code) => {
      clearTimeout(timer);
      failed(new Error(`moto server exited (${code}) before listening:\n${output}`));
    });
  });
  // Keep draining its request log so a full pipe never blocks the server.
  drain(child);
  return {
    endpoint,
    reset: async () => {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: "POST" });
      if (!response.ok) throw new Error(`moto reset answered ${response.status}`);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/**
 * An IAM instance profile in moto (RunInstances checks it exists), through IAM's query API by hand:
 * the project has no IAM client. moto routes on the credential scope and checks no signature.
 */
export async function createInstanceProfile(endpoint: string, name: string): Promise<string> {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: "AWS4-HMAC-SHA256 Credential=local/20300101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
    },
    body: new URLSearchParams({ Action: "CreateInstanceProfile", InstanceProfileName: name, Version: "2010-05-08" }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`CreateInstanceProfile answered ${response.status}: ${text}`);
  const arn = /<Arn>([^<]+)<\/Arn>/.exec(text)?.[1];
  if (arn === undefined) throw new Error(`CreateInstanceProfile answered no ARN: ${text.slice(0, 300)}`);
  return arn;
}

function drain(child: ChildProcess): void {
  child.stdout?.resume();
  child.stderr?.resume();
}
