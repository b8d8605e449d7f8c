import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * What infra/* and the Lambda entries agree on: environment names, the origin header, and the
 * limits that CloudFront and Lambda put in front of the handlers. No AWS SDK and no platform code
 * here: infra/* imports this file, so the deployment and the functions read the same numbers.
 */

/** The environment infra/ gives every function (never a secret: the server secret stays in SSM). */
export const FUNCTION_ENV = {
  table: "INFERENCEKEY_TABLE",
  /** Name of the SSM SecureString parameter holding the server secret keyring. */
  serverSecretParameter: "INFERENCEKEY_SERVER_SECRET_PARAMETER",
  /** The public base URL (the Router's), for signed file URLs and messages. */
  publicUrl: "INFERENCEKEY_PUBLIC_URL",
} as const;

/**
 * The header CloudFront adds to every request it forwards to a Function URL. The URLs take
 * unauthenticated requests (auth NONE: an origin access control would sign the request and so
 * replace the caller's `Authorization`), so a request without this header did not come through
 * the Router and is refused before any handler runs.
 */
export const ORIGIN_HEADER = "x-inferencekey-origin";

/** The origin header's value for one server secret: derived, so rotating the server secret rotates it too. */
export function originHeaderValue(serverSecret: string): string {
  return createHmac("sha256", serverSecret).update("inferencekey:origin-header").digest("base64url");
}

/** True when `given` is the origin header value of one of these server secrets (constant time each). */
export function isOriginHeaderValid(given: string | undefined, serverSecrets: readonly string[]): boolean {
  if (given === undefined) return false;
  const bytes = Buffer.from(given);
  return serverSecrets.some((secret) => {
    const expected = Buffer.from(originHeaderValue(secret));
    return expected.length === bytes.length && timingSafeEqual(expected, bytes);
  });
}

const MiB = 1024 * 1024;

/**
 * Limits in AWS, in the order that matters: every wait of the gateway ends before CloudFront gives
 * up on the origin, so a caller always gets the gateway's own error, never CloudFront's 504.
 */
export const AWS_LIMITS = {
  /**
   * CloudFront's origin response timeout (the Router's `readTimeout`): the longest wait for the
   * first byte and between two bytes. 60 s is the most CloudFront allows without a quota increase.
   */
  originReadTimeoutSeconds: 60,
  /** Connecting to a replica (the gateway's `connectTimeoutMs`). */
  connectTimeoutMs: 5_000,
  /** Ceiling of `X-Scale-Up-Timeout`: a held request waits at most this for a replica. */
  maxScaleUpWaitSeconds: 20,
  /** Replica's response headers, after connecting. */
  firstByteTimeoutMs: 30_000,
  /** Longest silence between two chunks of a response that is not SSE (SSE gets keep-alives). */
  idleTimeoutMs: 50_000,
  /** An SSE stream with nothing to send sends a `:` comment this often, so CloudFront sees bytes. */
  sseKeepAliveMs: 15_000,
  /**
   * Lambda refuses invocation payloads above 6 MB (the event JSON, with binary bodies base64
   * encoded). Bodies with a Content-Length above this get our 413 at the edge; the gateway caps
   * every route at it too.
   */
  maxRequestBodyBytes: 4 * MiB,
} as const;

/** Seconds a request may wait before its first byte at most: hold, connect, then first byte. */
export function worstCaseFirstByteSeconds(limits: typeof AWS_LIMITS = AWS_LIMITS): number {
  return limits.maxScaleUpWaitSeconds + (limits.connectTimeoutMs + limits.firstByteTimeoutMs) / 1000;
}
