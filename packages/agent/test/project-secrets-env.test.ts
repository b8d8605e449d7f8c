import type { Assignment } from "@inferencekey/core";
import { describe, expect, it } from "vitest";
import { buildCommand, type BuiltCommand } from "../src";

const base: Assignment = {
  replica_id: "rep_abc",
  project: "acme",
  workload: "chat",
  slot: 0,
  generation: 1,
  backend: "vllm",
  task_type: "text2text",
  model: "meta-llama/Llama-3.1-8B-Instruct",
  command: "vllm serve meta-llama/Llama-3.1-8B-Instruct",
  port: 8101,
  host: "10.0.0.5",
  secret: "ik_rep_s3cr3t0123456789abcdefghijklmn",
  gpu_indexes: [0],
  desired: "running",
};

function built(env: Record<string, string> | undefined): BuiltCommand {
  const result = buildCommand(
    { ...base, ...(env === undefined ? {} : { env }) },
    { backendPort: 41234, baseEnv: { PATH: "/usr/bin", HOME: "/home/ik", HF_TOKEN: "the-agent-owners-token", INFERENCEKEY_WORKER_TOKEN: "ik_wrk_x" } },
  );
  if (!result.ok) throw new Error(result.reason);
  return result.command;
}

describe("project secrets in the backend's environment", () => {
  it("are set after the inherited environment, replacing an inherited variable of the same name", () => {
    const command = built({ HF_TOKEN: "hf_project_value", WANDB_API_KEY: "wandb_value" });

    expect(command.env.HF_TOKEN).toBe("hf_project_value");
    expect(command.env.WANDB_API_KEY).toBe("wandb_value");
    expect(command.env.HOME).toBe("/home/ik");
  });

  it("never replace what the agent sets, nor reach INFERENCEKEY_* or the loader, even from an answer that carries such names", () => {
    const command = built({ PORT: "1", HOST: "0.0.0.0", CUDA_VISIBLE_DEVICES: "0,1,2,3", VLLM_API_KEY: "k", PATH: "/evil", LD_PRELOAD: "/evil.so", INFERENCEKEY_REPLICA_SECRET: "x" });

    expect(command.env).toMatchObject({ PORT: "41234", HOST: "127.0.0.1", CUDA_VISIBLE_DEVICES: "0", VLLM_API_KEY: base.secret, PATH: "/usr/bin", INFERENCEKEY_REPLICA_SECRET: base.secret });
    expect(command.env.LD_PRELOAD).toBeUndefined();
  });

  it("stay out of what is logged (the shell and the agent's own variables) and out of the process digest", () => {
    const without = built(undefined);
    const withSecret = built({ HF_TOKEN: "hf_project_value" });

    expect(withSecret.shell).not.toContain("hf_project_value");
    expect(JSON.stringify(withSecret.agentEnv)).not.toContain("hf_project_value");
    // A changed secret takes effect when a replica next starts; a running backend is not taken for another process.
    expect(withSecret.hash).toBe(without.hash);
  });
});
