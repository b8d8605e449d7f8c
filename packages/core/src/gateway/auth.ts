import { type DataKeyRecord, recordKeyUse } from "../keys";
import { keys, type PlatformContext } from "../platform/context";
import { describeSecretProblem, isWellFormedSecret, lookupSecretDigests, SECRET_PREFIXES } from "../secrets";
import { bearer } from "../tokens";
import { GatewayError } from "./errors";
import { TtlCache } from "./ttl-cache";

/** A key as the gateway keeps it: the record plus its expiry parsed once. */
export interface CachedKey {
  record: DataKeyRecord;
  /** The digest the key is stored under (its server secret version's, see `lookupSecretDigests`). */
  storedDigest: string;
  expiresAtMs: number | undefined;
}

export interface KeyCacheOptions {
  /** How long a found key is trusted without re-reading it: the revocation delay. Default 5000. */
  ttlMs: number;
  /** How long "no such key" is remembered. Default 1000. */
  negativeTtlMs: number;
  maxEntries: number;
}

export const DEFAULT_KEY_CACHE: KeyCacheOptions = { ttlMs: 5000, negativeTtlMs: 1000, maxEntries: 10_000 };

/** `last_used_at` resolution: at most one store write per key per minute per gateway instance. */
export const LAST_USED_RESOLUTION_MS = 60_000;

const OTHER_PREFIXES = [SECRET_PREFIXES.sdk, SECRET_PREFIXES.worker];

/**
 * Authenticates `ik_live_` data keys against one workload. Shape and checksum are checked before
 * anything else, so a malformed key costs no store read; found keys are cached by digest for
 * `ttlMs`, which bounds how long a revoked key keeps working. Expiry is checked on every request.
 */
export class KeyAuthenticator {
  private readonly cache: TtlCache<CachedKey | null>;
  private readonly lastUseWrites = new Map<string, number>();
  /**
   * Digests of recently presented well-formed keys, so a steady caller costs one map lookup, not a
   * checksum and an HMAC per request. Process memory only, bounded, and never written anywhere.
   */
  private readonly digests = new Map<string, string[]>();
  private readonly maxDigests: number;

  constructor(
    private readonly ctx: PlatformContext,
    options: KeyCacheOptions,
  ) {
    this.maxDigests = options.maxEntries;
    this.cache = new TtlCache<CachedKey | null>({
      now: () => ctx.now().getTime(),
      ttlMs: (value) => (value === null ? options.negativeTtlMs : options.ttlMs),
      maxEntries: options.maxEntries,
    });
  }

  /** Resolves to the key, or throws a 401 GatewayError. Synchronous when the key is cached. */
  authenticate(authorization: string | null, project: string, workload: string): CachedKey | Promise<CachedKey> {
    const token = bearerToken(authorization);
    // Cached under the current version's digest; read under each accepted version's (rotation).
    const candidates = this.digests.get(token) ?? this.digestOf(token);
    const digest = candidates[0] as string;
    const cached = this.cache.fresh(digest);
    if (cached !== undefined) return this.used(this.check(cached.value, project, workload));
    return this.cache.load(digest, () => this.read(candidates)).then((value) => this.used(this.check(value, project, workload)));
  }

  /** Checks the key's shape and checksum (no store read for a malformed key) and remembers its digests. */
  private digestOf(token: string): string[] {
    if (!isWellFormedSecret("live", token)) {
      if (OTHER_PREFIXES.some((prefix) => token.startsWith(prefix))) {
        throw new GatewayError(
          401,
          "wrong_key_kind",
          "This is not a data key: endpoints take the workload's ik_live_ key (ik_sdk_ tokens are for the control API).",
        );
      }
      throw new GatewayError(401, "malformed_api_key", `The API key is malformed: ${describeSecretProblem("live", token)}.`);
    }
    const digest = lookupSecretDigests(this.ctx, token);
    // Oldest first when full: Map keeps insertion order.
    if (this.digests.size >= this.maxDigests) this.digests.delete(this.digests.keys().next().value as string);
    this.digests.set(token, digest);
    return digest;
  }

  /** Notes an accepted key's use; the store write (last_used_at) happens at most once a minute, in the background. */
  private used(key: CachedKey): CachedKey {
    const digest = key.storedDigest;
    const now = this.ctx.now().getTime();
    const last = this.lastUseWrites.get(digest);
    if (last === undefined || now - last >= LAST_USED_RESOLUTION_MS) {
      this.lastUseWrites.delete(digest);
      this.lastUseWrites.set(digest, now);
      // Map order is insertion order: the first entry is the least recently written.
      if (this.lastUseWrites.size > 10_000) this.lastUseWrites.delete(this.lastUseWrites.keys().next().value as string);
      void recordKeyUse(this.ctx, digest, new Date(now)).catch(() => undefined);
    }
    return key;
  }

  private async read(candidates: readonly string[]): Promise<CachedKey | null> {
    let found: { item: NonNullable<Awaited<ReturnType<PlatformContext["store"]["get"]>>>; digest: string } | undefined;
    try {
      for (const digest of candidates) {
        const key = keys.secret(digest);
        const item = await this.ctx.store.get(key.pk, key.sk);
        if (item !== undefined) {
          found = { item, digest };
          break;
        }
      }
    } catch {
      throw new GatewayError(503, "store_unavailable", "Keys cannot be checked right now; retry shortly.", {
        retryAfterSeconds: 2,
      });
    }
    const record = found?.item.data as DataKeyRecord | undefined;
    if (found === undefined || record === undefined || record.kind !== "live") return null;
    const expiresAtMs = record.expires_at === undefined ? undefined : Date.parse(record.expires_at);
    return { record, storedDigest: found.digest, expiresAtMs };
  }

  private check(key: CachedKey | null, project: string, workload: string): CachedKey {
    if (key === null) {
      throw new GatewayError(401, "invalid_api_key", "The API key is not recognised. Use a key created for this workload.");
    }
    if (key.record.project !== project || key.record.workload !== workload) {
      throw new GatewayError(
        401,
        "key_wrong_workload",
        `This API key is not a key of workload ${project}/${workload}: every workload has its own ik_live_ keys.`,
      );
    }
    if (key.record.revoked_at !== undefined) {
      throw new GatewayError(401, "key_revoked", "This API key was revoked. Create or rotate a key for this workload.");
    }
    if (key.expiresAtMs !== undefined && key.expiresAtMs <= this.ctx.now().getTime()) {
      throw new GatewayError(401, "key_expired", "This API key has expired. Create or rotate a key for this workload.");
    }
    return key;
  }
}

function bearerToken(authorization: string | null): string {
  if (authorization === null || authorization.trim() === "") {
    throw new GatewayError(
      401,
      "missing_api_key",
      "No API key: send `Authorization: Bearer ik_live_...`, a data key of this workload.",
    );
  }
  const credential = bearer(authorization);
  if (credential === undefined) {
    throw new GatewayError(401, "malformed_api_key", "The Authorization header must be `Bearer ik_live_...`.");
  }
  return credential;
}
