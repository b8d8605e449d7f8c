import { createHmac, timingSafeEqual } from "node:crypto";
import { BASE62, base62FromBytes, randomBase62 } from "../ids";

/**
 * Secrets handed to users: a fixed prefix, 24 base62 characters (~142 random bits) and a
 * 6-character checksum. The checksum lets every surface reject a mistyped or forged secret
 * without a store read; the store only ever holds an HMAC-SHA256 digest under a server secret.
 */
export const SECRET_PREFIXES = {
  sdk: "ik_sdk_",
  live: "ik_live_",
  worker: "ik_wrk_",
} as const;
export type SecretKind = keyof typeof SECRET_PREFIXES;

const RANDOM_LENGTH = 24;
const CHECKSUM_LENGTH = 6;

function checksum(body: string): string {
  // FNV-1a over the body, folded to 6 base62 characters: catches typos, not an integrity MAC.
  let hash = 0x811c9dc5;
  for (let i = 0; i < body.length; i++) {
    hash ^= body.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  let out = "";
  let value = hash;
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out += BASE62[value % 62];
    value = Math.floor(value / 62);
  }
  return out;
}

/** A new secret of the given kind, e.g. `ik_live_...`. Show it once; store only `digestSecret`. */
export function generateSecret(kind: SecretKind, random: string = randomBase62(RANDOM_LENGTH)): string {
  const body = SECRET_PREFIXES[kind] + random;
  return body + checksum(body);
}

/** True when `text` has the shape and checksum of a secret with this prefix. No store read. */
export function isWellFormedSecret(kind: SecretKind, text: string): boolean {
  const prefix = SECRET_PREFIXES[kind];
  if (text.length !== prefix.length + RANDOM_LENGTH + CHECKSUM_LENGTH || !text.startsWith(prefix)) return false;
  const body = text.slice(0, -CHECKSUM_LENGTH);
  if (!/^[0-9A-Za-z]+$/.test(text.slice(prefix.length))) return false;
  const given = Buffer.from(text.slice(-CHECKSUM_LENGTH));
  const expected = Buffer.from(checksum(body));
  return timingSafeEqual(given, expected);
}

/** Keyed digest stored in place of the secret (HMAC-SHA256, hex). */
export function digestSecret(serverSecret: string, secret: string): string {
  return createHmac("sha256", serverSecret).update(secret).digest("hex");
}

/** The part of a secret safe to show in listings: prefix and last 4 characters. */
export function secretHint(secret: string): { prefix: string; last4: string } {
  const prefix = Object.values(SECRET_PREFIXES).find((p) => secret.startsWith(p)) ?? "";
  return { prefix, last4: secret.slice(-4) };
}

/**
 * Deterministic secret for an idempotent create: the same idempotency key yields the same secret,
 * so a retried create can answer with the secret again without it ever being stored.
 */
export function deriveSecret(kind: SecretKind, serverSecret: string, scope: string): string {
  const mac = createHmac("sha256", serverSecret).update(`derive:${kind}:${scope}`).digest();
  return generateSecret(kind, base62FromBytes(mac, RANDOM_LENGTH));
}
