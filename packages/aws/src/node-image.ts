import { GetParameterCommand, type SSMClient } from "@aws-sdk/client-ssm";

/** Picks the machine image (AMI id) for a node whose GPU driver must support `cudaVersion`. */
export type NodeImageResolver = (cudaVersion: string) => Promise<string>;

/** One image line: its SSM parameter (the AMI id of its latest build) and the newest CUDA its driver supports. */
export interface NodeImageLine {
  parameter: string;
  driverCudaVersion: string;
}

/**
 * AWS's Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04), published as a public SSM
 * parameter per region. Its driver (570 series) supports CUDA up to 12.8; an older CUDA build runs
 * on a newer driver, so one line serves every 12.x workload. Newer lines go first.
 */
export const DEEP_LEARNING_BASE_AMI_LINES: readonly NodeImageLine[] = [
  {
    parameter: "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id",
    driverCudaVersion: "12.8",
  },
];

/** `12.4` -> [12, 4]; anything else undefined (the store only holds validated versions, but be strict). */
function parseCuda(version: string): [number, number] | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})$/.exec(version);
  return match === null ? undefined : [Number(match[1]), Number(match[2])];
}

function atLeast(have: [number, number], want: [number, number]): boolean {
  return have[0] > want[0] || (have[0] === want[0] && have[1] >= want[1]);
}

/**
 * Resolves the AMI through SSM GetParameter, caching each answer for `cacheMs` (an AMI id changes
 * when AWS publishes a new build; a controller tick should not ask SSM on every launch).
 */
export function ssmNodeImageResolver(
  ssm: SSMClient,
  options: { lines?: readonly NodeImageLine[]; cacheMs?: number; now?: () => number } = {},
): NodeImageResolver {
  const lines = options.lines ?? DEEP_LEARNING_BASE_AMI_LINES;
  const cacheMs = options.cacheMs ?? 60 * 60 * 1000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { imageId: string; until: number }>();
  return async (cudaVersion) => {
    const want = parseCuda(cudaVersion);
    if (want === undefined) throw new Error(`CUDA version ${JSON.stringify(cudaVersion)} is not of the form 12.4`);
    const line = lines.find((candidate) => {
      const have = parseCuda(candidate.driverCudaVersion);
      return have !== undefined && atLeast(have, want);
    });
    if (line === undefined) {
      const newest = lines.map((l) => l.driverCudaVersion).join(", ") || "none";
      throw new Error(`no node image supports CUDA ${cudaVersion}: the configured images' drivers support up to ${newest}`);
    }
    const cached = cache.get(line.parameter);
    if (cached !== undefined && cached.until > now()) return cached.imageId;
    const answer = await ssm.send(new GetParameterCommand({ Name: line.parameter }));
    const imageId = answer.Parameter?.Value?.trim() ?? "";
    if (!/^ami-[0-9a-f]{8,32}$/.test(imageId)) {
      throw new Error(`SSM parameter ${line.parameter} holds ${JSON.stringify(imageId.slice(0, 80))}, not an AMI id`);
    }
    cache.set(line.parameter, { imageId, until: now() + cacheMs });
    return imageId;
  };
}
