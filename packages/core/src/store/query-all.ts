import type { QueryInput, Store, StoreItem } from "./port";

/** Every item a query matches, page after page. */
export async function queryAll(store: Store, input: Omit<QueryInput, "cursor">): Promise<StoreItem[]> {
  const out: StoreItem[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.query(cursor === undefined ? input : { ...input, cursor });
    out.push(...page.items);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return out;
}
