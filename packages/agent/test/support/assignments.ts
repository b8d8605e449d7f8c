import { randomBytes } from "node:crypto";
import type { Assignment } from "@inferencekey/core";
import { replicaCommand } from "./processes";

let counter = 0;

/** A vllm-backend assignment running the test replica, serving `model` on 127.0.0.1:`port`. */
export function testAssignment(model: string, port: number, over: Partial<Assignment> = {}): Assignment {
  counter++;
  return {
    replica_id: `rep_${model.replace(/[^a-z0-9]/gi, "").slice(-12)}${counter}`,
    project: "acme",
    workload: "chat",
    slot: 0,
    generation: 1,
    backend: "vllm",
    task_type: "text2text",
    model,
    command: replicaCommand(model),
    port,
    host: "127.0.0.1",
    secret: `ik_rep_${randomBytes(16).toString("hex")}`,
    gpu_indexes: [],
    desired: "running",
    ...over,
  };
}
