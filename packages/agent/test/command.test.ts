import type { Assignment } from "@inferencekey/core";
import { describe, expect, it } from "vitest";
import { type BuiltCommand, buildCommand, type CommandOptions, SECRET_ENV, shellQuote } from "../src";

const SECRET = "ik_rep_s3cr3t0123456789abcdefghijklmn";

const base: Assignment = {
  replica_id: "rep_abc",
  project: "acme",
  workload: "chat",
  slot: 0,
  generation: 1,
  backend: "vllm",
  task_type: "text2text",
  model: "meta-llama/Llama-3.1-8B-Instruct",
  command: "vllm serve meta-llama/Llama-3.1-8B-Instruct --max-model-len 8192",
  port: 8101,
  host: "10.0.0.5",
  secret: SECRET,
  gpu_indexes: [0, 1],
  desired: "running",
};

const BACKEND_PORT = 41234;

const options: CommandOptions = {
  backendPort: BACKEND_PORT,
  baseEnv: {
    PATH: "/usr/bin:/bin",
    HOME: "/home/ik",
    INFERENCEKEY_WORKER_TOKEN: "ik_wrk_x",
    INFERENCEKEY_SERVER_SECRET: "s",
  },
  envsDir: "/opt/envs",
  isDirectory: (path) => path === "/opt/envs/vllm-0.6.3/bin",
};

function built(over: Partial<Assignment>): BuiltCommand {
  const result = buildCommand({ ...base, ...over }, options);
  if (!result.ok) throw new Error(result.reason);
  return result.command;
}

