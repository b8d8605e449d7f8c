import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { discoverGpus, NVIDIA_SMI_QUERY_ARGS, parseCudaVersion, parseGpuList, type Runner } from "../src";

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, "fixtures", "nvidia-smi", name), "utf8");

/** nvidia-smi as recorded: the query answers `query`, plain nvidia-smi answers `plain`. */
function recorded(query: string, plain: string): Runner {
  return async (_file, args) => ({ code: 0, stdout: args.length === 0 ? plain : query, stderr: "" });
}

describe("GPU discovery", () => {
  it("parses one A100-80GB with the driver's CUDA version", async () => {
    // Prepare
    const run = recorded(fixture("a100-80gb.query.csv"), fixture("a100-80gb.txt"));
    // Act
    const gpus = await discoverGpus(run);
    // Assess
    expect(gpus).toEqual([
      {
        index: 0,
        name: "NVIDIA A100-SXM4-80GB",
        memory_mb: 81920,
        uuid: "GPU-1f2d3c4b-5a69-7b8c-9d0e-1f2a3b4c5d6e",
        cuda_version: "12.4",
      },
    ]);
  });

  it("parses eight H100s", async () => {
    const gpus = await discoverGpus(recorded(fixture("8x-h100.query.csv"), fixture("8x-h100.txt")));
    expect(gpus.map((g) => g.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(gpus.map((g) => `${g.name} ${g.memory_mb} ${g.cuda_version}`))).toEqual(
      new Set(["NVIDIA H100 80GB HBM3 81559 12.2"]),
    );
    expect(new Set(gpus.map((g) => g.uuid)).size).toBe(8);
  });

  it("parses a T4 on an older driver layout", async () => {
    const gpus = await discoverGpus(recorded(fixture("t4.query.csv"), fixture("t4.txt")));
    expect(gpus).toEqual([
      {
        index: 0,
        name: "Tesla T4",
        memory_mb: 15109,
        uuid: "GPU-0c7e1b2a-93d4-4f5e-8a6b-2d1c0e9f8a7b",
        cuda_version: "11.4",
      },
    ]);
  });

  it("reads the CUDA version from each recorded plain output", () => {
    expect(
      [fixture("a100-80gb.txt"), fixture("8x-h100.txt"), fixture("t4.txt"), fixture("error.txt")].map(
        parseCudaVersion,
      ),
    ).toEqual(["12.4", "12.2", "11.4", undefined]);
  });

  it("a failing nvidia-smi (no driver) means a CPU-only box: an empty list", async () => {
    const run: Runner = async () => ({ code: 9, stdout: fixture("error.txt"), stderr: "" });
    expect(await discoverGpus(run)).toEqual([]);
  });

  it("an absent nvidia-smi means a CPU-only box", async () => {
    const run: Runner = async () => ({ code: null, stdout: "", stderr: "spawn nvidia-smi ENOENT" });
    expect(await discoverGpus(run)).toEqual([]);
  });

  it("the error text parses to no GPU rather than a bogus one", () => {
    expect(parseGpuList(fixture("error.txt"))).toEqual([]);
  });

  it("skips lines without a numeric memory ([N/A])", () => {
    expect(
      parseGpuList("0, NVIDIA A100-SXM4-40GB MIG 1g.5gb, [N/A], MIG-abc\n1, Tesla T4, 15109, GPU-x"),
    ).toEqual([{ index: 1, name: "Tesla T4", memory_mb: 15109, uuid: "GPU-x" }]);
  });

  it("keeps the GPU list when plain nvidia-smi fails, without a CUDA version", async () => {
    const run: Runner = async (_f, args) =>
      args.length === 0
        ? { code: 1, stdout: "", stderr: "" }
        : { code: 0, stdout: fixture("t4.query.csv"), stderr: "" };
    expect(await discoverGpus(run)).toEqual([
      { index: 0, name: "Tesla T4", memory_mb: 15109, uuid: "GPU-0c7e1b2a-93d4-4f5e-8a6b-2d1c0e9f8a7b" },
    ]);
  });

  it("asks nvidia-smi for exactly the documented query", () => {
    expect(NVIDIA_SMI_QUERY_ARGS).toEqual([
      "--query-gpu=index,name,memory.total,uuid",
      "--format=csv,noheader,nounits",
    ]);
  });

  it("on this machine (no nvidia-smi here) discovery answers a list and never throws", async () => {
    expect(Array.isArray(await discoverGpus())).toBe(true);
  });
});
