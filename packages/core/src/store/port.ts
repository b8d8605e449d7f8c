/**
 * The Store port: a single-table, single-item-conditional-write key/value store.
 * Adapters: DynamoDB (`@inferencekey/aws`), the embedded SQLite store (`@inferencekey/local`) and
 * an in-memory one for unit tests. All run the same contract suite (`test/contract/store.ts`).
 *
 * Every write is conditional on the item's `version` (or on its absence), so concurrent writers
 * never lose an update: the loser gets `ConditionFailedError` and re-reads. Writes that must land
 * together (a claim and the record it guards, a write fenced by a lease) go through `transact`:
 * all conditions hold and every write applies, or nothing does.
 */
export interface StoreItem {
  pk: string;
  sk: string;
  /** Secondary index (one GSI, `gsi1`): lets items be found by a second key. */
  gsi1pk?: string;
  gsi1sk?: string;
  /** Starts at 1 on create; every successful put increments it. */
  version: number;
  /** Epoch seconds after which the item may be dropped (DynamoDB TTL). */
  expiresAt?: number;
  data: Record<string, unknown>;
}

export type NewItem = Omit<StoreItem, "version">;

/** `absent`: create only. `version`: replace only if unchanged. `any`: unconditional upsert. */
export type WriteCondition = { kind: "absent" } | { kind: "version"; version: number } | { kind: "any" };

export interface QueryInput {
  /** Partition key value; on `index: "gsi1"` it is matched against `gsi1pk`. */
  pk: string;
  index?: "gsi1";
  /** Only items whose sort key (sk or gsi1sk) starts with this. */
  skPrefix?: string;
  limit?: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
  /** Newest-first (sort key descending). */
  descending?: boolean;
}

export interface QueryPage {
  items: StoreItem[];
  /** Present when more items may follow. */
  cursor?: string;
}

/** A condition a transaction can check: `any` is no check, so it has no place in one. */
export type TransactCondition = Exclude<WriteCondition, { kind: "any" }>;

/** One part of `Store.transact`. */
export type TransactWrite =
  | { kind: "put"; item: NewItem; condition: TransactCondition }
  | { kind: "delete"; pk: string; sk: string; condition: WriteCondition }
  /** Writes nothing: the transaction applies only while this item is as stated (e.g. a lease's version). */
  | { kind: "check"; pk: string; sk: string; condition: TransactCondition };

/** DynamoDB's TransactWriteItems limit; every adapter enforces it so code that runs locally runs in AWS. */
export const MAX_TRANSACT_WRITES = 100;

export interface Store {
  /** Strongly consistent read of one item. */
  get(pk: string, sk: string): Promise<StoreItem | undefined>;
  /** Conditional write; returns the stored item with its new version. Throws ConditionFailedError. */
  put(item: NewItem, condition: WriteCondition): Promise<StoreItem>;
  /** Conditional delete; deleting a missing item with condition `any` is a no-op. */
  delete(pk: string, sk: string, condition?: WriteCondition): Promise<void>;
  /**
   * All or nothing: every condition holds and every write applies, or none does and the first
   * failing part's item is named by `ConditionFailedError`. At most MAX_TRANSACT_WRITES parts, each
   * item at most once (ValidationError otherwise). Returns the items the puts stored, in order.
   */
  transact(writes: readonly TransactWrite[]): Promise<StoreItem[]>;
  /** Items of one partition in sort-key order. gsi1 queries are eventually consistent on DynamoDB. */
  query(input: QueryInput): Promise<QueryPage>;
  close?(): Promise<void>;
}
