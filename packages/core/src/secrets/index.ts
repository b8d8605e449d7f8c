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

/** What is wrong with a secret that is not well formed, checked in this order. */
export type SecretProblem = "wrong_prefix" | "wrong_length" | "bad_characters" | "bad_checksum";

/**
 * Why `text` is not a well-formed secret of this kind, or undefined when it is one. No store read.
 *
 * @example
 * ```ts
 * secretProblem("sdk", generateSecret("sdk")); // undefined
 * secretProblem("sdk", `${generateSecret("sdk").slice(0, -1)}?`); // "bad_characters"
 * ```
 */
export function secretProblem(kind: SecretKind, text: string): SecretProblem | undefined {
  const prefix = SECRET_PREFIXES[kind];
  if (!text.startsWith(prefix)) return "wrong_prefix";
  if (text.length !== prefix.length + RANDOM_LENGTH + CHECKSUM_LENGTH) return "wrong_length";
  if (!/^[0-9A-Za-z]+$/.test(text.slice(prefix.length))) return "bad_characters";
  return isWellFormedSecret(kind, text) ? undefined : "bad_checksum";
}

/**
 * The problem in words, never quoting the secret (a mistyped secret is still mostly a secret), e.g.
 * "its checksum does not match: ...". Undefined when the secret is well formed.
 *
 * @example
 * ```ts
 * `The token is malformed: ${describeSecretProblem("sdk", token)}.`
 * ```
 */
export function describeSecretProblem(kind: SecretKind, text: string): string | undefined {
  const prefix = SECRET_PREFIXES[kind];
  const length = prefix.length + RANDOM_LENGTH + CHECKSUM_LENGTH;
  switch (secretProblem(kind, text)) {
    case undefined:
      return undefined;
    case "wrong_prefix":
      return `it does not start with ${prefix}`;
    case "wrong_length":
      return `it is ${text.length} characters long, not ${length} (${prefix} followed by ${RANDOM_LENGTH + CHECKSUM_LENGTH} letters and digits): was it cut short, or pasted with something else?`;
    case "bad_characters":
      return `it has characters other than letters and digits after ${prefix} (a quote, space or line break pasted with it?)`;
    case "bad_checksum":
      return `its checksum does not match (its last ${CHECKSUM_LENGTH} characters check the rest): a character was mistyped or changed; copy it again`;
  }
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

export const REDACTED = "[redacted]";

/**
 * Every credential shape the platform hands out: the three user secrets, the replica secret
 * (`ik_rep_` + base64url) and the jobs' signing secrets (`whsec_` / `iksp_` + base64), including
 * truncated ones (a line cut mid-token still hides the rest).
 */
const CREDENTIAL_SHAPE = /ik_(?:sdk|live|wrk|rep)_[0-9A-Za-z_-]*|(?:whsec|iksp)_[0-9A-Za-z+/=]*/g;

/**
 * Text that may reach a person (events, replica status, logs) with every credential shape and the
 * exact server secret replaced by `[redacted]`. Linear: one regex without nesting, one literal.
 */
export function redactSecrets(text: string, serverSecret?: string): string {
  let out = text.replace(CREDENTIAL_SHAPE, REDACTED);
  if (serverSecret !== undefined && serverSecret.length >= 8) out = out.replaceAll(serverSecret, REDACTED);
  return out;
}

/** One version of the server secret. Version "1" is the first (a bare secret is version "1"). */
export interface ServerSecretVersion {
  version: string;
  secret: string;
}

/** Every server secret still accepted: the current one signs and digests, the previous ones only verify. */
export interface ServerSecretKeyring {
  current: ServerSecretVersion;
  previous: readonly ServerSecretVersion[];
}

const KEYRING_VERSION = /^[0-9A-Za-z]{1,16}$/;
const MIN_SERVER_SECRET_LENGTH = 16;

/**
 * The server secret as stored (SSM SecureString in AWS, the state directory under `npm start`):
 * either one secret (version "1"), or `version:secret` entries separated by commas, the current
 * one first, e.g. `2:<new secret>,1:<old secret>`. Rotating adds a new first entry; removing the
 * old entry later retires it. Throws naming what is wrong, never quoting a secret.
 *
 * @example
 * ```ts
 * parseServerSecretKeyring("2:bbbbbbbbbbbbbbbbbbbb,1:aaaaaaaaaaaaaaaaaaaa").current.version; // "2"
 * ```
 */
export function parseServerSecretKeyring(text: string): ServerSecretKeyring {
  const trimmed = text.trim();
  if (!trimmed.includes(":")) {
    if (trimmed.length < MIN_SERVER_SECRET_LENGTH || /[\s,]/.test(trimmed)) {
      throw new Error(`the server secret must be at least ${MIN_SERVER_SECRET_LENGTH} characters without spaces or commas (or version:secret entries separated by commas)`);
    }
    return { current: { version: "1", secret: trimmed }, previous: [] };
  }
  const versions = trimmed.split(",").map((entry, index) => {
    const colon = entry.indexOf(":");
    const version = entry.slice(0, colon).trim();
    const secret = entry.slice(colon + 1).trim();
    if (colon < 0 || !KEYRING_VERSION.test(version)) {
      throw new Error(`server secret entry ${index + 1}: expected version:secret with a version of 1-16 letters or digits`);
    }
    if (secret.length < MIN_SERVER_SECRET_LENGTH || /\s/.test(secret)) {
      throw new Error(`server secret version ${version}: the secret must be at least ${MIN_SERVER_SECRET_LENGTH} characters without spaces`);
    }
    return { version, secret };
  });
  const seen = new Set<string>();
  for (const { version } of versions) {
    if (seen.has(version)) throw new Error(`server secret version ${version} appears twice`);
    seen.add(version);
  }
  const [current, ...previous] = versions as [ServerSecretVersion, ...ServerSecretVersion[]];
  return { current, previous };
}

/**
 * The digest of a user secret under one server secret version, recording that version: version
 * "1" keeps the plain HMAC (what stores written before rotation existed hold), later versions
 * prefix it with `v<version>.`.
 */
export function versionedSecretDigest(serverSecret: ServerSecretVersion, secret: string): string {
  const digest = digestSecret(serverSecret.secret, secret);
  return serverSecret.version === "1" ? digest : `v${serverSecret.version}.${digest}`;
}

/** The digests a user secret may be stored under while these versions are accepted: the current one first. */
export function candidateSecretDigests(keyring: ServerSecretKeyring, secret: string): string[] {
  return [keyring.current, ...keyring.previous].map((version) => versionedSecretDigest(version, secret));
}

/** What the digest helpers need of the platform context. */
interface SecretsContext {
  serverSecret: string;
  serverSecretKeyring?: ServerSecretKeyring;
}

function keyringOf(ctx: SecretsContext): ServerSecretKeyring {
  return ctx.serverSecretKeyring ?? { current: { version: "1", secret: ctx.serverSecret }, previous: [] };
}

/** The digest a new user secret is stored under: the current server secret version's. */
export function storedSecretDigest(ctx: SecretsContext, secret: string): string {
  return versionedSecretDigest(keyringOf(ctx).current, secret);
}

/** The digests to look a presented user secret up by, current version first. */
export function lookupSecretDigests(ctx: SecretsContext, secret: string): string[] {
  return candidateSecretDigests(keyringOf(ctx), secret);
}
