import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeInstanceAttributeCommand, DescribeInstancesCommand, type EC2Client } from "@aws-sdk/client-ec2";
import type { NodeProvider, OwnedInstance } from "@inferencekey/core";
import { REPO_ROOT } from "./platform-process";

/**
 * TEST DOUBLE for the machines behind EC2 instances: moto (test/support/moto.ts) answers the EC2
 * API but runs nothing. This stand-in watches moto's instances that carry the deployment's tags and
 * gives each a "machine" on this one: a loopback address 127.0.0.x, an IMDSv2 endpoint answering its
 * instance id, a stub `nvidia-smi` listing the GPUs of its instance type, and its user data's
 * `start` phase run as a local process (the real agent, from this repository, in place of the
 * `install` phase's download). When moto reports the instance terminated, the process group gets
 * SIGTERM, as a shutdown would. The emulator's 10.x addresses are never dialled: `provider()` wraps
 * the NodeProvider so every address the platform learns is the instance's loopback one.
 */

/** The GPUs `nvidia-smi` reports per instance type (the catalog's names and usable memory). */
const GPUS: Record<string, { name: string; memoryMib: number; count: number }> = {
  "p4de.24xlarge": { name: "NVIDIA A100-SXM4-80GB", memoryMib: 81920, count: 8 },
  "p4d.24xlarge": { name: "NVIDIA A100-SXM4-40GB", memoryMib: 40960, count: 8 },
};

