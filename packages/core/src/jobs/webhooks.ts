import { createHmac, timingSafeEqual } from "node:crypto";
import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import type { BlobStore } from "../gateway/blob-store";
import { nodeHttp as http, nodeHttps as https } from "../platform/builtins";
import type { PlatformContext } from "../platform/context";
import type { StoreItem } from "../store";
import { jobResult } from "./consumer";
import { type JobRecord, toWireJob, WebhookOutboxEntrySchema } from "./schema";
import { jobKeys, readJob, updateJob } from "./store";
import { signingKeyOf, validSigningSecrets } from "./signing-secrets";

/**
 * Webhooks of finished jobs, signed like Standard Webhooks (standardwebhooks.com): headers
 * `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256
 * of "{id}.{timestamp}.{body}">` (one `v1,` entry per valid secret, space-separated, while a rotated
 * one is still valid). Only https URLs on public addresses, resolved at delivery and connected to
 * that very address (no DNS rebinding between check and use), unless private webhooks are allowed.
 */

const MAX_URL_LENGTH = 2048;

/** Why a webhook URL is refused, or undefined when it is acceptable (before resolution). */
export function checkWebhookUrl(url: string, allowPrivate: boolean): string | undefined {
  if (url.length > MAX_URL_LENGTH) return `longer than ${MAX_URL_LENGTH} characters`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "not an absolute URL";
  }
  if (parsed.protocol !== "https:" && !(allowPrivate && parsed.protocol === "http:")) {
    return allowPrivate ? "must be an http or https URL" : "must be an https URL (http is allowed only with allowPrivateWebhooks)";
  }
  if (parsed.username !== "" || parsed.password !== "") return "must not carry credentials";
  if (parsed.hash !== "") return "must not have a fragment";
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  if (!allowPrivate && isIP(host) !== 0 && isPrivateAddress(host)) return `names a private address (${host}); webhooks go to public addresses`;
  if (!allowPrivate && (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".internal") || host.endsWith(".local"))) {
    return `names a private host (${host}); webhooks go to public addresses`;
  }
  return undefined;
}

const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  PRIVATE.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b::", 96],
  ["100::", 64],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  PRIVATE.addSubnet(net, prefix, "ipv6");
}

/** Loopback, private, link-local, shared, documentation, multicast and reserved ranges (IPv4-mapped IPv6 included). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped?.[1] !== undefined) return PRIVATE.check(mapped[1], "ipv4");
    return PRIVATE.check(address, "ipv6");
  }
  return PRIVATE.check(address, "ipv4");
}

/** `v1,<base64>` signatures of one message, one per secret, space-separated (Standard Webhooks). */
export function signWebhook(secrets: readonly string[], id: string, timestamp: number, body: string): string {
  return secrets.map((secret) => `v1,${createHmac("sha256", signingKeyOf(secret)).update(`${id}.${timestamp}.${body}`).digest("base64")}`).join(" ");
}

/**
 * What a receiver does (docs/jobs.md shows it): true when one of the `v1,` signatures is the HMAC of
 * `{id}.{timestamp}.{body}` with the secret and the timestamp is within `toleranceSeconds` of now.
 */
