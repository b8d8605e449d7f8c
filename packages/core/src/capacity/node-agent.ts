/**
 * The agent API side of a node the platform launched (the capacity side mints and checks the
 * launch token: `nodeLaunchToken`, `redeemLaunchToken` in nodes.ts).
 *
 * 1. `POST /agent/v1/register`: the agent spends the launch token from its user data for its
 *    instance id (from IMDSv2). The node is marked ready; the answer is the node token.
 * 2. `GET /agent/v1/nodes/{node_id}/workers` with the node token: the platform's workers on the
 *    node, one per project whose replicas it holds, with their worker tokens. The agent runs one
 *    heartbeat loop per worker and polls this list for new or gone ones.
 *
 * Both tokens are derived from the server secret, never stored. The node token authenticates
 * this one route and no heartbeat; a worker token heartbeats for its project only.
 */
import { timingSafeEqual } from "node:crypto";
import { type NodeWorkersResponse, type RegisterResponse, RegisterRequestSchema } from "../agent-protocol";
import { UnauthorizedError } from "../errors";
import { parseInput } from "../http/control-api";
import type { PlatformContext } from "../platform/context";
import { deriveSecret, describeSecretProblem, digestSecret } from "../secrets";
import { bearer } from "../tokens";
import { getNode, nodeAssignments, redeemLaunchToken } from "./nodes";

/** The token a registered node's agent lists its workers with. */
export function nodeAgentToken(serverSecret: string, nodeId: string): string {
  return deriveSecret("worker", serverSecret, `node-agent:${nodeId}`);
}

function presentedToken(authorization: string | null, what: string): string {
  const token = bearer(authorization);
  if (token === undefined) throw new UnauthorizedError(`A ${what} is required: send \`Authorization: Bearer ...\`.`);
  const problem = describeSecretProblem("worker", token);
  if (problem !== undefined) throw new UnauthorizedError(`The ${what} is malformed: ${problem}.`);
  return token;
}

function sameSecret(serverSecret: string, a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(digestSecret(serverSecret, a)), Buffer.from(digestSecret(serverSecret, b)));
}

/**
 * Spends the launch token: refused (401, saying why, never quoting the token) when it is not the
 * node's current attempt's, already used, older than 30 minutes or presented from another instance.
 * The node's dial address stays the one the platform recorded from the cloud, never the agent's.
 */
export async function registerNode(ctx: PlatformContext, authorization: string | null, body: unknown): Promise<RegisterResponse> {
  const token = presentedToken(authorization, "launch token");
  const request = parseInput(RegisterRequestSchema, body, "registration");
  if (!/^i-[0-9a-f]{8,32}$/.test(request.instance_id)) {
    throw new UnauthorizedError(`instance_id ${JSON.stringify(request.instance_id)} is not an EC2 instance id (i- and 8 to 32 hex digits).`);
  }
  const outcome = await redeemLaunchToken(ctx, request.node_id, token, request.instance_id);
  if ("refused" in outcome) throw new UnauthorizedError(`Registration refused: ${outcome.refused}.`);
  return { node_id: outcome.node.id, node_token: nodeAgentToken(ctx.serverSecret, outcome.node.id) };
}

/** The node's workers for its agent; a node that is gone is a 401 (its agent stops). */
export async function nodeWorkers(ctx: PlatformContext, nodeId: string, authorization: string | null): Promise<NodeWorkersResponse> {
  const token = presentedToken(authorization, "node token");
  if (!sameSecret(ctx.serverSecret, token, nodeAgentToken(ctx.serverSecret, nodeId))) throw new UnauthorizedError("The node token is not recognised.");
  const found = await getNode(ctx, nodeId);
  if (found === undefined) throw new UnauthorizedError(`Node ${nodeId} is gone.`);
  const { node } = found;
  // Only a ready node has workers for its agent: a terminating one lists none, so its agent stops its replicas.
  const workers = (await nodeAssignments(ctx, nodeId))
    .sort((a, b) => a.project.localeCompare(b.project))
    .map((assignment) => ({ project: assignment.project, worker_id: assignment.workerId, worker_token: assignment.token }));
  return { node_id: node.id, state: node.state, workers };
}
