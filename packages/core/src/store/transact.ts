import { ValidationError } from "../errors";
import { MAX_TRANSACT_WRITES, type TransactWrite } from "./port";

/** The item a transaction part is about. */
export function transactKey(write: TransactWrite): { pk: string; sk: string } {
  return write.kind === "put" ? { pk: write.item.pk, sk: write.item.sk } : { pk: write.pk, sk: write.sk };
}

/**
 * What every adapter refuses before touching anything, with DynamoDB's own rules: no empty
 * transaction, at most MAX_TRANSACT_WRITES parts, each item at most once.
 */
export function assertTransactShape(writes: readonly TransactWrite[]): void {
  if (writes.length === 0 || writes.length > MAX_TRANSACT_WRITES) {
    throw new ValidationError(`A transaction holds 1 to ${MAX_TRANSACT_WRITES} writes.`, [
      { path: "writes", message: `expected 1 to ${MAX_TRANSACT_WRITES} writes`, received: writes.length },
    ]);
  }
  const seen = new Set<string>();
  for (const [index, write] of writes.entries()) {
    const { pk, sk } = transactKey(write);
    const key = `${pk}\u0000${sk}`;
    if (seen.has(key)) {
      throw new ValidationError("A transaction names each item at most once.", [
        { path: `writes.${index}`, message: "item already in this transaction", received: `${pk} / ${sk}` },
      ]);
    }
    seen.add(key);
  }
}
