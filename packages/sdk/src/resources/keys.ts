import type { createKey, DataKeyRecord, rotateKey } from "@inferencekey/core";
import { type CamelKeys, camelKeys, type Simplify, snakeKeys } from "../casing";
import type { CallOptions, HttpClient, IdempotentCallOptions } from "../http/http-client";
import { bodyOf, callOf, isoOf } from "./call-options";
import { pathOf } from "./paths";

/**
 * An `ik_live_` data key as listed: never the key itself, only `prefix` and `last4`.
 * `{ kind, id, name, project, workload, prefix, last4, createdAt, expiresAt?, revokedAt?,
 * lastUsedAt?, rateLimitPerMinute?, maxConcurrentRequests?, rotatedTo? }`.
 *
 * @example
 * ```ts
 * const keys: DataKey[] = await mgmt.keys.list("billing");
 * for (const k of keys) console.log(k.id, k.name, `${k.prefix}...${k.last4}`, k.revokedAt ?? "active");
 * ```
 */
export type DataKey = Simplify<CamelKeys<DataKeyRecord>>;

/**
 * A newly created key: the {@link DataKey} fields plus `key`, the plaintext `ik_live_...`
 * secret. It is returned this once and never again; store it now.
 *
 * @example
 * ```ts
 * const created: CreatedKey = await mgmt.keys.create("billing", { name: "backend" });
 * await saveSecret("BILLING_IK_LIVE", created.key);
 * ```
 */
export type CreatedKey = Simplify<DataKey & { key: string }>;

/**
 * The result of a rotation: the new key (with its plaintext `key`, shown once) and `previous`,
 * the old key with its new `expiresAt` (or `revokedAt` when rotated with 0 s of overlap).
 *
 * @example
 * ```ts
 * const rotated: RotatedKey = await mgmt.keys.rotate("billing", "key_123", { oldKeyExpiresInSeconds: 3600 });
 * console.log(rotated.key, rotated.previous.expiresAt);
 * ```
 */
export type RotatedKey = Simplify<CreatedKey & { previous: DataKey }>;

type KeyInput = CamelKeys<Parameters<typeof createKey>[4]>;

/**
 * Options of `keys.create`: a `name`, an optional per-minute rate limit and an optional limit of
 * requests in flight at once (`maxConcurrentRequests`), both enforced by the gateway, an optional absolute expiry (ISO 8601 string or `Date`), and an optional `idempotencyKey`.
 *
 * @example
 * ```ts
 * const options: CreateKeyOptions = { name: "nightly-job", rateLimitPerMinute: 600, expiresAt: new Date("2030-01-01") };
 * ```
 */
export type CreateKeyOptions = Simplify<
  Omit<KeyInput, "expiresAt"> & { expiresAt?: string | Date | undefined } & IdempotentCallOptions
>;

/**
 * Options of `keys.rotate`: how long the old key keeps working (`oldKeyExpiresInSeconds`,
 * default 24 h on the server, 0 revokes it at once) and an optional new `name`.
 *
 * @example
 * ```ts
 * const options: RotateKeyOptions = { oldKeyExpiresInSeconds: 0, idempotencyKey: "rotate-key_123-2025-01" };
 * ```
 */
export type RotateKeyOptions = Simplify<
  Partial<CamelKeys<Parameters<typeof rotateKey>[5]>> & IdempotentCallOptions
>;

/**
 * Data keys (`ik_live_...`) of the client's project's workloads. Reach it as `mgmt.keys`.
 *
 * @example
 * ```ts
 * const { id, key } = await mgmt.keys.create("billing", { name: "backend" });
 * await mgmt.keys.rotate("billing", id, { oldKeyExpiresInSeconds: 3600 });
 * ```
 */
export class KeysResource {
  constructor(
    private readonly http: HttpClient,
    private readonly project: string,
  ) {}

  /**
   * Creates a data key for `workload` and returns it with its plaintext `key`, shown only this
   * once. Without `idempotencyKey` it is retried only when refused before processing (429, no connection).
   *
   * @example
   * ```ts
   * const created = await mgmt.keys.create("support-bot", { name: "web-app", rateLimitPerMinute: 120 });
   * console.log(created.key); // ik_live_...
   * ```
   */
  async create(workload: string, options: CreateKeyOptions): Promise<CreatedKey> {
    const { expiresAt, ...rest } = bodyOf(options);
    const body = snakeKeys({
      ...rest,
      expiresAt: isoOf(expiresAt),
    });
    const created = await this.http.json<DataKeyRecord & { key: string }>({
      method: "POST",
      path: pathOf`/v1/projects/${this.project}/workloads/${workload}/keys`,
      body,
      ...callOf(options),
    });
    return camelKeys(created);
  }

  /**
   * Lists every key of `workload`, revoked and expired ones included (see `revokedAt`, `expiresAt`).
   *
   * @example
   * ```ts
   * const active = (await mgmt.keys.list("support-bot")).filter((k) => k.revokedAt === undefined);
   * ```
   */
  async list(workload: string, options?: CallOptions): Promise<DataKey[]> {
    const page = await this.http.json<{ data: DataKeyRecord[] }>({
      method: "GET",
      path: pathOf`/v1/projects/${this.project}/workloads/${workload}/keys`,
      ...callOf(options),
    });
    return page.data.map((key) => camelKeys(key));
  }

  /**
   * Revokes a key at once; revoking an already revoked key is a no-op. Returns the key.
   *
   * @example
   * ```ts
   * const revoked = await mgmt.keys.revoke("support-bot", "key_123");
   * console.log(revoked.revokedAt);
   * ```
   */
  async revoke(workload: string, keyId: string, options?: CallOptions): Promise<DataKey> {
    const key = await this.http.json<DataKeyRecord>({
      method: "DELETE",
      path: pathOf`/v1/projects/${this.project}/workloads/${workload}/keys/${keyId}`,
      ...callOf(options),
    });
    return camelKeys(key);
  }

  /**
   * Replaces a key with a new one (same name and limits unless `name` is given). The old key keeps
   * working for `oldKeyExpiresInSeconds` (server default 24 h; 0 revokes it now). Without
   * `idempotencyKey` it is retried only when refused before processing (429, no connection).
   *
   * @example
   * ```ts
   * const { key, previous } = await mgmt.keys.rotate("support-bot", "key_123", { oldKeyExpiresInSeconds: 600 });
   * ```
   */
  async rotate(workload: string, keyId: string, options: RotateKeyOptions = {}): Promise<RotatedKey> {
    const rotated = await this.http.json<DataKeyRecord & { key: string; previous: DataKeyRecord }>({
      method: "POST",
      path: pathOf`/v1/projects/${this.project}/workloads/${workload}/keys/${keyId}/rotate`,
      body: snakeKeys(bodyOf(options)),
      ...callOf(options),
    });
    return { ...camelKeys(rotated), previous: camelKeys(rotated.previous) };
  }
}
