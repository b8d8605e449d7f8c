import { ConditionFailedError, ValidationError } from "../errors";
import type { NewItem, QueryInput, QueryPage, Store, StoreItem, TransactWrite, WriteCondition } from "./port";
import { assertTransactShape, transactKey } from "./transact";

/**
 * The reference Store: an in-memory map, indexed by partition and by gsi1 partition so a query
 * reads only its partition (benchmarks hold tens of thousands of items). Used by unit tests,
 * benchmarks and as the contract's baseline.
 */
export class MemoryStore implements Store {
  private readonly items = new Map<string, StoreItem>();
  /** pk -> keys of its items; gsi1pk -> keys of the items in that index partition. */
  private readonly partitions = new Map<string, Set<string>>();
  private readonly gsiPartitions = new Map<string, Set<string>>();

  constructor(private readonly now: () => number = () => Date.now()) {}

  async get(pk: string, sk: string): Promise<StoreItem | undefined> {
    const item = this.live(this.items.get(keyOf(pk, sk)));
    return item === undefined ? undefined : structuredClone(item);
  }

  async put(item: NewItem, condition: WriteCondition): Promise<StoreItem> {
    const current = this.live(this.items.get(keyOf(item.pk, item.sk)));
    assertCondition(current, condition, item.pk, item.sk);
    return this.write(item, current);
  }

  async delete(pk: string, sk: string, condition: WriteCondition = { kind: "any" }): Promise<void> {
    const current = this.live(this.items.get(keyOf(pk, sk)));
    assertCondition(current, condition, pk, sk);
    this.remove(keyOf(pk, sk));
  }

  async transact(writes: readonly TransactWrite[]): Promise<StoreItem[]> {
    assertTransactShape(writes);
    // Every condition first, then every write: one JavaScript turn, so nothing interleaves.
    for (const write of writes) {
      const { pk, sk } = transactKey(write);
      assertCondition(this.live(this.items.get(keyOf(pk, sk))), write.condition, pk, sk);
    }
    const stored: StoreItem[] = [];
    for (const write of writes) {
      if (write.kind === "put") stored.push(this.write(write.item, this.live(this.items.get(keyOf(write.item.pk, write.item.sk)))));
      else if (write.kind === "delete") this.remove(keyOf(write.pk, write.sk));
    }
    return stored;
  }

  async query(input: QueryInput): Promise<QueryPage> {
    const onIndex = input.index === "gsi1";
    const sortKeyOf = (item: StoreItem) => (onIndex ? (item.gsi1sk ?? "") : item.sk);
    // Like a DynamoDB GSI, an item is in gsi1 only when it has both gsi1 keys.
    const partition = (onIndex ? this.gsiPartitions : this.partitions).get(input.pk) ?? new Set<string>();
    let matches = [...partition]
      .map((key) => this.items.get(key) as StoreItem)
      .filter((item) => this.live(item) !== undefined)
      .filter((item) => (onIndex ? item.gsi1pk === input.pk && item.gsi1sk !== undefined : item.pk === input.pk))
      .filter((item) => input.skPrefix === undefined || sortKeyOf(item).startsWith(input.skPrefix))
      .sort((a, b) => compareKeys([sortKeyOf(a), a.pk, a.sk], [sortKeyOf(b), b.pk, b.sk]));
    if (input.descending) matches.reverse();
    if (input.cursor !== undefined) {
      // The cursor is the last item's keys, not a position: deleting it between pages loses nothing.
      const after = decodeCursor(input.cursor);
      matches = matches.filter((item) => {
        const order = compareKeys([sortKeyOf(item), item.pk, item.sk], after);
        return input.descending ? order < 0 : order > 0;
      });
    }
    const limit = input.limit ?? Number.POSITIVE_INFINITY;
    const page = matches.slice(0, limit);
    const last = page.at(-1);
    const cursor =
      matches.length > limit && last !== undefined
        ? Buffer.from(JSON.stringify([sortKeyOf(last), last.pk, last.sk])).toString("base64url")
        : undefined;
    return { items: page.map((item) => structuredClone(item)), ...(cursor === undefined ? {} : { cursor }) };
  }

  private write(item: NewItem, current: StoreItem | undefined): StoreItem {
    const stored: StoreItem = structuredClone({ ...item, version: (current?.version ?? 0) + 1 });
    const key = keyOf(item.pk, item.sk);
    this.remove(key);
    this.items.set(key, stored);
    indexAdd(this.partitions, stored.pk, key);
    if (stored.gsi1pk !== undefined) indexAdd(this.gsiPartitions, stored.gsi1pk, key);
    return structuredClone(stored);
  }

  private remove(key: string): void {
    const item = this.items.get(key);
    if (item === undefined) return;
    this.items.delete(key);
    indexDelete(this.partitions, item.pk, key);
    if (item.gsi1pk !== undefined) indexDelete(this.gsiPartitions, item.gsi1pk, key);
  }

  private live(item: StoreItem | undefined): StoreItem | undefined {
    if (item === undefined) return undefined;
    if (item.expiresAt !== undefined && item.expiresAt * 1000 <= this.now()) return undefined;
    return item;
  }
}

function indexAdd(index: Map<string, Set<string>>, name: string, key: string): void {
  let keys = index.get(name);
  if (keys === undefined) {
    keys = new Set();
    index.set(name, keys);
  }
  keys.add(key);
}

function indexDelete(index: Map<string, Set<string>>, name: string, key: string): void {
  const keys = index.get(name);
  keys?.delete(key);
  if (keys?.size === 0) index.delete(name);
}

function keyOf(pk: string, sk: string): string {
  return `${pk}\u0000${sk}`;
}

/** Compares key tuples in UTF-8 byte order, as DynamoDB and SQLite do (not JavaScript's UTF-16 order). */
function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) {
    const order = Buffer.compare(Buffer.from(a[i] ?? ""), Buffer.from(b[i] ?? ""));
    if (order !== 0) return order;
  }
  return 0;
}

function decodeCursor(cursor: string): [string, string, string] {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(parsed) && parsed.length === 3 && parsed.every((p) => typeof p === "string")) return parsed as [string, string, string];
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError("The cursor is not one this API issued.", [{ path: "cursor", message: "invalid cursor", received: cursor }]);
}

/** Shared by adapters that evaluate conditions themselves (memory, SQLite). */
export function assertCondition(
  current: StoreItem | undefined,
  condition: WriteCondition,
  pk: string,
  sk: string,
): void {
  if (condition.kind === "absent" && current !== undefined) throw new ConditionFailedError(pk, sk);
  if (condition.kind === "version" && current?.version !== condition.version) throw new ConditionFailedError(pk, sk);
}
