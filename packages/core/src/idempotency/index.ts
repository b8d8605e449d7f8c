import { createHmac } from "node:crypto";
import { ValidationError } from "../errors";
import { base62FromBytes, type IdPrefix, newId } from "../ids";
import type { PlatformContext } from "../platform/context";
import { deriveSecret, generateSecret, type SecretKind } from "../secrets";

/**
 * Idempotent creates without storing secrets: with an `Idempotency-Key`, the new secret and id are
 * derived from (server secret, caller, route, key). A retried create derives the same secret, finds
 * its digest item already written, and answers the same resource and the same secret again.
 */
export interface Idempotency {
  /** The caller and route, e.g. `tok_abc:POST /v1/projects/acme/workers`. */
  scope: string;
  key: string;
}

export function parseIdempotencyKey(header: string | null, scope: string): Idempotency | undefined {
  if (header === null) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(header)) {
    throw new ValidationError("The Idempotency-Key header is invalid.", [
      { path: "Idempotency-Key", message: "must be 1-255 printable ASCII characters without spaces", received: header },
    ]);
  }
  return { scope, key: header };
}

export function secretFor(ctx: PlatformContext, kind: SecretKind, idempotency: Idempotency | undefined): string {
  return idempotency === undefined ? generateSecret(kind) : deriveSecret(kind, ctx.serverSecret, `${idempotency.scope}\n${idempotency.key}`);
}

export function idFor(ctx: PlatformContext, prefix: IdPrefix, idempotency: Idempotency | undefined): string {
  if (idempotency === undefined) return newId(prefix);
  const mac = createHmac("sha256", ctx.serverSecret).update(`id:${prefix}\n${idempotency.scope}\n${idempotency.key}`).digest();
  return `${prefix}_${base62FromBytes(mac, 16)}`;
}
