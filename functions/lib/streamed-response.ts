import { Readable } from "node:stream";
import { responseBodyChunks } from "@inferencekey/aws/lambda-stream";

/** What a RESPONSE_STREAM Function URL entry returns to middy: the prelude's fields and the body. */
export interface StreamedResult {
  statusCode: number;
  headers: Record<string, string>;
  cookies?: string[];
  body: Readable | string;
}

/**
 * A web `Response` as a streamed Function URL answer: status, headers and cookies in the prelude,
 * the body chunk by chunk (SSE bodies with keep-alive comments, so CloudFront never sees a silence
 * as long as its origin read timeout). `onEnd` runs once the body is finished or failed, before the
 * last chunk is handed to the runtime, so it completes inside the invocation.
 */
export function streamedResult(response: Response, onEnd: () => Promise<void> = async () => undefined): Promise<StreamedResult> | StreamedResult {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  const result = { statusCode: response.status, headers, ...(cookies.length > 0 ? { cookies } : {}) };
  if (response.body === null) {
    // An empty string, not no body: the runtime sends the status and headers with the first write
    // (204, HEAD would otherwise reach the client as a bare 200).
    return onEnd().then(() => ({ ...result, body: "" }));
  }
  const sse = (response.headers.get("content-type") ?? "").startsWith("text/event-stream");
  return { ...result, body: Readable.from(responseBodyChunks(response.body, { sse, onEnd })) };
}
