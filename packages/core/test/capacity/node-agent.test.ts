import { describe, expect, it } from "vitest";
import { createAgentApi, generateSecret, nodeAgentToken, nodeLaunchToken, nodeWorkerToken } from "../../src";
import { capacityWorld, cloudSpec } from "./world";

const A100 = { gpu_pool: ["NVIDIA A100-SXM4-80GB"] };

/** A world whose simulated agents never register on their own: the agent API does it here. */
async function launchedNode() {
  const w = await capacityWorld({ bootMs: 24 * 3_600_000 });
  await w.ensure(cloudSpec("one", A100));
  await w.tick();
  await w.tick();
  const node = (await w.nodes())[0];
  if (node?.instance_id === undefined) throw new Error("no node launched");
  const api = createAgentApi(w.ctx, { log: () => {} });
  const call = (method: string, path: string, token: string | undefined, body?: unknown) =>
    api(
      new Request(`http://platform${path}`, {
        method,
        headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
  return { w, node, instanceId: node.instance_id, call, launchToken: nodeLaunchToken(w.ctx.serverSecret, node.id, node.attempt) };
}

describe("a node's agent on the agent API", () => {
  it("registers once with the launch token for its instance: the node is ready and its agent gets the node token", async () => {
    const { w, node, instanceId, call, launchToken } = await launchedNode();

    const first = await call("POST", "/agent/v1/register", launchToken, { node_id: node.id, instance_id: instanceId });
    const reused = await call("POST", "/agent/v1/register", launchToken, { node_id: node.id, instance_id: instanceId });

    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toBe("no-store");
    expect(await first.json()).toEqual({ node_id: node.id, node_token: nodeAgentToken(w.ctx.serverSecret, node.id) });
    expect((await w.nodes())[0]).toMatchObject({ state: "ready", instance_id: instanceId, dial_host: node.dial_host });
    expect(reused.status).toBe(401);
    expect(((await reused.json()) as { error: { message: string } }).error.message).toBe("Registration refused: launch token already used.");
  });

  it("refuses another instance, another node's or a made-up token, and a body that is not the request", async () => {
    const { w, node, instanceId, call, launchToken } = await launchedNode();

    const otherInstance = await call("POST", "/agent/v1/register", launchToken, { node_id: node.id, instance_id: "i-0fffffffffffffff0" });
    const madeUp = await call("POST", "/agent/v1/register", generateSecret("worker"), { node_id: node.id, instance_id: instanceId });
    const extraField = await call("POST", "/agent/v1/register", launchToken, { node_id: node.id, instance_id: instanceId, dial_host: "127.0.0.1" });
    const noToken = await call("POST", "/agent/v1/register", undefined, { node_id: node.id, instance_id: instanceId });

    expect(otherInstance.status).toBe(401);
    expect(((await otherInstance.json()) as { error: { message: string } }).error.message).toContain("bound to another instance than i-0fffffffffffffff0");
    expect(madeUp.status).toBe(401);
    expect(extraField.status).toBe(400);
    expect(noToken.status).toBe(401);
    expect((await w.nodes())[0]?.state).toBe("running");
    // None of the refusals spent it.
    expect((await call("POST", "/agent/v1/register", launchToken, { node_id: node.id, instance_id: instanceId })).status).toBe(200);
  });

  it("lists the node's workers, one per project, with their worker tokens, to the node token only", async () => {
    const { w, node, instanceId, call, launchToken } = await launchedNode();
    const { node_token: nodeToken } = (await (await call("POST", "/agent/v1/register", launchToken, { node_id: node.id, instance_id: instanceId })).json()) as {
      node_token: string;
    };
    await w.tick();

    const listed = await call("GET", `/agent/v1/nodes/${node.id}/workers`, nodeToken);
    const wrongToken = await call("GET", `/agent/v1/nodes/${node.id}/workers`, nodeWorkerToken(w.ctx.serverSecret, node.id, "acme"));
    const post = await call("POST", `/agent/v1/nodes/${node.id}/workers`, nodeToken);

    const workers = (await w.nodes())[0]?.workers ?? {};
    expect(Object.keys(workers)).toEqual(["acme"]);
    expect(await listed.json()).toEqual({
      node_id: node.id,
      state: "ready",
      workers: [{ project: "acme", worker_id: workers.acme, worker_token: nodeWorkerToken(w.ctx.serverSecret, node.id, "acme") }],
    });
    expect(wrongToken.status).toBe(401);
    expect(post.status).toBe(405);
    // The node token is no worker token: it heartbeats nothing.
    expect((await call("POST", "/agent/v1/heartbeat", nodeToken, { host: { hostname: "x", advertise_host: "10.0.0.1", gpus: [] }, replicas: [] })).status).toBe(401);
  });
});
