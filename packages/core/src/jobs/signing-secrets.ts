import { createHmac } from "node:crypto";
import * as z from "zod/mini";
import "../zod";
import { ConditionFailedError, ValidationError } from "../errors";
import type { PlatformContext } from "../platform/context";
import type { Principal } from "../tokens";
import { getWorkloadRecord, type WorkloadRecord, workloadIncarnation } from "../workloads";
import { isJobTaskType } from "./schema";

/**
 * Per-workload signing secrets: `whsec_...` signs webhook deliveries (Standard Webhooks), `iksp_...`
 * signs messages direct producers put on the job queue. Neither is stored: each is derived from the
 * server secret, the workload's life and a version, so the store holds only the version. Rotating
 * bumps the version; the previous secret stays valid for 24 h (webhooks are signed with both, and
 * producer messages verify against both) so receivers and producers can switch without a gap.
 */
export type SigningSecretKind = "webhook" | "producer";

const PREFIX: Record<SigningSecretKind, string> = { webhook: "whsec_", producer: "iksp_" };
export const PREVIOUS_SECRET_VALID_SECONDS = 24 * 3600;

/** What is stored of a workload's signing secret: its version (the secret itself is derived). */
const SecretStateSchema = z.looseObject({
  incarnation: z.string(),
  version: z.number().check(z.int(), z.gte(1)),
  created_at: z.string(),
  previous: z.optional(z.object({ version: z.number().check(z.int(), z.gte(1)), valid_until: z.string() })),
});
type SecretState = z.output<typeof SecretStateSchema>;

function itemKey(kind: SigningSecretKind, project: string, slug: string) {
  return { pk: `PRJ#${project}`, sk: `${kind === "webhook" ? "WHSEC" : "PRODSEC"}#${slug}` };
}

/** The secret of a version: `whsec_` + base64 of 32 derived bytes (the HMAC key is those bytes), `iksp_` likewise. */
export function deriveSigningSecret(serverSecret: string, kind: SigningSecretKind, project: string, slug: string, incarnation: string, version: number): string {
  const bytes = createHmac("sha256", serverSecret).update(`signing-secret:${kind}:${project}/${slug}/${incarnation}/${version}`).digest();
  return `${PREFIX[kind]}${bytes.toString("base64")}`;
}

/** The HMAC key of a `whsec_`/`iksp_` secret: the bytes after the prefix, base64-decoded. */
export function signingKeyOf(secret: string): Buffer {
  return Buffer.from(secret.slice(secret.indexOf("_") + 1), "base64");
}

/** Creates (or rotates) the workload's secret of this kind and returns it: the only time it is shown. */
export async function rotateSigningSecret(
  ctx: PlatformContext,
  kind: SigningSecretKind,
  workload: WorkloadRecord,
): Promise<{ secret: string; created_at: string; previous_valid_until: string | null }> {
  const key = itemKey(kind, workload.project, workload.slug);
  const incarnation = workloadIncarnation(workload);
  for (let attempt = 0; attempt < 5; attempt++) {
    const item = await ctx.store.get(key.pk, key.sk);
    const current = item === undefined ? undefined : SecretStateSchema.parse(item.data);
    const now = ctx.now();
    const live = current !== undefined && current.incarnation === incarnation ? current : undefined;
    const next: SecretState = {
      incarnation,
      version: (live?.version ?? 0) + 1,
      created_at: now.toISOString(),
      ...(live === undefined
        ? {}
        : { previous: { version: live.version, valid_until: new Date(now.getTime() + PREVIOUS_SECRET_VALID_SECONDS * 1000).toISOString() } }),
    };
    try {
      await ctx.store.put({ ...key, data: { ...next } }, item === undefined ? { kind: "absent" } : { kind: "version", version: item.version });
    } catch (error) {
      if (error instanceof ConditionFailedError) continue;
      throw error;
    }
    return {
      secret: deriveSigningSecret(ctx.serverSecret, kind, workload.project, workload.slug, incarnation, next.version),
      created_at: next.created_at,
      previous_valid_until: next.previous?.valid_until ?? null,
    };
  }
  throw new ConditionFailedError(key.pk, key.sk);
}

/** The secrets valid now, current first (none until one was created). */
export async function validSigningSecrets(
  ctx: PlatformContext,
  kind: SigningSecretKind,
  project: string,
  slug: string,
  incarnation: string,
): Promise<string[]> {
  const key = itemKey(kind, project, slug);
  const item = await ctx.store.get(key.pk, key.sk);
  const state = item === undefined ? undefined : SecretStateSchema.parse(item.data);
  if (state === undefined || state.incarnation !== incarnation) return [];
  const out = [deriveSigningSecret(ctx.serverSecret, kind, project, slug, incarnation, state.version)];
  if (state.previous !== undefined && Date.parse(state.previous.valid_until) > ctx.now().getTime()) {
    out.push(deriveSigningSecret(ctx.serverSecret, kind, project, slug, incarnation, state.previous.version));
  }
  return out;
}

/**
 * The control API's `POST /v1/projects/{p}/workloads/{slug}/webhook-secret` (and `producer-secret`):
 * creates or rotates the workload's secret and shows it, once. Only workloads that take jobs have them.
 */
export async function createSigningSecret(
  ctx: PlatformContext,
  principal: Principal,
  project: string,
  slug: string,
  kind: SigningSecretKind,
): Promise<{ secret: string; created_at: string; previous_valid_until: string | null }> {
  const record = await getWorkloadRecord(ctx, principal, project, slug);
  if (!isJobTaskType(record.spec.task_type)) {
    throw new ValidationError(`Workload ${project}/${slug} takes no jobs, so it has no ${kind} secret.`, [
      { path: "task_type", message: `${kind} secrets sign jobs of reranker, classification and reward workloads`, received: record.spec.task_type },
    ]);
  }
  return rotateSigningSecret(ctx, kind, record);
}
