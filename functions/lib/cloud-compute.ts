import { cloudComputeFromEnv } from "@inferencekey/aws/cloud-compute";
import type { Compute } from "@inferencekey/core";

let compute: Promise<Compute> | undefined;

/**
 * Once per instance: shared capacity on EC2 when infra configured a node pool (its subnets' zones
 * looked up once, offerings cached between invocations), else no cloud compute (cloud placements
 * refused with a reason visible in the workload's events). A failure is retried by the next invocation.
 */
export function cloudCompute(controllerId: string): Promise<Compute> {
  compute ??= cloudComputeFromEnv(process.env, { controllerId, log: (line) => console.log(line) }).catch((error: unknown) => {
    compute = undefined;
    throw error;
  });
  return compute;
}