describe("buildCommand", () => {
  it.each([
    [
      "vllm without placeholders gets the loopback --host/--port, and no --api-key",
      { backend: "vllm" },
      `${base.command} --host 127.0.0.1 --port 41234`,
    ],
    [
      "sglang gets the same flags",
      { backend: "sglang", command: "python -m sglang.launch_server --model-path m" },
      `python -m sglang.launch_server --model-path m --host 127.0.0.1 --port 41234`,
    ],
    [
      "vllm-omni is handled as vllm",
      { backend: "vllm-omni", command: "vllm-omni serve x" },
      `vllm-omni serve x --host 127.0.0.1 --port 41234`,
    ],
    [
      "placeholders are substituted and no address flag is appended",
      { command: "vllm serve m --port {port} --host {host}" },
      `vllm serve m --port 41234 --host 127.0.0.1`,
    ],
    [
      "{port} alone counts as placing the address",
      { command: "vllm serve m --port {port}" },
      `vllm serve m --port 41234`,
    ],
    [
      "{api_key} places the secret reference itself",
      { command: "sh -c 'vllm serve m --host {host} --port {port} --api-key {api_key} & wait'" },
      `sh -c 'vllm serve m --host 127.0.0.1 --port 41234 --api-key "$${SECRET_ENV}" & wait'`,
    ],
    ["ollama gets no flag", { backend: "ollama", command: "ollama serve" }, "ollama serve"],
    [
      "trailing whitespace is trimmed before appending",
      { command: "vllm serve m  \n" },
      `vllm serve m --host 127.0.0.1 --port 41234`,
    ],
  ] as const)("%s", (_name, over, shell) => {
    // Prepare/Act
    const command = built(over);
    // Assess
    expect(command.shell).toBe(shell);
  });

  it("never puts the secret into the command text; it travels in the environment", () => {
    const command = built({});
    expect(command.shell).not.toContain(SECRET);
    expect(command.env[SECRET_ENV]).toBe(SECRET);
    expect(command.env.VLLM_API_KEY).toBe(SECRET);
    expect(JSON.stringify(command.agentEnv)).not.toContain(SECRET);
  });

  it("always sets HOST and PORT to the backend's loopback address, and CUDA_VISIBLE_DEVICES from gpu_indexes", () => {
    expect(built({}).env).toMatchObject({ HOST: "127.0.0.1", PORT: "41234", CUDA_VISIBLE_DEVICES: "0,1" });
    expect(built({ backend: "ollama", command: "ollama serve" }).env).toMatchObject({
      HOST: "127.0.0.1",
      PORT: "41234",
    });
  });

  it.each([
    ["vllm", "vllm serve m"],
    ["vllm-omni", "vllm-omni serve m"],
    ["sglang", "python -m sglang.launch_server --model-path m"],
    ["ollama", "ollama serve"],
  ] as const)("%s: the default command carries no secret; the front is the gate", (backend, command) => {
    const result = built({ backend, command });
    expect(result.shell).not.toContain("api-key");
    expect(result.shell).not.toContain(SECRET_ENV);
  });

  it("the front hands the key to backends given one (vLLM's VLLM_API_KEY, {api_key}) and to no other", () => {
    expect(built({}).backendAuthorization).toBe(`Bearer ${SECRET}`);
    expect(built({ backend: "sglang", command: "python -m sglang.launch_server" }).backendAuthorization).toBeUndefined();
    expect(built({ backend: "ollama", command: "ollama serve" }).backendAuthorization).toBeUndefined();
    expect(built({ backend: "sglang", command: "x --api-key {api_key}" }).backendAuthorization).toBe(`Bearer ${SECRET}`);
  });

  it("sets CUDA_VISIBLE_DEVICES to the empty string on a CPU-only box", () => {
    expect(built({ gpu_indexes: [] }).env.CUDA_VISIBLE_DEVICES).toBe("");
  });

  it("gives ollama OLLAMA_HOST on loopback (whatever the assigned address) and no VLLM_API_KEY", () => {
    expect(built({ backend: "ollama", command: "ollama serve" }).env).toMatchObject({
      OLLAMA_HOST: "127.0.0.1:41234",
    });
    expect(built({ backend: "ollama", command: "ollama serve" }).env.VLLM_API_KEY).toBeUndefined();
    expect(built({ backend: "ollama", command: "ollama serve", host: "fd00::5" }).env.OLLAMA_HOST).toBe(
      "127.0.0.1:41234",
    );
  });

  it("keeps the agent's own INFERENCEKEY_* variables (worker token, server secret) out of the backend", () => {
    const { env } = built({});
    expect(env.INFERENCEKEY_WORKER_TOKEN).toBeUndefined();
    expect(env.INFERENCEKEY_SERVER_SECRET).toBeUndefined();
    expect(env.HOME).toBe("/home/ik");
  });

  it("vllm_version prepends the versioned environment's bin to PATH", () => {
    const command = built({ vllm_version: "0.6.3" });
    expect(command.env.PATH).toBe("/opt/envs/vllm-0.6.3/bin:/usr/bin:/bin");
    expect(command.env.VIRTUAL_ENV).toBe("/opt/envs/vllm-0.6.3");
    expect(command.envDir).toBe("/opt/envs/vllm-0.6.3");
  });

  it("without vllm_version the PATH is left as it is", () => {
    expect(built({}).env.PATH).toBe("/usr/bin:/bin");
  });

  it("a vllm_version pin that cannot be honoured fails with where the agent looked", () => {
    const result = buildCommand({ ...base, vllm_version: "0.7.0" }, options);
    expect(result).toEqual({
      ok: false,
      reason: expect.stringContaining(
        "vllm_version 0.7.0 requested but no environment at /opt/envs/vllm-0.7.0/bin",
      ),
    });
  });

  it("the envs directory comes from INFERENCEKEY_BACKEND_ENVS when no option is given", () => {
    const result = buildCommand(
      { ...base, vllm_version: "0.6.3" },
      {
        backendPort: BACKEND_PORT,
        baseEnv: { INFERENCEKEY_BACKEND_ENVS: "/srv/envs", PATH: "/bin" },
        isDirectory: (p) => p === "/srv/envs/vllm-0.6.3/bin",
      },
    );
    expect(result.ok && result.command.env.PATH).toBe("/srv/envs/vllm-0.6.3/bin:/bin");
  });

  it("refuses a vllm_version that would escape the envs directory", () => {
    const result = buildCommand({ ...base, vllm_version: "../../etc" }, options);
    expect(result.ok).toBe(false);
  });

  it("refuses a host that is not an address", () => {
    expect(buildCommand({ ...base, host: "a; rm -rf /" }, options)).toMatchObject({ ok: false });
  });

  it("hashes what runs: the same assignment gives the same hash, a changed command another", () => {
    expect(built({}).hash).toBe(built({}).hash);
    expect(built({ command: "vllm serve other" }).hash).not.toBe(built({}).hash);
    const elsewhere = buildCommand(base, { ...options, backendPort: BACKEND_PORT + 1 });
    expect(elsewhere.ok && elsewhere.command.hash).not.toBe(built({}).hash);
    // The agent's own PATH may differ between two runs of the agent: not part of the identity.
    const other = buildCommand(
      { ...base, vllm_version: "0.6.3" },
      { ...options, baseEnv: { PATH: "/other" } },
    );
    expect(other.ok && other.command.hash).toBe(built({ vllm_version: "0.6.3" }).hash);
  });

  it("shellQuote leaves safe words alone and single-quotes the rest", () => {
    expect(shellQuote("/usr/bin/node")).toBe("/usr/bin/node");
    expect(shellQuote("it's here")).toBe(`'it'\\''s here'`);
  });
});
