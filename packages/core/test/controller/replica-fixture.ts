import type { ReplicaRecord } from "../../src";

/** A replica record for plan tests: ready and running unless `over` says otherwise. */
export function replica(slot: number, generation: number, over: Partial<ReplicaRecord> = {}): ReplicaRecord {
  return {
    id: `rep_${slot}_${generation}`,
    project: "acme",
    workload: "bot",
    slot,
    generation,
    worker_id: "wrk_a",
    host: "127.0.0.1",
    port: 20000 + slot,
    desired: "running",
    phase: "ready",
    restarts: 0,
    backend: "vllm",
    task_type: "text2text",
    model: "m",
    command: "c",
    gpu_indexes: [],
    hourly_price_usd: 0,
    created_at: "",
    updated_at: "",
    ...over,
  };
}
