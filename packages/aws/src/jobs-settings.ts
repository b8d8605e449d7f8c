/**
 * What infra/queues.ts and the jobs Lambda code agree on: the queue's numbers and the environment
 * names. No AWS SDK and no platform code here: infra/* imports this file, so the deployment and the
 * functions read the same values.
 */

/** The numbers the SQS queue, its consumer Lambda and `processQueueMessage` must agree on. */
export const JOBS_QUEUE_SETTINGS = {
  /** A job's call waits up to 300 s on a replica and tries a second one: two calls fit, with the store writes. */
  consumerTimeoutSeconds: 660,
  /** The replica call's own timeout inside the consumer. */
  executorTimeoutMs: 300_000,
  /** SQS's advice for a Lambda event source: at least six times the function's timeout. */
  visibilityTimeoutSeconds: 6 * 660,
  /** Receives before a message goes to the DLQ (its last receive marks a retryable failure failed). */
  maxReceiveCount: 5,
  /** Records per invocation; they run at once. */
  batchSize: 10,
  /** Consumer invocations at once (the event source's maximum concurrency): the queue's in-flight cap. */
  maximumConcurrency: 20,
  /** Jobs of one workload running at once over every consumer: a large batch leaves the other workloads room. */
  perWorkloadInFlight: 20,
  /** A message waits at most a day in the queue (`max_queue_seconds` is at most 86400); two days covers retries. */
  messageRetentionSeconds: 2 * 86_400,
  /** The DLQ keeps a message 14 days (SQS's longest), for inspection. */
  deadLetterRetentionSeconds: 14 * 86_400,
  /**
   * The controller re-sends a queued job not started this long after its send (a send lost without
   * a trace); a send that failed visibly marks the job `unsent` and is redone at the next tick.
   */
  staleAfterSeconds: 600,
  /** SQS's largest message (1 MiB since August 2025). */
  maxMessageBytes: 1024 * 1024,
} as const;

/** The environment names infra/queues.ts sets on the functions that send, consume or publish jobs. */
export const JOBS_ENV = {
  queueUrl: "INFERENCEKEY_JOBS_QUEUE_URL",
  eventBus: "INFERENCEKEY_EVENT_BUS",
  /** Emulators (moto server) instead of AWS, for tests. */
  sqsEndpoint: "INFERENCEKEY_SQS_ENDPOINT",
  eventBridgeEndpoint: "INFERENCEKEY_EVENTBRIDGE_ENDPOINT",
} as const;
