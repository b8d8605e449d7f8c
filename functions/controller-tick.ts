import { awsConfigFromEnv } from "@inferencekey/aws/aws-config";
import { controllerEnvironment, lambdaPlatformContext } from "@inferencekey/aws/env";
import { jobsFromEnv } from "@inferencekey/aws/jobs-from-env";
import { JOBS_QUEUE_SETTINGS } from "@inferencekey/aws/jobs-settings";
import { SqsProjectDispatcher } from "@inferencekey/aws/sqs-project-dispatcher";
import { sqsJsonClient } from "@inferencekey/aws/sqs-json-client";
import {
  deliverDueWebhooks,
  fanOutTick,
  maintainAllJobs,
  pendingJobCount,
  publishReconciledTransitions,
  reconcileAll,
  storedRequestRate,
} from "@inferencekey/core";
import type { ScheduledEvent } from "aws-lambda";
import { cloudCompute } from "./lib/cloud-compute";
import { entryTools, invokedEntry } from "./lib/lambda-entry";
import { storeMigrated } from "./lib/store-migration";

const tools = entryTools("controller");
const ctx = lambdaPlatformContext(tools.secrets);
const env = controllerEnvironment();
const { region } = awsConfigFromEnv();
/** With a project queue the tick fans out: one message per project, run by controller-project. */
const dispatcher =
  env.queueUrl === undefined
    ? undefined
    : new SqsProjectDispatcher({
        queueUrl: env.queueUrl,
        client: sqsJsonClient(env.queueUrl, { ...(region === undefined ? {} : { region }), ...(env.sqsEndpoint === undefined ? {} : { endpoint: env.sqsEndpoint }) }),
      });
// The job queue (infra/queues.ts): the tick's job upkeep re-sends to it and publishes on the bus.
const jobs = jobsFromEnv();

/**
 * The controller tick: EventBridge every minute (and on demand after ensure/delete). Level-triggered:
 * a missed or doubled tick does no harm; overlapping invocations skip workloads whose lease is held.
 * With `INFERENCEKEY_CONTROLLER_QUEUE_URL` it only lists the projects and sends one pass per project
 * to the queue (controller-project runs them side by side: docs/benchmarks.md, "controller fan-out");
 * without it, it reconciles every workload itself, one after the other.
 * Cloud placements go to shared capacity on EC2 (`cloudCompute`); the tick also runs its pool
 * reconciler (launch, replace, consolidate, reap). Without a node pool they are refused with a
 * reason visible in the workload's events.
 */
export const handler = invokedEntry<ScheduledEvent, { reconciled: number; skipped: number; dispatched: number }>(tools).handler(async () => {
  await storeMigrated(ctx);
  const controllerId = `lambda-${process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? "local"}`;
  const compute = await cloudCompute(controllerId);
  if (dispatcher !== undefined) {
    const { projects } = await fanOutTick(ctx, dispatcher, compute);
    await jobUpkeep([]);
    tools.metrics.addMetric("ProjectsDispatched", "Count", projects);
    tools.logger.info("tick", { dispatched: projects });
    return { reconciled: 0, skipped: 0, dispatched: projects };
  }
  const outcomes = await reconcileAll(ctx, compute, {
    controllerId,
    // The gateway runs in other Lambdas: its request rate comes from the usage counters it flushes.
    signals: {
      requestsPerMinute: (project, workload, incarnation) => storedRequestRate(ctx, project, workload, incarnation),
      // Queued and waiting jobs: a workload at zero scales up on its first job.
      queuedJobs: (project, workload) => pendingJobCount(ctx, project, workload),
    },
  });
  await jobUpkeep(outcomes);
  const result = { reconciled: outcomes.filter((o) => !o.skipped).length, skipped: outcomes.filter((o) => o.skipped).length, dispatched: 0 };
  tools.metrics.addMetric("WorkloadsReconciled", "Count", result.reconciled);
  tools.metrics.addMetric("WorkloadsSkipped", "Count", result.skipped);
  tools.logger.info("tick", result);
  return result;
});

/**
 * Job upkeep (when the deployment has a job queue): re-send jobs whose SendMessage failed or was
 * lost, re-queue waiting ones once a replica is ready, take back jobs whose consumer died, expire
 * those past max_queue_seconds; workload.scaled / workload.ready for the workloads this tick
 * reconciled (a fanned-out tick's passes publish their own); webhook retries falling due while no
 * job flows (the consumer delivers after each batch), few, within the tick's 55 s.
 */
async function jobUpkeep(outcomes: Parameters<typeof publishReconciledTransitions>[2]): Promise<void> {
  if (jobs === undefined) return;
  await maintainAllJobs({ ctx, ...jobs }, { staleAfterSeconds: JOBS_QUEUE_SETTINGS.staleAfterSeconds, maxAttempts: JOBS_QUEUE_SETTINGS.maxReceiveCount });
  if (jobs.events !== undefined) await publishReconciledTransitions(ctx, jobs.events, outcomes);
  await deliverDueWebhooks({ ctx, allowPrivateWebhooks: false }, 4);
}