export interface StandInNode {
  instanceId: string;
  instanceType: string;
  address: string;
  root: string;
  process: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

export interface NodeStandIn {
  /** The loopback address standing for the instance (assigned on first use, stable). */
  addressOf(instanceId: string): string;
  /** `inner` with every instance address replaced by its loopback one. */
  provider(inner: NodeProvider): NodeProvider;
  /** Every node started so far, running or exited. */
  nodes(): StandInNode[];
  /** Instance ids whose machine is still running. */
  running(): string[];
  stop(): Promise<void>;
}

function nvidiaSmiStub(instanceType: string): string {
  const gpus = GPUS[instanceType];
  if (gpus === undefined) throw new Error(`the node stand-in has no GPUs for ${instanceType}; known: ${Object.keys(GPUS).join(", ")}`);
  const lines = Array.from({ length: gpus.count }, (_, i) => `${i}, ${gpus.name}, ${gpus.memoryMib}, GPU-00000000-0000-0000-0000-00000000000${i}`);
  return `#!/bin/sh
# TEST DOUBLE: nvidia-smi of a ${instanceType}.
case "$*" in
  *--query-gpu*) printf '%s\\n' ${lines.map((l) => `'${l}'`).join(" ")} ;;
  *) echo "| NVIDIA-SMI 550.54.15              Driver Version: 550.54.15      CUDA Version: 12.4     |" ;;
esac
`;
}

/** IMDSv2 for one instance: a session token first, then the instance id with it. */
async function startImds(instanceId: string): Promise<{ endpoint: string; server: Server }> {
  const session = `imds-session-${instanceId}`;
  const server = createServer((request, response) => {
    if (request.method === "PUT" && request.url === "/latest/api/token" && request.headers["x-aws-ec2-metadata-token-ttl-seconds"] !== undefined) {
      response.end(session);
      return;
    }
    if (request.method === "GET" && request.url === "/latest/meta-data/instance-id") {
      response.statusCode = request.headers["x-aws-ec2-metadata-token"] === session ? 200 : 401;
      response.end(response.statusCode === 200 ? instanceId : "");
      return;
    }
    response.statusCode = 404;
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

export async function startNodeStandIn(options: {
  ec2: EC2Client;
  app: string;
  stage: string;
  /** First loopback host number: 127.0.0.<first>, then up. */
  firstHost?: number;
  pollMs?: number;
  log?: (line: string) => void;
}): Promise<NodeStandIn> {
  const log = options.log ?? (() => undefined);
  const addresses = new Map<string, string>();
  const nodes = new Map<string, StandInNode & { imds: Server }>();
  const base = mkdtempSync(join(tmpdir(), "ik-node-stand-in-"));
  let nextHost = options.firstHost ?? 50;
  let stopped = false;

  const addressOf = (instanceId: string): string => {
    let address = addresses.get(instanceId);
    if (address === undefined) {
      if (nextHost > 254) throw new Error("the node stand-in ran out of loopback addresses");
      address = `127.0.0.${nextHost++}`;
      addresses.set(instanceId, address);
    }
    return address;
  };

  const boot = async (instanceId: string, instanceType: string): Promise<void> => {
    const attribute = await options.ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: instanceId, Attribute: "userData" }));
    const userData = Buffer.from(attribute.UserData?.Value ?? "", "base64").toString("utf8");
    if (!userData.startsWith("#!/bin/sh")) throw new Error(`instance ${instanceId} has no node user data`);
    const root = join(base, instanceId);
    mkdirSync(join(root, "node/bin"), { recursive: true });
    mkdirSync(join(root, "stub"), { recursive: true });
    mkdirSync(join(root, "home"), { recursive: true });
    // What the install phase would have downloaded: Node 22 (this one) and the agent (this repository's).
    symlinkSync(process.execPath, join(root, "node/bin/node"));
    symlinkSync(join(REPO_ROOT, "packages/agent"), join(root, "agent"));
    writeFileSync(join(root, "stub/nvidia-smi"), nvidiaSmiStub(instanceType));
    chmodSync(join(root, "stub/nvidia-smi"), 0o755);
    writeFileSync(join(root, "user-data.sh"), userData, { mode: 0o700 });
    const imds = await startImds(instanceId);
    const address = addressOf(instanceId);
    const child = spawn("sh", [join(root, "user-data.sh"), "start"], {
      cwd: root,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        PATH: `${join(root, "stub")}:${process.env.PATH ?? "/usr/bin:/bin"}`,
        HOME: join(root, "home"),
        INFERENCEKEY_NODE_ROOT: root,
        INFERENCEKEY_IMDS_ENDPOINT: imds.endpoint,
        INFERENCEKEY_ADVERTISE_HOST: address,
      },
    });
    let output = "";
    const read = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-200_000);
    };
    child.stdout?.on("data", read);
    child.stderr?.on("data", read);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    nodes.set(instanceId, { instanceId, instanceType, address, root, process: child, exited, output: () => output, imds: imds.server });
    log(`stand-in: ${instanceId} (${instanceType}) boots as ${address}, pid ${child.pid}`);
  };

  const shutDown = async (node: StandInNode & { imds: Server }): Promise<void> => {
    if (node.process.exitCode === null && node.process.signalCode === null && node.process.pid !== undefined) {
      log(`stand-in: ${node.instanceId} shuts down`);
      try {
        process.kill(-node.process.pid, "SIGTERM");
      } catch {
        // already gone
      }
      const killed = setTimeout(() => {
        try {
          if (node.process.pid !== undefined) process.kill(-node.process.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }, 20_000);
      await node.exited;
      clearTimeout(killed);
    }
    await new Promise<void>((resolve) => node.imds.close(() => resolve()));
  };

  const watch = async () => {
    while (!stopped) {
      try {
        const answer = await options.ec2.send(
          new DescribeInstancesCommand({
            Filters: [
              { Name: "tag:inferencekey:app", Values: [options.app] },
              { Name: "tag:inferencekey:stage", Values: [options.stage] },
            ],
          }),
        );
        for (const instance of answer.Reservations?.flatMap((r) => r.Instances ?? []) ?? []) {
          const id = instance.InstanceId;
          const state = instance.State?.Name;
          if (id === undefined) continue;
          const known = nodes.get(id);
          if ((state === "pending" || state === "running") && known === undefined) await boot(id, instance.InstanceType ?? "");
          if ((state === "shutting-down" || state === "terminated" || state === "stopped") && known !== undefined && known.process.exitCode === null) {
            await shutDown(known);
          }
        }
      } catch (error) {
        log(`stand-in: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 300));
    }
  };
  const watching = watch();

  const mapped = <T extends { instanceId: string; privateIp?: string; publicIp?: string }>(instance: T): T => ({
    ...instance,
    privateIp: addressOf(instance.instanceId),
    publicIp: addressOf(instance.instanceId),
  });

  return {
    addressOf,
    provider: (inner) => ({
      launch: async (request) => {
        const outcome = await inner.launch(request);
        return outcome.kind === "launched" ? mapped(outcome) : outcome;
      },
      terminate: (ids) => inner.terminate(ids),
      listOwned: async (): Promise<OwnedInstance[]> => (await inner.listOwned()).map(mapped),
      ...(inner.offerings === undefined ? {} : { offerings: (types: readonly string[]) => inner.offerings?.(types) ?? Promise.resolve([]) }),
    }),
    nodes: () => [...nodes.values()],
    running: () => [...nodes.values()].filter((n) => n.process.exitCode === null && n.process.signalCode === null).map((n) => n.instanceId),
    stop: async () => {
      stopped = true;
      await watching;
      await Promise.all([...nodes.values()].map(shutDown));
      rmSync(base, { recursive: true, force: true });
    },
  };
}
