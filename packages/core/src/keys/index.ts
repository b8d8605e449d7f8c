import * as z from "zod/mini";
import "../zod";
import { ConditionFailedError, ConflictError, NotFoundError, ValidationError } from "../errors";
import { type Idempotency, idFor, secretFor } from "../idempotency";
import { isoNow, keys, type PlatformContext } from "../platform/context";
import { secretHint, storedSecretDigest } from "../secrets";
import type { Principal } from "../tokens";
import { getWorkloadRecord, type WorkloadRecord, workloadIncarnation } from "../workloads";
import { queryAll } from "../store";

export const KeyInputSchema = z.strictObject({
  name: z.string().check(z.trim(), z.minLength(1), z.maxLength(120)),
  /** Optional requests-per-minute limit enforced by the gateway for this key. */
  rate_limit_per_minute: z.optional(z.number().check(z.int(), z.gte(1), z.lte(1_000_000))),
  /**
   * Optional limit on this key's requests in flight at once, enforced by the gateway across all its
   * instances (a streamed answer holds its slot until it ends).
   */
  max_concurrent_requests: z.optional(z.number().check(z.int(), z.gte(1), z.lte(1000))),
  /** Optional absolute expiry (ISO 8601). */
  expires_at: z.optional(z.iso.datetime({ offset: true })),
});

export const RotateInputSchema = z.strictObject({
  /** How long the old key keeps working after rotation; 0 revokes it at once. Default 24 h. */
  old_key_expires_in_seconds: z._default(z.number().check(z.int(), z.gte(0), z.lte(30 * 24 * 3600)), 24 * 3600),
  name: z.optional(z.string().check(z.trim(), z.minLength(1), z.maxLength(120))),
});

/** An `ik_live_` data key of one workload, as stored and listed (never the key itself). */
export interface DataKeyRecord {
  kind: "live";
  id: string;
  name: string;
  project: string;
  workload: string;
  prefix: string;
  last4: string;
  created_at: string;
  expires_at?: string;
  revoked_at?: string;
  last_used_at?: string;
  rate_limit_per_minute?: number;
  max_concurrent_requests?: number;
  /** Set on the key that replaced this one. */
  rotated_to?: string;
  /**
   * The workload incarnation the key was made for: deleting the workload ends it, and a re-created
   * slug is a new incarnation with keys of its own. Absent on keys made before incarnations.
   */
  incarnation?: string;
}

/**
 * Whether a key belongs to the workload's current life. A key made before incarnations existed
 * belongs to the life that was current when it was made: one that started no later than the key.
 */
export function keyBelongsTo(key: DataKeyRecord, life: { incarnation: string; created_at: string }): boolean {
  return key.incarnation !== undefined ? key.incarnation === life.incarnation : key.created_at >= life.created_at;
}

export async function createKey(
  ctx: PlatformContext,
  principal: Principal,
  project: string,
  workload: string,
  input: z.output<typeof KeyInputSchema>,
  idempotency?: Idempotency,
): Promise<{ key: DataKeyRecord; secret: string }> {
  const record = await getWorkloadRecord(ctx, principal, project, workload);
  if (input.expires_at !== undefined && Date.parse(input.expires_at) <= ctx.now().getTime()) {
    throw new ValidationError("The key would already be expired.", [
      { path: "expires_at", message: "expires_at is in the past", received: input.expires_at, expected: "a future instant" },
    ]);
  }
  return storeKey(ctx, project, workload, workloadIncarnation(record), input, idempotency);
}

async function storeKey(
  ctx: PlatformContext,
  project: string,
  workload: string,
  incarnation: string,
  input: { name: string; rate_limit_per_minute?: number; max_concurrent_requests?: number; expires_at?: string },
  idempotency?: Idempotency,
): Promise<{ key: DataKeyRecord; secret: string }> {
  const secret = secretFor(ctx, "live", idempotency);
  const hint = secretHint(secret);
  const key: DataKeyRecord = {
    kind: "live",
    id: idFor(ctx, "key", idempotency),
    name: input.name,
    project,
    workload,
    prefix: hint.prefix,
    last4: hint.last4,
    created_at: isoNow(ctx),
    ...(input.expires_at === undefined ? {} : { expires_at: new Date(input.expires_at).toISOString() }),
    ...(input.rate_limit_per_minute === undefined ? {} : { rate_limit_per_minute: input.rate_limit_per_minute }),
    ...(input.max_concurrent_requests === undefined ? {} : { max_concurrent_requests: input.max_concurrent_requests }),
    incarnation,
  };
  const item = keys.secret(storedSecretDigest(ctx, secret));
  try {
    await ctx.store.put({ ...item, gsi1pk: keys.keysIndex(project, workload), gsi1sk: key.id, data: { ...key } }, { kind: "absent" });
  } catch (error) {
    if (!(error instanceof ConditionFailedError) || idempotency === undefined) throw error;
    // A retry of the same create: answer what the first attempt made, if it asked for the same thing.
    const existing = (await ctx.store.get(item.pk, item.sk))?.data as DataKeyRecord | undefined;
    if (
      existing?.project !== project ||
      existing.workload !== workload ||
      existing.name !== input.name ||
      existing.rate_limit_per_minute !== input.rate_limit_per_minute ||
      existing.max_concurrent_requests !== input.max_concurrent_requests
    ) {
      throw new ConflictError("This Idempotency-Key was already used for a different request.");
    }
    return { key: existing, secret };
  }
  return { key, secret };
}

