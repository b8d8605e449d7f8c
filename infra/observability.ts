import { adminToken } from "./admin";
import { agentApi } from "./agent";
import { controlApi } from "./api";
import { controllerTick, projectPassConsumer, projectPassesDlq } from "./controller";
import { gateway } from "./gateway";
import { alarmEmail } from "./options";
import { jobsConsumer, jobsDeadLetterQueue } from "./queues";
import { table } from "./storage";

// CloudWatch alarms on what must not happen silently, all notifying one SNS topic (subscribe
// INFERENCEKEY_ALARM_EMAIL, or anything SNS delivers to). Logs are JSON with request ids and
// metrics are EMF lines, both from the Powertools middlewares in functions/lib/lambda-entry.ts.
export const alarmTopic = new aws.sns.Topic("Alarms", {});
if (alarmEmail !== undefined) {
  new aws.sns.TopicSubscription("AlarmEmail", { topic: alarmTopic.arn, protocol: "email", endpoint: alarmEmail });
}

interface AlarmArgs {
  description: string;
  namespace: string;
  metricName: string;
  dimensions: Record<string, $util.Input<string>>;
  /** Alarm when the 5-minute sum is above this. Default 0: any occurrence. */
  threshold?: number;
}

/** A 5-minute-sum alarm notifying the topic; missing data is fine (no traffic, no errors). Other infra files use it too. */
export function alarm(name: string, args: AlarmArgs): aws.cloudwatch.MetricAlarm {
  return new aws.cloudwatch.MetricAlarm(name, {
    alarmDescription: args.description,
    namespace: args.namespace,
    metricName: args.metricName,
    dimensions: args.dimensions,
    statistic: "Sum",
    period: 300,
    evaluationPeriods: 1,
    threshold: args.threshold ?? 0,
    comparisonOperator: "GreaterThanThreshold",
    treatMissingData: "notBreaching",
    alarmActions: [alarmTopic.arn],
    okActions: [alarmTopic.arn],
  });
}

const functions = {
  ControlApi: { name: controlApi.name, url: true },
  AgentApi: { name: agentApi.name, url: true },
  Gateway: { name: gateway.name, url: true },
  ControllerTick: { name: controllerTick.nodes.function.name, url: false },
  ControllerProject: { name: projectPassConsumer.apply((consumer) => consumer.nodes.function.name), url: false },
  AdminToken: { name: adminToken.name, url: false },
  JobsConsumer: { name: jobsConsumer.apply((consumer) => consumer.nodes.function.name), url: false },
};
for (const [id, fn] of Object.entries(functions)) {
  const dimensions = { FunctionName: fn.name };
  alarm(`${id}Errors`, { description: `${id}: invocations failed`, namespace: "AWS/Lambda", metricName: "Errors", dimensions });
  alarm(`${id}Throttles`, { description: `${id}: invocations throttled (concurrency)`, namespace: "AWS/Lambda", metricName: "Throttles", dimensions });
  if (fn.url) {
    alarm(`${id}Url5xx`, { description: `${id}: Function URL answered 5xx`, namespace: "AWS/Lambda", metricName: "Url5xxCount", dimensions });
  }
}
for (const metricName of ["ReadThrottleEvents", "WriteThrottleEvents"]) {
  alarm(`Store${metricName}`, { description: `DynamoDB table: ${metricName}`, namespace: "AWS/DynamoDB", metricName, dimensions: { TableName: table.name } });
}
// Project passes that failed every delivery.
alarm("ControllerProjectsDlqDepth", {
  description: "Controller: project passes in the dead-letter queue",
  namespace: "AWS/SQS",
  metricName: "ApproximateNumberOfMessagesVisible",
  dimensions: { QueueName: projectPassesDlq.nodes.queue.name },
});
// A message in the DLQ is a job the consumer could not even settle (the store kept failing, or
// the function kept timing out): someone should look.
alarm("JobsDeadLetterMessages", {
  description: "Jobs: messages reached the dead-letter queue",
  namespace: "AWS/SQS",
  // Redriven messages do not count in NumberOfMessagesSent; any visible one does here.
  metricName: "ApproximateNumberOfMessagesVisible",
  dimensions: { QueueName: jobsDeadLetterQueue.nodes.queue.name },
});
// The minute schedule: a tick EventBridge Scheduler could not deliver (retries: 0, so dropped at once).
for (const metricName of ["InvocationDroppedCount", "TargetErrorCount"]) {
  alarm(`ControllerSchedule${metricName}`, {
    description: `Controller schedule: ${metricName}`,
    namespace: "AWS/Scheduler",
    metricName,
    dimensions: { ScheduleGroup: "default" },
  });
}

export const outputs = { alarmTopic: alarmTopic.arn };
