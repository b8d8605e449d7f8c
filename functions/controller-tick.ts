import { lambdaPlatformContext } from "@inferencekey/aws";
import { migrateStore, noCloudCompute, reconcileAll, storedRequestRate } from "@inferencekey/core";
import middy from "@middy/core";
import type { ScheduledEvent } from "aws-lambda";

const ctx = lambdaPlatformContext();
/** Once per instance: the store is brought to this code's schema before the first tick acts on it. */
let migrated: Promise<unknown> | undefined;

/**
 * The controller tick: EventBridge every minute (and on demand after ensure/delete). Level-triggered:
 * a missed or doubled tick does no harm; overlapping invocations skip workloads whose lease is held.
 * Cloud capacity (EC2) plugs in through the Compute port in the compute issue; until then cloud
 * placements are refused with a reason visible in the workload's events.
 */
export const handler = middy<ScheduledEvent, { reconciled: number; skipped: number }>().handler(async () => {
  migrated ??= migrateStore(ctx).catch((error: unknown) => {
    migrated = undefined; // the next invocation tries again
    throw error;
  });
  await migrated;
  const outcomes = await reconcileAll(ctx, noCloudCompute, {
    controllerId: `lambda-${process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? "local"}`,
    // The gateway runs in other Lambdas: its request rate comes from the usage counters it flushes.
    signals: {
      requestsPerMinute: (project, workload, incarnation) => storedRequestRate(ctx, project, workload, incarnation),
      queuedJobs: () => 0,
    },
  });
  return { reconciled: outcomes.filter((o) => !o.skipped).length, skipped: outcomes.filter((o) => o.skipped).length };
});
