import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeImagesCommand, DescribeInstancesCommand, DescribeSubnetsCommand, type RunInstancesCommandInput } from "@aws-sdk/client-ec2";
import { createEc2Client, Ec2NodeProvider, NODE_22_PACKAGE, NODE_TAGS, renderNodeUserData, subnetsWithZones } from "@inferencekey/aws";
import { listNodes } from "@inferencekey/core";
import { type LocalPlatform, startLocalPlatform } from "@inferencekey/local";
import { ManagementClient } from "@inferencekey/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EMULATOR_CREDENTIALS } from "../support/dynalite";
import { createInstanceProfile, type RunningMoto, startMoto } from "../support/moto";
import { type NodeStandIn, startNodeStandIn } from "../support/node-stand-in";
import { REPO_ROOT } from "../support/platform-process";
import { processesWith, waitFor } from "../support/processes";

/**
 * Shared cloud capacity, the whole loop on one machine: the real controller (local platform) with
 * SharedCloudCompute on the EC2 adapter, moto answering EC2, the node stand-in running each
 * instance's user data `start` phase (the real agent, a stub nvidia-smi with a p4de's 8 A100-80GB)
 * on a loopback address, the gateway serving through the agent's fronts. Backends are the TEST
 * DOUBLE test/replicas/openai-replica.mjs started as the workloads' command.
 */
const marker = `e2e-cloud-${process.pid}`;
const APP = "inferencekey";
const STAGE = `e2e${process.pid}`;
const MODEL = "meta-llama/Llama-3.1-8B-Instruct";
const A100 = { gpu_pool: ["NVIDIA A100-SXM4-80GB"] };

interface AutoscalingKnobs {
  min_workers: number;
  max_workers: number;
  target_requests_per_minute_per_worker?: number;
  demand_window_seconds?: number;
  scale_down_stabilization_seconds?: number;
  scale_to_zero_after_seconds?: number;
}

function spec(slug: string, config: AutoscalingKnobs) {
  return {
    name: slug,
    slug,
    model: MODEL,
    backend: "vllm" as const,
    command: `${process.execPath} ${join(REPO_ROOT, "test/replicas/openai-replica.mjs")} serve ${MODEL} --marker ${marker}`,
    executionPolicy: "autoscaling" as const,
    executionPolicyConfig: { ...config, max_hourly_cost_usd: 20, workers: { source: "cloud" as const, cloud_pool: A100 } },
  };
}

