import { ConditionFailedError } from "../errors";
import type { NewItem, QueryInput, QueryPage, Store, StoreItem, TransactWrite, WriteCondition } from "./port";

/** An item at the version that proves its holder still owns what it guards (a lease). */
export interface Fence {
  pk: string;
  sk: string;
  version: number;
}

/**
 * The fence moved on: another holder took over, so this holder's write was not applied. Not a
 * ConditionFailedError on purpose: code that takes a lost condition for a race to retry (a port
 * taken, a record changed) must stop here instead, since every further write would be refused too.
 */
export class FenceLostError extends Error {
  constructor(readonly fence: Fence) {
    super(`${fence.pk} / ${fence.sk} is no longer at version ${fence.version}: the write was not applied`);
    this.name = "FenceLostError";
  }
}

/** How often an unconditional fenced put re-reads when other writers keep changing the item. */
const UPSERT_ATTEMPTS = 5;

/**
 * A Store whose every write lands only while `fence` is unchanged: each put and delete becomes a
 * transaction with a check on the fence item's version, so a holder whose lease lapsed and was taken
 * over writes nothing more (FenceLostError), even if it is still running. Reads pass through.
 */
export function fencedStore(store: Store, fence: Fence): Store {
  const check: TransactWrite = { kind: "check", pk: fence.pk, sk: fence.sk, condition: { kind: "version", version: fence.version } };
  const fenced = async (writes: readonly TransactWrite[]): Promise<StoreItem[]> => {
    try {
      return await store.transact([check, ...writes]);
    } catch (error) {
      if (error instanceof ConditionFailedError && error.pk === fence.pk && error.sk === fence.sk) throw new FenceLostError(fence);
      throw error;
    }
  };
  return {
    get: (pk, sk) => store.get(pk, sk),
    query: (input: QueryInput): Promise<QueryPage> => store.query(input),
    async put(item: NewItem, condition: WriteCondition): Promise<StoreItem> {
      if (condition.kind !== "any") return (await fenced([{ kind: "put", item, condition }]))[0] as StoreItem;
      // A transaction checks a condition, so an unconditional put is made conditional on what it read.
      for (let attempt = 1; ; attempt++) {
        const current = await store.get(item.pk, item.sk);
        try {
          const written = await fenced([
            { kind: "put", item, condition: current === undefined ? { kind: "absent" } : { kind: "version", version: current.version } },
          ]);
          return written[0] as StoreItem;
        } catch (error) {
          if (error instanceof FenceLostError || !(error instanceof ConditionFailedError) || attempt >= UPSERT_ATTEMPTS) throw error;
        }
      }
    },
    async delete(pk: string, sk: string, condition: WriteCondition = { kind: "any" }): Promise<void> {
      await fenced([{ kind: "delete", pk, sk, condition }]);
    },
    transact: (writes) => fenced(writes),
  };
}
