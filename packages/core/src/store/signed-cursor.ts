import { createHmac, timingSafeEqual } from "node:crypto";
import { ValidationError } from "../errors";

/** Bytes of HMAC-SHA256 kept in a cursor: 128 bits, as hard to forge as the whole digest here. */
const MAC_BYTES = 16;
/** A cursor longer than this was never issued (store cursors are a few hundred characters). */
const MAX_CURSOR_LENGTH = 2048;

function macOf(serverSecret: string, scope: string, cursor: string): Buffer {
  return createHmac("sha256", serverSecret).update(`cursor\n${scope}\n${cursor}`).digest().subarray(0, MAC_BYTES);
}

function invalidCursor(): ValidationError {
  return new ValidationError("The cursor is not one this listing issued.", [
    { path: "cursor", message: "not a cursor from a previous page of this listing", expected: "the next_cursor of the previous page" },
  ]);
}

/**
 * A store cursor as handed to clients: `<cursor>.<mac>`, the MAC (HMAC-SHA256 with the server
 * secret) binding it to one listing (`scope`, e.g. the project whose workloads are listed). A client
 * can hold it but not make or change one, so no adapter ever sees a cursor it did not issue.
 */
export function signCursor(serverSecret: string, scope: string, cursor: string): string {
  return `${cursor}.${macOf(serverSecret, scope, cursor).toString("base64url")}`;
}

/** The store cursor inside a signed one; a 400 `validation_failed` at path `cursor` for anything else. */
export function openCursor(serverSecret: string, scope: string, signed: string): string {
  const dot = signed.lastIndexOf(".");
  if (signed.length > MAX_CURSOR_LENGTH || dot <= 0) throw invalidCursor();
  const cursor = signed.slice(0, dot);
  const given = Buffer.from(signed.slice(dot + 1), "base64url");
  const expected = macOf(serverSecret, scope, cursor);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalidCursor();
  return cursor;
}