describe("shared cloud capacity end to end (moto + node stand-in)", () => {
  let moto: RunningMoto;
  let platform: LocalPlatform;
  let standIn: NodeStandIn;
  let mgmt: ManagementClient;
  /** The second workload is another project's: the node's agent runs one worker per project. */
  let beta: ManagementClient;
  const ec2Calls: RunInstancesCommandInput[] = [];
  let ec2: ReturnType<typeof createEc2Client>;
  const log: string[] = [];

  beforeAll(async () => {
    moto = await startMoto();
    ec2 = createEc2Client({ region: "us-east-1", endpoint: moto.endpoint, credentials: EMULATOR_CREDENTIALS });
    // Every RunInstances the adapter sends, as sent.
    ec2.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "RunInstancesCommand") ec2Calls.push(structuredClone(args.input as RunInstancesCommandInput));
        return next(args);
      },
      { step: "initialize", name: "recordRunInstances" },
    );
    const instanceProfileArn = await createInstanceProfile(moto.endpoint, "ik-node");
    const defaults = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: "default-for-az", Values: ["true"] }] }));
    const subnets = await subnetsWithZones(ec2, (defaults.Subnets ?? []).map((s) => s.SubnetId ?? ""));
    const imageId = (await ec2.send(new DescribeImagesCommand({ Owners: ["amazon"] }))).Images?.[0]?.ImageId ?? "";
    standIn = await startNodeStandIn({ ec2, app: APP, stage: STAGE, log: (line) => log.push(line) });
    let baseUrl = "";
    const nodes = new Ec2NodeProvider({
      ec2,
      app: APP,
      stage: STAGE,
      subnets,
      securityGroupIds: [],
      instanceProfileArn,
      // The stand-in runs the start phase only: the image is never booted.
      resolveImage: async () => imageId,
      renderUserData: (request) =>
        renderNodeUserData({
          baseUrl,
          launchToken: request.launchToken,
          nodeId: request.nodeId,
          region: "us-east-1",
          node: NODE_22_PACKAGE,
          agent: { bucket: "ik-e2e-artifacts", key: "agent/inferencekey-agent-0.1.0.tgz", sha256: "0".repeat(64) },
          vllmVersions: request.vllmVersions ?? [],
        }),
    });
    platform = await startLocalPlatform({
      dir: mkdtempSync(join(tmpdir(), "ik-cloud-e2e-")),
      port: 0,
      tickMs: 1000,
      runLocalWorker: false,
      sharedCapacity: {
        provider: standIn.provider(nodes),
        settings: { region: "us-east-1", maxHourlyCostUsd: 60, maxInstances: 2, emptyNodeGraceMs: 2_000, orphanGraceMs: 60 * 60_000 },
      },
      log: (line) => log.push(line),
    });
    baseUrl = platform.url;
    const token = readFileSync(platform.devEnvPath, "utf8").match(/INFERENCEKEY_SDK_TOKEN=(\S+)/)?.[1] as string;
    mgmt = new ManagementClient({ token, baseUrl: platform.url, project: "acme" });
    beta = new ManagementClient({ token, baseUrl: platform.url, project: "beta" });
  }, 90_000);

  afterAll(async () => {
    await platform?.close();
    await standIn?.stop();
    ec2?.destroy();
    await moto?.stop();
    await waitFor("no backend left", () => processesWith(marker).length === 0 || undefined);
  });

  it("a cloud autoscaling workload goes 0 -> 2 -> 0 replicas, sharing one launched node with another project's workload; nothing runs after delete", async () => {
    try {
      // Prepare: one workload always on (1 replica), one that scales from zero on requests.
      await beta.ensure(spec("steady", { min_workers: 1, max_workers: 1 }));
      await mgmt.ensure(
        spec("chat", {
          min_workers: 0,
          max_workers: 2,
          target_requests_per_minute_per_worker: 10,
          demand_window_seconds: 10,
          scale_down_stabilization_seconds: 0,
          scale_to_zero_after_seconds: 5,
        }),
      );
      await waitFor("steady ready on a node", async () => (await beta.get("steady")).status.readyReplicas === 1 || undefined, 90_000);
      expect((await mgmt.get("chat")).status.readyReplicas).toBe(0);
      const key = await mgmt.keys.create("chat", { name: "load" });
      const client = new OpenAI({ baseURL: `${platform.url}/endpoint/acme/chat/v1`, apiKey: key.key, maxRetries: 0, timeout: 120_000 });

      // Act 1: a cold request wakes chat (0 -> 1), then sustained requests raise it to 2.
      const first = await client.chat.completions.create(
        { model: MODEL, messages: [{ role: "user", content: "hello" }] },
        { headers: { "X-Scale-Up-Timeout": "90" } },
      );
      expect(first.choices[0]?.message.content).toBeTruthy();
      const started = Date.now();
      let failed = 0;
      while ((await mgmt.get("chat")).status.readyReplicas < 2 && Date.now() - started < 60_000) {
        const batch = await Promise.allSettled(Array.from({ length: 2 }, () => client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] })));
        failed += batch.filter((r) => r.status === "rejected").length;
        await new Promise((r) => setTimeout(r, 500));
      }

      // Assess 1: two chat replicas and the steady one on whole GPUs of one node, one launch.
      expect((await mgmt.get("chat")).status.readyReplicas).toBe(2);
      expect(failed).toBe(0);
      const nodes = (await listNodes(platform.ctx)).map((n) => n.node);
      expect(nodes).toHaveLength(1);
      const node = nodes[0];
      const allocations = Object.values(node?.allocations ?? {});
      expect(allocations.map((a) => `${a.project}/${a.workload}`).sort()).toEqual(["acme/chat", "acme/chat", "beta/steady"]);
      expect(Object.keys(node?.workers ?? {}).sort()).toEqual(["acme", "beta"]);
      expect(new Set(allocations.flatMap((a) => a.gpu_indexes)).size).toBe(3);
      expect(standIn.nodes().map((n) => n.instanceId)).toEqual([node?.instance_id]);
      expect(node?.dial_host).toBe(standIn.addressOf(node?.instance_id ?? ""));
      // Measured, not asserted: the stand-in skips the install phase, so this is the start phase's share of boot-to-ready.
      console.log(`node ${node?.id}: recorded -> ready in ${Date.parse(node?.ready_at ?? "") - Date.parse(node?.created_at ?? "")} ms (launch, start phase, agent start, registration)`);

      // Tags and ClientToken on every launch, as sent and as the emulator stored them.
      expect(ec2Calls).toHaveLength(1);
      for (const call of ec2Calls) {
        const tags = Object.fromEntries((call.TagSpecifications?.find((t) => t.ResourceType === "instance")?.Tags ?? []).map((t) => [t.Key, t.Value]));
        expect(tags).toMatchObject({ [NODE_TAGS.app]: APP, [NODE_TAGS.stage]: STAGE, [NODE_TAGS.node]: node?.id, [NODE_TAGS.launch]: call.ClientToken });
        expect(call.ClientToken).toMatch(/^[0-9a-f]{64}$/);
        expect(call.MetadataOptions).toMatchObject({ HttpTokens: "required", HttpPutResponseHopLimit: 1 });
      }
      const stored = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [node?.instance_id ?? ""] }));
      const instance = stored.Reservations?.[0]?.Instances?.[0];
      expect(instance?.ClientToken).toBe(ec2Calls[0]?.ClientToken);

      // Act 2: no more requests: chat scales back to zero once the gateway's one-minute request rate
      // has decayed; the node stays for steady.
      await waitFor("chat back to 0", async () => ((await mgmt.get("chat")).status.readyReplicas === 0 ? true : undefined), 150_000);
      expect(standIn.running()).toEqual([node?.instance_id]);

      // Act 3: delete both: the empty node is terminated after its grace period, and its machine stops.
      await mgmt.delete("chat");
      await beta.delete("steady");
      // The pool reconciler runs at most every 10 s: empty, then (after the 2 s grace) terminating,
      // then terminated, then forgotten takes a few of its runs, after the replicas stopped.
      await waitFor("node terminated", async () => ((await listNodes(platform.ctx)).length === 0 ? true : undefined), 150_000);
      await waitFor("stand-in machine stopped", () => (standIn.running().length === 0 ? true : undefined), 60_000);

      // Assess 3: nothing of ours runs in the emulator, nor on this machine.
      const owned = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: `tag:${NODE_TAGS.stage}`, Values: [STAGE] }] }));
      expect(owned.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.State?.Name)).toEqual(["terminated"]);
      await waitFor("no backend left", () => (processesWith(marker).length === 0 ? true : undefined), 20_000);
      expect(ec2Calls).toHaveLength(1);
    } catch (error) {
      console.log(log.filter((line) => !line.startsWith("GET /v1/")).slice(-150).join("\n"));
      for (const n of standIn.nodes()) console.log(`--- ${n.instanceId}\n${n.output().slice(-6000)}`);
      throw error;
    }
  }, 480_000);
});
