import { ConditionFailedError } from "../errors";
import type { NewItem, QueryInput, QueryPage, Store, StoreItem, WriteCondition } from "./port";

/** The reference Store: a sorted in-memory map. Used by unit tests and as the contract's baseline. */
export class MemoryStore implements Store {
  private readonly items = new Map<string, StoreItem>();

  constructor(private readonly now: () => number = () => Date.now()) {}

  async get(pk: string, sk: string): Promise<StoreItem | undefined> {
    const item = this.live(this.items.get(keyOf(pk, sk)));
    return item === undefined ? undefined : structuredClone(item);
  }

  async put(item: NewItem, condition: WriteCondition): Promise<StoreItem> {
    const current = this.live(this.items.get(keyOf(item.pk, item.sk)));
    assertCondition(current, condition, item.pk, item.sk);
    const stored: StoreItem = structuredClone({ ...item, version: (current?.version ?? 0) + 1 });
    this.items.set(keyOf(item.pk, item.sk), stored);
    return structuredClone(stored);
  }

  async delete(pk: string, sk: string, condition: WriteCondition = { kind: "any" }): Promise<void> {
    const current = this.live(this.items.get(keyOf(pk, sk)));
    assertCondition(current, condition, pk, sk);
    this.items.delete(keyOf(pk, sk));
  }

  async query(input: QueryInput): Promise<QueryPage> {
    const onIndex = input.index === "gsi1";
    const sortKeyOf = (item: StoreItem) => (onIndex ? (item.gsi1sk ?? "") : item.sk);
    let matches = [...this.items.values()]
      .filter((item) => this.live(item) !== undefined)
      .filter((item) => (onIndex ? item.gsi1pk === input.pk : item.pk === input.pk))
      .filter((item) => input.skPrefix === undefined || sortKeyOf(item).startsWith(input.skPrefix))
      .sort((a, b) => compareKeys(sortKeyOf(a), a.pk, sortKeyOf(b), b.pk));
    if (input.descending) matches.reverse();
    if (input.cursor !== undefined) {
      const after = JSON.parse(Buffer.from(input.cursor, "base64url").toString("utf8")) as [string, string];
      const index = matches.findIndex((item) => item.pk === after[0] && item.sk === after[1]);
      matches = index === -1 ? [] : matches.slice(index + 1);
    }
    const limit = input.limit ?? Number.POSITIVE_INFINITY;
    const page = matches.slice(0, limit);
    const last = page.at(-1);
    const cursor =
      matches.length > limit && last !== undefined
        ? Buffer.from(JSON.stringify([last.pk, last.sk])).toString("base64url")
        : undefined;
    return { items: page.map((item) => structuredClone(item)), ...(cursor === undefined ? {} : { cursor }) };
  }

  private live(item: StoreItem | undefined): StoreItem | undefined {
    if (item === undefined) return undefined;
    if (item.expiresAt !== undefined && item.expiresAt * 1000 <= this.now()) return undefined;
    return item;
  }
}

function keyOf(pk: string, sk: string): string {
  return `${pk}\u0000${sk}`;
}

function compareKeys(aSort: string, aPk: string, bSort: string, bPk: string): number {
  if (aSort !== bSort) return aSort < bSort ? -1 : 1;
  return aPk < bPk ? -1 : aPk > bPk ? 1 : 0;
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