export async function listKeys(
  ctx: PlatformContext,
  principal: Principal,
  project: string,
  workload: string,
): Promise<DataKeyRecord[]> {
  return keysOf(ctx, await getWorkloadRecord(ctx, principal, project, workload));
}

/** The keys of the workload's current life: keys of a former life of the slug stay stored (and refused). */
async function keysOf(ctx: PlatformContext, record: WorkloadRecord): Promise<DataKeyRecord[]> {
  const items = await queryAll(ctx.store, { pk: keys.keysIndex(record.project, record.slug), index: "gsi1" });
  const life = { incarnation: workloadIncarnation(record), created_at: record.created_at };
  return items.map((i) => i.data as unknown as DataKeyRecord).filter((key) => keyBelongsTo(key, life));
}

async function updateKey(
  ctx: PlatformContext,
  project: string,
  workload: string,
  keyId: string,
  change: (key: DataKeyRecord) => DataKeyRecord,
): Promise<DataKeyRecord> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const page = await ctx.store.query({ pk: keys.keysIndex(project, workload), index: "gsi1", skPrefix: keyId });
    const indexed = page.items.find((i) => (i.data as unknown as DataKeyRecord).id === keyId);
    if (!indexed) throw new NotFoundError(`key ${keyId} not found on workload "${workload}"`);
    // The index may lag: re-read the item itself before the conditional write.
    const item = await ctx.store.get(indexed.pk, indexed.sk);
    if (!item) throw new NotFoundError(`key ${keyId} not found on workload "${workload}"`);
    const updated = change(item.data as unknown as DataKeyRecord);
    try {
      await ctx.store.put(
        { pk: item.pk, sk: item.sk, gsi1pk: item.gsi1pk, gsi1sk: item.gsi1sk, data: { ...updated } },
        { kind: "version", version: item.version },
      );
      return updated;
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  }
  throw new ConditionFailedError("keys", keyId);
}

export async function revokeKey(
  ctx: PlatformContext,
  principal: Principal,
  project: string,
  workload: string,
  keyId: string,
): Promise<DataKeyRecord> {
  await getWorkloadRecord(ctx, principal, project, workload);
  return updateKey(ctx, project, workload, keyId, (key) => (key.revoked_at ? key : { ...key, revoked_at: isoNow(ctx) }));
}

/**
 * Rotates a key: a new key is created with the same name and limits, and the old key keeps working
 * until `old_key_expires_in_seconds` from now (0 revokes it at once).
 */
export async function rotateKey(
  ctx: PlatformContext,
  principal: Principal,
  project: string,
  workload: string,
  keyId: string,
  input: z.output<typeof RotateInputSchema>,
  idempotency?: Idempotency,
): Promise<{ key: DataKeyRecord; secret: string; previous: DataKeyRecord }> {
  const record = await getWorkloadRecord(ctx, principal, project, workload);
  const current = (await keysOf(ctx, record)).find((k) => k.id === keyId);
  if (!current) throw new NotFoundError(`key ${keyId} not found on workload "${workload}"`);
  if (current.revoked_at !== undefined && !(idempotency !== undefined && current.rotated_to !== undefined)) {
    throw new ValidationError("A revoked key cannot be rotated.", [
      { path: "key_id", message: `key ${keyId} was revoked at ${current.revoked_at}`, received: keyId, expected: "an active key" },
    ]);
  }
  const created = await storeKey(ctx, project, workload, workloadIncarnation(record), {
    name: input.name ?? current.name,
    ...(current.rate_limit_per_minute === undefined ? {} : { rate_limit_per_minute: current.rate_limit_per_minute }),
    ...(current.max_concurrent_requests === undefined ? {} : { max_concurrent_requests: current.max_concurrent_requests }),
    ...(current.expires_at === undefined ? {} : { expires_at: current.expires_at }),
  }, idempotency);
  const expiry = new Date(ctx.now().getTime() + input.old_key_expires_in_seconds * 1000).toISOString();
  const previous = await updateKey(ctx, project, workload, keyId, (key) => ({
    ...key,
    rotated_to: created.key.id,
    ...(input.old_key_expires_in_seconds === 0
      ? { revoked_at: isoNow(ctx) }
      : { expires_at: key.expires_at !== undefined && key.expires_at < expiry ? key.expires_at : expiry }),
  }));
  return { ...created, previous };
}

/**
 * Records that a key was used (best effort, minute resolution): the gateway calls it at most once a
 * minute per key, off the request path, so the hot path never waits on a store write.
 */
export async function recordKeyUse(ctx: PlatformContext, digest: string, at: Date): Promise<void> {
  const key = keys.secret(digest);
  const item = await ctx.store.get(key.pk, key.sk);
  const record = item?.data as DataKeyRecord | undefined;
  if (item === undefined || record?.kind !== "live") return;
  if (record.last_used_at !== undefined && record.last_used_at >= at.toISOString()) return;
  try {
    await ctx.store.put(
      { pk: item.pk, sk: item.sk, gsi1pk: item.gsi1pk, gsi1sk: item.gsi1sk, data: { ...record, last_used_at: at.toISOString() } },
      { kind: "version", version: item.version },
    );
  } catch (error) {
    // A concurrent revoke or rotate won: its write matters more than a usage timestamp.
    if (!(error instanceof ConditionFailedError)) throw error;
  }
}
