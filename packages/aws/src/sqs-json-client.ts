import { createHash } from "node:crypto";
import { AwsJsonClient, type AwsJsonClientOptions } from "./aws-json-client";

/**
 * What the SQS and EventBridge adapters need of `AwsJsonClient`: one call. Tests hand in a small
 * fake to inject what moto cannot (a partly refused batch, throttling).
 */
export type AwsJsonCaller = Pick<AwsJsonClient, "call">;

export type SqsJsonClientOptions = Omit<AwsJsonClientOptions, "service">;

/**
 * The SQS client of the Lambda paths (`AwsJsonClient`, SQS's JSON protocol). As the SDK's SQS client
 * does by default (`useQueueUrlAsEndpoint`), calls go to the queue URL's own host unless an endpoint
 * is configured (the option, `AWS_ENDPOINT_URL_SQS` or `AWS_ENDPOINT_URL`).
 */
export function sqsJsonClient(queueUrl: string, options: SqsJsonClientOptions = {}): AwsJsonClient {
  const env = options.env ?? process.env;
  const configured = options.endpoint ?? (env.AWS_ENDPOINT_URL_SQS?.trim() || env.AWS_ENDPOINT_URL?.trim() || undefined);
  const endpoint = configured ?? queueOrigin(queueUrl);
  return new AwsJsonClient({ ...options, service: "sqs", ...(endpoint === undefined ? {} : { endpoint }) });
}

function queueOrigin(queueUrl: string): string | undefined {
  try {
    const url = new URL(queueUrl);
    return url.protocol === "https:" || url.protocol === "http:" ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/** The MD5 SQS answers for a message body (`MD5OfMessageBody`), checked as the SDK's SQS client checks it. */
export function sqsBodyMd5(body: string): string {
  return createHash("md5").update(body, "utf8").digest("hex");
}
