import { randomBytes } from "node:crypto";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Random base62 text; rejection sampling keeps every character equally likely. */
export function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

/** Base62 text derived from bytes (e.g. an HMAC): deterministic, for ids and secrets that must be re-derivable. */
export function base62FromBytes(bytes: Uint8Array, length: number): string {
  let out = "";
  for (const byte of bytes) {
    if (out.length === length) break;
    out += BASE62[byte % 62];
  }
  return out.padEnd(length, "0");
}

export type IdPrefix = "wrk" | "wl" | "inc" | "key" | "tok" | "prj" | "req" | "evt" | "job" | "rep" | "node";

/** Prefixed, sortable-enough ids: `wrk_7Yc2...`. The prefix tells a reader what the id names. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomBase62(16)}`;
}

export function hasPrefix(id: string, prefix: IdPrefix): boolean {
  if (id.length > prefix.length + 65) return false;
  return new RegExp(`^${prefix}_[0-9A-Za-z]{4,64}$`).test(id);
}

export { BASE62 };
