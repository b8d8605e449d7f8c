import { lambdaPlatformContext } from "@inferencekey/aws/env";
import { jobsFromEnv } from "@inferencekey/aws/jobs-from-env";
import { projectTickOf } from "@inferencekey/aws/project-tick";
import { pendingJobCount, publishReconciledTransitions, runProjectTick, storedRequestRate } from "@inferencekey/core";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { cloudCompute } from "./lib/cloud-compute";
import { entryTools, invokedEntry } from "./lib/lambda-entry";
import { storeMigrated } from "./lib/store-migration";

const tools = entryTools("controller-project");
const ctx = lambdaPlatformContext(tools.secrets);
const log = (line: string) => tools.logger.warn(line);
/** The bus of the job queue's deployment (infra/queues.ts), for workload.scaled / workload.ready. */
const events = jobsFromEnv(process.env, log)?.events;

/**
 * The controller's project passes: the SQS consumer of the queue controller-tick fans out to, one
 * message per project. A pass reconciles the project's workloads, each under its own lease, so a
 * doubled message or an overlap with the next tick's pass does no harm. A workload that fails is
 * logged and left to the next tick; only a pass that could not run at all (the store unreachable)
 * is reported as a batch item failure, for SQS to deliver again. A malformed body is dropped.
 */
export const handler = invokedEntry<SQSEvent, SQSBatchResponse>(tools).handler(async (event) => {
  await storeMigrated(ctx);
  const controllerId = `lambda-${process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? "local"}`;
  // The same shared capacity as the tick: placements bin-pack onto the nodes and record demand.
  const compute = await cloudCompute(controllerId);
  const failures: { itemIdentifier: string }[] = [];
  for (const record of event.Records) {
    const tick = projectTickOf(record.body);
    if (tick === undefined) {
      log(`controller: dropped a malformed project pass (message ${record.messageId})`);
      continue;
    }
    try {
      const result = await runProjectTick(ctx, compute, tick, {
        controllerId,
        log,
        signals: {
          requestsPerMinute: (project, workload, incarnation) => storedRequestRate(ctx, project, workload, incarnation),
          // Queued and waiting jobs: a workload at zero scales up on its first job.
          queuedJobs: (project, workload) => pendingJobCount(ctx, project, workload),
        },
      });
      if (result !== undefined && events !== undefined) await publishReconciledTransitions(ctx, events, result.outcomes);
      if (result !== undefined && result.failed.length > 0) log(`controller: ${tick.project}: ${result.failed.length} workload(s) failed this pass`);
    } catch (error) {
      log(`controller: pass of ${tick.project} failed: ${error instanceof Error ? error.message : String(error)}`);
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  tools.metrics.addMetric("ProjectPasses", "Count", event.Records.length);
  if (failures.length > 0) tools.metrics.addMetric("ProjectPassFailures", "Count", failures.length);
  return { batchItemFailures: failures };
});