export function verifyWebhook(
  secret: string,
  headers: { id: string; timestamp: string; signature: string },
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const timestamp = Number(headers.timestamp);
  if (!Number.isSafeInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = createHmac("sha256", signingKeyOf(secret)).update(`${headers.id}.${timestamp}.${body}`).digest();
  return headers.signature.split(" ").some((entry) => {
    if (!entry.startsWith("v1,")) return false;
    const given = Buffer.from(entry.slice(3), "base64");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/** Attempts of one delivery, then it is failed; waits between them (s). */
export const WEBHOOK_RETRY_DELAYS_SECONDS = [5, 30, 120, 600, 1800, 3600, 10800] as const;
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Deliveries attempted at once. */
const WEBHOOK_CONCURRENCY = 8;
/** A result larger than this is left out of the webhook body (the receiver GETs the job). */
const WEBHOOK_RESULT_MAX_BYTES = 256 * 1024;

export interface WebhookDeliveryDeps {
  ctx: PlatformContext;
  blobs?: BlobStore;
  allowPrivateWebhooks?: boolean;
  log?: (line: string) => void;
  /** One attempt's deadline (connect, send, status line). Default WEBHOOK_TIMEOUT_MS. */
  timeoutMs?: number;
}

/**
 * POSTs to a webhook URL connected to an address resolved now and checked: the socket goes to that
 * very address (DNS is not asked again), TLS still verifies the certificate for the URL's host name.
 * Resolves to the response status; rejects on a refused address, a connection failure or the timeout.
 */
export async function postPinned(
  url: string,
  headers: Record<string, string>,
  body: string,
  allowPrivate: boolean,
  timeoutMs: number = WEBHOOK_TIMEOUT_MS,
): Promise<number> {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  const addresses = isIP(host) !== 0 ? [{ address: host, family: isIP(host) }] : await lookup(host, { all: true, verbatim: true });
  const chosen = addresses[0];
  if (chosen === undefined) throw new Error(`${host} has no address`);
  if (!allowPrivate) {
    const refused = addresses.find((a) => isPrivateAddress(a.address));
    if (refused !== undefined) throw new Error(`${host} resolves to a private address (${refused.address}); webhooks go to public addresses`);
  }
  const client = parsed.protocol === "https:" ? https : http;
  return new Promise<number>((resolve, reject) => {
    const request = client.request(
      {
        protocol: parsed.protocol,
        hostname: host,
        port: parsed.port === "" ? undefined : Number(parsed.port),
        path: `${parsed.pathname}${parsed.search}`,
        method: "POST",
        headers: { ...headers, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) },
        lookup: (_hostname, _options, callback) => callback(null, chosen.address, chosen.family),
        servername: isIP(host) === 0 ? host : undefined,
        agent: false,
      },
      (response) => {
        // Only the status matters: the body is never read (a receiver cannot hold the connection with it).
        clearTimeout(deadline);
        resolve(response.statusCode ?? 0);
        response.destroy();
      },
    );
    // One deadline for connecting, sending and the status line, however slowly the receiver trickles bytes.
    const deadline = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    request.on("error", (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    request.end(body);
  });
}

/** The body of a job's webhook: the event type, when, and the job (its result left out when large). */
export async function webhookBody(job: JobRecord, blobs: BlobStore | undefined, now: Date): Promise<string> {
  const result = await jobResult(job, blobs, now);
  const wire = toWireJob(job, result);
  let body = JSON.stringify({ type: `job.${job.status}`, timestamp: now.toISOString(), data: wire });
  if (Buffer.byteLength(body) > WEBHOOK_RESULT_MAX_BYTES) {
    body = JSON.stringify({ type: `job.${job.status}`, timestamp: now.toISOString(), data: { ...wire, result: null, result_omitted: true } });
  }
  return body;
}

/**
 * Delivers the webhooks that are due (from the outbox written with each job's last step): claims
 * each by moving its next attempt ahead, sends it, records the outcome on the job, and schedules a
 * retry with backoff or settles it (delivered, or failed after the last attempt). Returns how many
 * deliveries were attempted. Safe to run in several processes (a claim is a conditional write).
 */
export async function deliverDueWebhooks(deps: WebhookDeliveryDeps, limit = 50): Promise<number> {
  const page = await deps.ctx.store.query({ pk: jobKeys.webhookOutbox(), limit });
  let attempted = 0;
  // A few at once: one slow receiver (up to its deadline) does not hold up the others.
  for (let i = 0; i < page.items.length; i += WEBHOOK_CONCURRENCY) {
    const outcomes = await Promise.all(page.items.slice(i, i + WEBHOOK_CONCURRENCY).map((entry) => deliverEntry(deps, entry)));
    attempted += outcomes.filter(Boolean).length;
  }
  return attempted;
}

/** One outbox entry: true when a delivery was attempted. */
async function deliverEntry(deps: WebhookDeliveryDeps, entry: StoreItem): Promise<boolean> {
  const { ctx } = deps;
  const log = deps.log ?? ((line: string) => console.error(line));
  const { project, workload, job_id: id } = WebhookOutboxEntrySchema.parse(entry.data);
  const stored = await readJob(ctx, project, workload, id);
  const delivery = stored?.record.webhook?.delivery;
  if (stored === undefined || delivery === undefined || delivery.status !== "pending") {
    await ctx.store.delete(entry.pk, entry.sk, { kind: "any" });
    return false;
  }
  const now = ctx.now();
  if (delivery.next_attempt_at !== null && delivery.next_attempt_at !== undefined && Date.parse(delivery.next_attempt_at) > now.getTime()) return false;
  const claimUntil = new Date(now.getTime() + (deps.timeoutMs ?? WEBHOOK_TIMEOUT_MS) * 3).toISOString();
  const claimed = await updateJob(ctx, project, workload, id, (current) => {
    const d = current.webhook?.delivery;
    if (current.webhook === null || d === undefined || d.status !== "pending" || d.next_attempt_at !== delivery.next_attempt_at) return undefined;
    return { ...current, webhook: { url: current.webhook.url, delivery: { ...d, next_attempt_at: claimUntil } } };
  });
  if (claimed === undefined || !claimed.changed || claimed.record.webhook === null) return false;
  const job = claimed.record;
  const webhook = claimed.record.webhook;
  let status: number | null = null;
  let failure: string | null = null;
  const secrets = await validSigningSecrets(ctx, "webhook", project, workload, job.incarnation);
  if (secrets.length === 0) {
    failure = `no webhook secret: create one with POST /v1/projects/${project}/workloads/${workload}/webhook-secret`;
  } else {
    const body = await webhookBody(job, deps.blobs, now);
    const messageId = `${job.id}_${job.status}`;
    const timestamp = Math.floor(now.getTime() / 1000);
    try {
      status = await postPinned(
        webhook.url,
        { "webhook-id": messageId, "webhook-timestamp": String(timestamp), "webhook-signature": signWebhook(secrets, messageId, timestamp, body), "user-agent": "InferenceKey-Webhooks/1" },
        body,
        deps.allowPrivateWebhooks === true,
        deps.timeoutMs,
      );
      if (status < 200 || status >= 300) failure = `the receiver answered ${status}`;
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
  }
  const attempts = webhook.delivery.attempts + 1;
  const delay = WEBHOOK_RETRY_DELAYS_SECONDS[attempts - 1];
  const settled = failure === null || delay === undefined;
  const doneAt = ctx.now();
  await updateJob(ctx, project, workload, id, (current) => {
    if (current.webhook === null || current.webhook.delivery.next_attempt_at !== claimUntil) return undefined;
    return {
      ...current,
      webhook: {
        url: current.webhook.url,
        delivery: {
          status: failure === null ? "delivered" : settled ? "failed" : "pending",
          attempts,
          last_status: status,
          last_error: failure === null ? null : failure.slice(0, 300),
          delivered_at: failure === null ? doneAt.toISOString() : null,
          next_attempt_at: settled ? null : new Date(doneAt.getTime() + delay * 1000).toISOString(),
        },
      },
    };
  });
  if (failure !== null) log(`jobs: webhook of ${project}/${workload} ${id} attempt ${attempts} failed: ${failure.slice(0, 200)}`);
  if (settled) await ctx.store.delete(entry.pk, entry.sk, { kind: "any" });
  return true;
}
