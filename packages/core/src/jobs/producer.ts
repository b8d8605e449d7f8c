import { createHmac, timingSafeEqual } from "node:crypto";
import { ValidationError } from "../errors";
import type { BlobStore } from "../gateway/blob-store";
import { keys, type PlatformContext } from "../platform/context";
import { type WorkloadRecord, workloadIncarnation } from "../workloads";
import type { JobQueue } from "./queue";
import { JOB_MESSAGE_VERSION, type ProducerMessage, ProducerMessageSchema } from "./schema";
import { JobApiError, submitJob } from "./service";
import { canonicalJson } from "./store";
import { signingKeyOf, validSigningSecrets } from "./signing-secrets";

/** A producer message signed longer ago than this (or this far in the future) is refused. */
export const PRODUCER_SIGNATURE_TOLERANCE_SECONDS = 3600;

/** The signed text of a producer message: `{signed_at}.{canonical JSON of every field but signature}`. */
export function producerSigningText(message: Omit<ProducerMessage, "signature">): string {
  const { signature: _ignored, ...rest } = message as ProducerMessage;
  return `${rest.signed_at}.${canonicalJson(rest)}`;
}

/**
 * A producer message ready to `SendMessage`: the fields given, `version`, `type`, `signed_at` and
 * the signature with the workload's producer secret (`iksp_...`). docs/jobs.md shows the same in
 * Python, for producers written in it.
 */
export function signProducerMessage(
  secret: string,
  fields: Omit<ProducerMessage, "version" | "type" | "signed_at" | "signature">,
  nowSeconds: number,
): ProducerMessage {
  const unsigned = { ...fields, version: JOB_MESSAGE_VERSION, type: "submit" as const, signed_at: nowSeconds };
  const mac = createHmac("sha256", signingKeyOf(secret)).update(producerSigningText(unsigned)).digest("base64");
  return { ...unsigned, signature: `v1,${mac}` };
}

function signatureMatches(secrets: readonly string[], message: ProducerMessage): boolean {
  const given = message.signature.startsWith("v1,") ? Buffer.from(message.signature.slice(3), "base64") : Buffer.alloc(0);
  const text = producerSigningText(message);
  return secrets.some((secret) => {
    const expected = createHmac("sha256", signingKeyOf(secret)).update(text).digest();
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export type ProducerOutcome =
  | { kind: "accepted"; jobId: string; created: boolean }
  | { kind: "refused"; reason: string };

/**
 * Turns a direct producer's message into a job: parses it, checks the signature against the
 * workload's producer secrets (so IAM access to the queue alone cannot submit to a workload), and
 * submits it with its idempotency key (a redelivered message finds the job it created). Refusals
 * are returned, never thrown: a bad message is dropped and logged by the caller.
 */
export async function acceptProducerMessage(
  deps: {
    ctx: PlatformContext;
    queue: JobQueue;
    blobs?: BlobStore;
    allowPrivateWebhooks?: boolean;
    log?: (line: string) => void;
    /**
     * Reads an `input_pointer` (an object in the deployment's blob store); without it, pointers are
     * refused. Given the signed message's project and workload, so a pointer outside them is refused.
     */
    loadInputPointer?: (pointer: string, owner: { project: string; workload: string }) => Promise<unknown>;
  },
  raw: unknown,
): Promise<ProducerOutcome> {
  const parsed = ProducerMessageSchema.safeParse(raw);
  if (!parsed.success) return { kind: "refused", reason: `not a version-1 producer message (${parsed.error.issues[0]?.path.join(".") ?? ""}: ${parsed.error.issues[0]?.message ?? ""})` };
  const message = parsed.data;
  const nowSeconds = Math.floor(deps.ctx.now().getTime() / 1000);
  if (Math.abs(nowSeconds - message.signed_at) > PRODUCER_SIGNATURE_TOLERANCE_SECONDS) {
    return { kind: "refused", reason: `signed_at ${message.signed_at} is more than ${PRODUCER_SIGNATURE_TOLERANCE_SECONDS} s from now` };
  }
  const key = keys.workload(message.project, message.workload);
  const record = (await deps.ctx.store.get(key.pk, key.sk))?.data as WorkloadRecord | undefined;
  if (record === undefined || record.deleted_at !== undefined) return { kind: "refused", reason: `no workload ${message.project}/${message.workload}` };
  const secrets = await validSigningSecrets(deps.ctx, "producer", message.project, message.workload, workloadIncarnation(record));
  if (!signatureMatches(secrets, message)) return { kind: "refused", reason: `bad signature for ${message.project}/${message.workload}` };
  let input: unknown = message.input;
  try {
    if (input === undefined && message.input_pointer !== undefined) {
      if (deps.loadInputPointer === undefined) {
        return { kind: "refused", reason: "input_pointer cannot be read on this platform: put the input inline (up to 1 MiB)" };
      }
      input = await deps.loadInputPointer(message.input_pointer, { project: message.project, workload: message.workload });
    }
    if (input === null || typeof input !== "object" || Array.isArray(input)) return { kind: "refused", reason: "the message has no input object" };
    const submitted = await submitJob(deps, {
      workload: record,
      body: { ...(input as Record<string, unknown>), ...(message.webhook === undefined ? {} : { webhook: message.webhook }), ...(message.max_queue_seconds === undefined ? {} : { max_queue_seconds: message.max_queue_seconds }) },
      idempotencyKey: message.idempotency_key,
    });
    return { kind: "accepted", jobId: submitted.job.id, created: submitted.created };
  } catch (error) {
    // A refused input is final; anything else (the store) is thrown, so the message is retried.
    if (error instanceof ValidationError) return { kind: "refused", reason: `${error.message} ${error.details.map((d) => `${d.path}: ${d.message}`).join("; ")}` };
    if (error instanceof JobApiError) return { kind: "refused", reason: error.message };
    throw error;
  }
}
