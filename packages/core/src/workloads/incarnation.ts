import { createHash } from "node:crypto";
import { base62FromBytes, newId } from "../ids";

/**
 * One life of a workload slug: from its creation, or its re-creation after a delete, to its delete.
 * Generations continue across re-creations (replica identities never repeat) and the workload id is
 * kept while the tombstone lasts, so neither tells two lives apart; the incarnation does. What
 * belongs to one life is keyed by it: the demand signal (request rate, cold requests) today; keys
 * and replica identities can bind to it the same way.
 */
export function newIncarnationId(): string {
  return newId("inc");
}

/** What identifies a stored workload's life. */
export interface IncarnationSource {
  id: string;
  created_at: string;
  incarnation?: string;
}

/**
 * The record's incarnation id. Records written before incarnations existed get one derived from
 * their id and `created_at` (which a re-creation resets): every reader derives the same id without a
 * write, and the next write of the record stores it.
 */
export function workloadIncarnation(record: IncarnationSource): string {
  if (record.incarnation !== undefined) return record.incarnation;
  const digest = createHash("sha256").update(`workload-incarnation\n${record.id}\n${record.created_at}`).digest();
  return `inc_${base62FromBytes(digest, 16)}`;
}
