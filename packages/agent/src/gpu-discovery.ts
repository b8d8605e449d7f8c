import { execFile } from "node:child_process";
import type { Gpu } from "@inferencekey/core";

/** The query that lists GPUs, one CSV line each: `0, NVIDIA A100-SXM4-80GB, 81920, GPU-...`. */
export const NVIDIA_SMI_QUERY_ARGS = [
  "--query-gpu=index,name,memory.total,uuid",
  "--format=csv,noheader,nounits",
];

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program and collects its output; never rejects (a missing program is code null). */
export type Runner = (file: string, args: string[]) => Promise<RunResult>;

export const runProgram: Runner = (file, args) =>
  new Promise((resolve) => {
    execFile(file, args, { timeout: 10_000, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });

/**
 * Parses `nvidia-smi --query-gpu=index,name,memory.total,uuid --format=csv,noheader,nounits`.
 * Lines that are not a GPU (an error message, `[N/A]` memory) are skipped, so any text is safe input.
 */
export function parseGpuList(csv: string): Gpu[] {
  const gpus: Gpu[] = [];
  for (const line of csv.split(/\r?\n/)) {
    const fields = line.split(",").map((f) => f.trim());
    if (fields.length < 4) continue;
    const index = fields[0] ?? "";
    const memory = fields[fields.length - 2] ?? "";
    const uuid = fields[fields.length - 1] ?? "";
    // A name never holds a comma today; if one ever does, the middle fields are the name.
    const name = fields.slice(1, -2).join(", ");
    if (!/^\d+$/.test(index) || !/^\d+(\.\d+)?$/.test(memory) || name === "") continue;
    gpus.push({
      index: Number(index),
      name,
      memory_mb: Math.round(Number(memory)),
      ...(uuid.startsWith("GPU-") || uuid.startsWith("MIG-") ? { uuid } : {}),
    });
  }
  return gpus;
}

/** The driver's highest supported CUDA version from plain `nvidia-smi` output ("CUDA Version: 12.4"). */
export function parseCudaVersion(output: string): string | undefined {
  return /CUDA Version\s*:\s*(\d+\.\d+)/.exec(output)?.[1];
}

/**
 * The box's GPUs. No nvidia-smi, or a failing one (no driver loaded), means a CPU-only box: an empty
 * list, which is a valid answer rather than an error.
 */
export async function discoverGpus(run: Runner = runProgram): Promise<Gpu[]> {
  const [list, plain] = await Promise.all([run("nvidia-smi", NVIDIA_SMI_QUERY_ARGS), run("nvidia-smi", [])]);
  if (list.code !== 0) return [];
  const cuda = plain.code === 0 ? parseCudaVersion(plain.stdout) : undefined;
  return parseGpuList(list.stdout).map((gpu) => (cuda === undefined ? gpu : { ...gpu, cuda_version: cuda }));
}
