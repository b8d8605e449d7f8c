import {
  ConditionFailedError,
  ValidationError,
  type NewItem,
  type QueryInput,
  type Store,
  type StoreItem,
} from "@inferencekey/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

/** Builds a fresh, empty store reading time from `now` (milliseconds since the epoch). */
export type StoreFactory = (now: () => number) => Promise<Store>;

/** A fixed start keeps expiry arithmetic readable; the clock only moves when a test moves it. */
const START_MS = Date.UTC(2030, 0, 1);
const START_S = START_MS / 1000;

/**
 * The one behaviour every Store adapter must have (see `packages/core/src/store/port.ts`).
 * Each case gets a new store, so cases never see each other's items.
 */
export function describeStoreContract(
  name: string,
  factory: StoreFactory,
  options: { transactionsSkipReason?: string; concurrencySkipReason?: string } = {},
): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let nowMs = START_MS;

    beforeEach(async () => {
      nowMs = START_MS;
      store = await factory(() => nowMs);
    });

    afterEach(async () => {
      await store.close?.();
    });

    describe("create if absent", () => {
      it("creates a missing item at version 1 and reads it back", async () => {
        // Prepare
        const item: NewItem = {
          pk: "proj#1",
          sk: "meta",
          gsi1pk: "owner#a",
          gsi1sk: "proj#1",
          data: { name: "one" },
        };

        // Act
        const stored = await store.put(item, { kind: "absent" });

        // Assess
        expect(stored).toEqual({ ...item, version: 1 });
        expect(await store.get("proj#1", "meta")).toEqual({ ...item, version: 1 });
      });

      it("refuses a second create and leaves the first item as it was", async () => {
        // Prepare
        await store.put({ pk: "proj#1", sk: "meta", data: { name: "first" } }, { kind: "absent" });

        // Act
        const second = store.put({ pk: "proj#1", sk: "meta", data: { name: "second" } }, { kind: "absent" });

        // Assess
        await expect(second).rejects.toBeInstanceOf(ConditionFailedError);
        await expect(second).rejects.toMatchObject({ pk: "proj#1", sk: "meta" });
        expect(await store.get("proj#1", "meta")).toEqual({
          pk: "proj#1",
          sk: "meta",
          version: 1,
          data: { name: "first" },
        });
      });

      it("returns undefined for an item never written", async () => {
        expect(await store.get("proj#missing", "meta")).toBeUndefined();
      });
    });

    describe("versions", () => {
      it("increments the version on every successful put, conditional or not", async () => {
        // Prepare
        const key = { pk: "counter", sk: "c" };
        await store.put({ ...key, data: { n: 0 } }, { kind: "absent" });

        // Act
        const second = await store.put({ ...key, data: { n: 1 } }, { kind: "version", version: 1 });
        const third = await store.put({ ...key, data: { n: 2 } }, { kind: "version", version: 2 });
        const fourth = await store.put({ ...key, data: { n: 3 } }, { kind: "any" });

        // Assess
        expect([second.version, third.version, fourth.version]).toEqual([2, 3, 4]);
        expect(await store.get(key.pk, key.sk)).toEqual({ ...key, version: 4, data: { n: 3 } });
      });

      it("creates at version 1 on an unconditional put of a missing item", async () => {
        const stored = await store.put({ pk: "p", sk: "s", data: { a: 1 } }, { kind: "any" });

        expect(stored.version).toBe(1);
        expect(await store.get("p", "s")).toEqual({ pk: "p", sk: "s", version: 1, data: { a: 1 } });
      });

      it("rejects a put with a stale version and leaves the item unchanged", async () => {
        // Prepare
        const key = { pk: "wl#1", sk: "spec" };
        await store.put({ ...key, gsi1pk: "g", gsi1sk: "1", data: { gen: 1 } }, { kind: "absent" });
        await store.put(
          { ...key, gsi1pk: "g", gsi1sk: "1", data: { gen: 2 } },
          { kind: "version", version: 1 },
        );
        const before = await store.get(key.pk, key.sk);

        // Act
        const stale = store.put({ ...key, data: { gen: 99 } }, { kind: "version", version: 1 });

        // Assess
        await expect(stale).rejects.toBeInstanceOf(ConditionFailedError);
        expect(before).toEqual({ ...key, gsi1pk: "g", gsi1sk: "1", version: 2, data: { gen: 2 } });
        expect(await store.get(key.pk, key.sk)).toEqual(before);
      });

      it("rejects a version-conditional put of a missing item and creates nothing", async () => {
        const put = store.put({ pk: "p", sk: "s", data: {} }, { kind: "version", version: 1 });

        await expect(put).rejects.toBeInstanceOf(ConditionFailedError);
        expect(await store.get("p", "s")).toBeUndefined();
      });

      it("drops the optional keys a replacing put leaves out", async () => {
        // Prepare
        await store.put(
          { pk: "p", sk: "s", gsi1pk: "g", gsi1sk: "x", expiresAt: START_S + 3600, data: { a: 1 } },
          { kind: "absent" },
        );

        // Act
        const byVersion = await store.put(
          { pk: "p", sk: "s", data: { a: 2 } },
          { kind: "version", version: 1 },
        );
        await store.put(
          { pk: "p", sk: "t", gsi1pk: "g", gsi1sk: "y", expiresAt: START_S + 3600, data: {} },
          { kind: "absent" },
        );
        const unconditional = await store.put({ pk: "p", sk: "t", data: { b: 1 } }, { kind: "any" });

        // Assess
        expect(byVersion).toEqual({ pk: "p", sk: "s", version: 2, data: { a: 2 } });
        expect(unconditional).toEqual({ pk: "p", sk: "t", version: 2, data: { b: 1 } });
        expect(await store.get("p", "s")).toEqual(byVersion);
        expect(await store.get("p", "t")).toEqual(unconditional);
        expect((await store.query({ pk: "g", index: "gsi1" })).items).toEqual([]);
      });
    });

    describe("delete", () => {
      it("deletes on the current version and refuses a stale one", async () => {
        // Prepare
        await store.put({ pk: "p", sk: "s", data: {} }, { kind: "absent" });
        await store.put({ pk: "p", sk: "s", data: { v: 2 } }, { kind: "version", version: 1 });

        // Act
        const stale = store.delete("p", "s", { kind: "version", version: 1 });

        // Assess
        await expect(stale).rejects.toBeInstanceOf(ConditionFailedError);
        expect((await store.get("p", "s"))?.version).toBe(2);
        await store.delete("p", "s", { kind: "version", version: 2 });
        expect(await store.get("p", "s")).toBeUndefined();
      });

      it("deletes unconditionally by default and treats a missing item as done", async () => {
        await store.put({ pk: "p", sk: "s", data: {} }, { kind: "absent" });

        await store.delete("p", "s");
        await store.delete("p", "s");
        await store.delete("p", "never", { kind: "any" });

        expect(await store.get("p", "s")).toBeUndefined();
      });

      it("refuses a version-conditional delete of a missing item", async () => {
        await expect(store.delete("p", "s", { kind: "version", version: 1 })).rejects.toBeInstanceOf(
          ConditionFailedError,
        );
      });

      it("with condition absent, refuses to delete a live item", async () => {
        await store.put({ pk: "p", sk: "s", data: {} }, { kind: "absent" });

        await expect(store.delete("p", "s", { kind: "absent" })).rejects.toBeInstanceOf(ConditionFailedError);
        expect((await store.get("p", "s"))?.version).toBe(1);
      });

      it("lets a deleted key be created again from version 1", async () => {
        await store.put({ pk: "p", sk: "s", data: { life: 1 } }, { kind: "absent" });
        await store.put({ pk: "p", sk: "s", data: { life: 1 } }, { kind: "any" });
        await store.delete("p", "s", { kind: "version", version: 2 });

        const reborn = await store.put({ pk: "p", sk: "s", data: { life: 2 } }, { kind: "absent" });

        expect(reborn.version).toBe(1);
      });
    });

    describe("query", () => {
      const sks = ["b", "d", "a", "e", "c"];

      beforeEach(async () => {
        for (const sk of sks) await store.put({ pk: "part", sk, data: { sk } }, { kind: "absent" });
        await store.put({ pk: "other", sk: "a", data: {} }, { kind: "absent" });
        await store.put({ pk: "part-2", sk: "a", data: {} }, { kind: "absent" });
      });

      it("returns one partition in ascending sort-key order", async () => {
        const page = await store.query({ pk: "part" });

        expect(page.items.map((item) => item.sk)).toEqual(["a", "b", "c", "d", "e"]);
        expect(page.items.every((item) => item.pk === "part")).toBe(true);
        expect(page.items[0]).toEqual({ pk: "part", sk: "a", version: 1, data: { sk: "a" } });
        expect(page.cursor).toBeUndefined();
      });

      it("returns descending order when asked", async () => {
        const page = await store.query({ pk: "part", descending: true });

        expect(page.items.map((item) => item.sk)).toEqual(["e", "d", "c", "b", "a"]);
      });

      it("returns an empty page for an empty partition", async () => {
        expect(await store.query({ pk: "nothing-here" })).toEqual({ items: [] });
      });

      it("keeps only sort keys starting with skPrefix, in both directions", async () => {
        // Prepare
        for (const sk of [
          "job#2",
          "job#10",
          "job#1",
          "job",
          "jobs#1",
          "jo",
          "k",
          "job#\u00e9",
          "job#\uffff",
        ]) {
          await store.put({ pk: "prefixed", sk, data: {} }, { kind: "absent" });
        }

        // Act
        const ascending = await store.query({ pk: "prefixed", skPrefix: "job#" });
        const descending = await store.query({ pk: "prefixed", skPrefix: "job#", descending: true });

        // Assess
        const expected = ["job#1", "job#10", "job#2", "job#\u00e9", "job#\uffff"];
        expect(ascending.items.map((item) => item.sk)).toEqual(expected);
        expect(descending.items.map((item) => item.sk)).toEqual([...expected].reverse());
      });
    });

    describe("gsi1", () => {
      beforeEach(async () => {
        // Items of different partitions that share an owner: the index finds them by owner.
        const rows: Array<[string, string | undefined]> = [
          ["wl#3", "2030-01-03"],
          ["wl#1", "2030-01-01"],
          ["wl#2", "2030-01-02"],
          ["wl#4", undefined],
        ];
        for (const [pk, created] of rows) {
          await store.put(
            {
              pk,
              sk: "meta",
              ...(created === undefined ? {} : { gsi1pk: "owner#a", gsi1sk: `created#${created}` }),
              data: { pk },
            },
            { kind: "absent" },
          );
        }
        await store.put(
          { pk: "wl#9", sk: "meta", gsi1pk: "owner#b", gsi1sk: "created#2030-01-01", data: {} },
          {
            kind: "absent",
          },
        );
        await store.put(
          { pk: "wl#1", sk: "tag", gsi1pk: "owner#a", gsi1sk: "tag#blue", data: {} },
          {
            kind: "absent",
          },
        );
      });

      it("finds items by gsi1pk, ordered by gsi1sk", async () => {
        const page = await store.query({ pk: "owner#a", index: "gsi1" });

        expect(page.items.map((item) => [item.pk, item.sk])).toEqual([
          ["wl#1", "meta"],
          ["wl#2", "meta"],
          ["wl#3", "meta"],
          ["wl#1", "tag"],
        ]);
        expect(page.items[0]).toEqual({
          pk: "wl#1",
          sk: "meta",
          gsi1pk: "owner#a",
          gsi1sk: "created#2030-01-01",
          version: 1,
          data: { pk: "wl#1" },
        });
      });

      it("applies skPrefix to gsi1sk and honours descending", async () => {
        const page = await store.query({
          pk: "owner#a",
          index: "gsi1",
          skPrefix: "created#",
          descending: true,
        });

        expect(page.items.map((item) => item.gsi1sk)).toEqual([
          "created#2030-01-03",
          "created#2030-01-02",
          "created#2030-01-01",
        ]);
      });

      it("does not match a gsi1pk value against the table's pk, nor the reverse", async () => {
        expect((await store.query({ pk: "wl#1", index: "gsi1" })).items).toEqual([]);
        expect((await store.query({ pk: "owner#a" })).items).toEqual([]);
      });
    });

    describe("pagination", () => {
      /** Follows cursors to the end; every page must respect the limit. */
      async function readAll(
        input: QueryInput,
        limit: number,
      ): Promise<{ items: StoreItem[]; pages: number }> {
        const items: StoreItem[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.query({ ...input, limit, ...(cursor === undefined ? {} : { cursor }) });
          expect(page.items.length).toBeLessThanOrEqual(limit);
          items.push(...page.items);
          cursor = page.cursor;
          pages++;
          expect(pages).toBeLessThan(100);
        } while (cursor !== undefined);
        return { items, pages };
      }

      const keyOf = (item: StoreItem) => `${item.pk}|${item.sk}`;

      beforeEach(async () => {
        for (let i = 0; i < 23; i++) {
          const sk = `item#${String(i).padStart(3, "0")}`;
          // Several items share each gsi1sk: ties must not make a page boundary skip or repeat one.
          await store.put(
            { pk: "paged", sk, gsi1pk: "bucket", gsi1sk: `t#${i % 4}`, data: { i } },
            { kind: "absent" },
          );
        }
      });

      it("walks several pages in order with no duplicates or gaps", async () => {
        const all = (await store.query({ pk: "paged" })).items;

        const { items, pages } = await readAll({ pk: "paged" }, 5);

        expect(all).toHaveLength(23);
        expect(pages).toBeGreaterThanOrEqual(5);
        expect(items.map(keyOf)).toEqual(all.map(keyOf));
      });

      it("walks descending pages the same way", async () => {
        const { items } = await readAll({ pk: "paged", descending: true }, 4);

        const expected = Array.from(
          { length: 23 },
          (_, i) => `paged|item#${String(22 - i).padStart(3, "0")}`,
        );
        expect(items.map(keyOf)).toEqual(expected);
      });

      it("walks gsi1 pages across ties in gsi1sk with no duplicates or gaps", async () => {
        for (const descending of [false, true]) {
          const { items } = await readAll({ pk: "bucket", index: "gsi1", descending }, 3);

          const keys = items.map(keyOf);
          expect(new Set(keys).size).toBe(23);
          expect(keys).toHaveLength(23);
          const sortKeys = items.map((item) => item.gsi1sk ?? "");
          expect(sortKeys).toEqual(descending ? [...sortKeys].sort().reverse() : [...sortKeys].sort());
        }
      });

      it("keeps paging stable when items are added ahead of and behind the cursor", async () => {
        // Prepare
        const first = await store.query({ pk: "paged", limit: 10 });
        expect(first.cursor).toBeDefined();

        // Act
        await store.put({ pk: "paged", sk: "item#000a", data: {} }, { kind: "absent" });
        await store.put({ pk: "paged", sk: "item#050", data: {} }, { kind: "absent" });
        const rest = await store.query({
          pk: "paged",
          ...(first.cursor === undefined ? {} : { cursor: first.cursor }),
        });

        // Assess
        const expected = Array.from({ length: 13 }, (_, i) => `item#${String(i + 10).padStart(3, "0")}`);
        expect(rest.items.map((item) => item.sk)).toEqual([...expected, "item#050"]);
      });

      it("keeps paging when the item the cursor names is deleted between pages", async () => {
        // Prepare
        const first = await store.query({ pk: "paged", limit: 10 });
        const last = first.items.at(-1);

        // Act
        if (last) await store.delete(last.pk, last.sk);
        const rest = await store.query({ pk: "paged", ...(first.cursor === undefined ? {} : { cursor: first.cursor }) });

        // Assess
        expect(rest.items.map((item) => item.sk)).toEqual(Array.from({ length: 13 }, (_, i) => `item#${String(i + 10).padStart(3, "0")}`));
      });

      it("leaves items with only half of the gsi1 keys out of the index", async () => {
        await store.put({ pk: "half", sk: "1", gsi1pk: "half-index", data: {} }, { kind: "absent" });
        await store.put({ pk: "half", sk: "2", gsi1pk: "half-index", gsi1sk: "b", data: {} }, { kind: "absent" });

        const page = await store.query({ pk: "half-index", index: "gsi1" });

        expect(page.items.map((item) => item.sk)).toEqual(["2"]);
      });

      it("rejects a cursor it did not issue with a ValidationError naming the cursor", async () => {
        await expect(store.query({ pk: "paged", cursor: "not-a-cursor" })).rejects.toMatchObject({ details: [{ path: "cursor" }] });
      });

      it("a cursor of another partition, index or prefix is a page position or a ValidationError naming the cursor, never another failure", async () => {
        // Prepare: real cursors of other queries, handed to a query they do not belong to.
        await store.put({ pk: "other", sk: "item#000", data: {} }, { kind: "absent" });
        await store.put({ pk: "other", sk: "item#001", data: {} }, { kind: "absent" });
        const foreign = [
          (await store.query({ pk: "other", limit: 1 })).cursor,
          (await store.query({ pk: "bucket", index: "gsi1", limit: 1 })).cursor,
          (await store.query({ pk: "paged", skPrefix: "item#00", limit: 1 })).cursor,
        ];
        const misuses: QueryInput[] = foreign.flatMap((cursor) =>
          cursor === undefined ? [] : [{ pk: "paged", cursor }, { pk: "bucket", index: "gsi1", cursor }, { pk: "paged", skPrefix: "item#01", cursor }],
        );

        // Act
        const outcomes = await Promise.all(
          misuses.map((input) =>
            store.query(input).then(
              () => "page",
              (error: unknown) => ((error as { details?: { path?: string }[] }).details?.[0]?.path === "cursor" ? "refused" : String(error)),
            ),
          ),
        );

        // Assess
        expect(foreign.every((cursor) => cursor !== undefined)).toBe(true);
        for (const outcome of outcomes) expect(["page", "refused"]).toContain(outcome);
      });

      it("walks a prefix-filtered partition page by page", async () => {
        for (const sk of ["a#1", "a#2", "a#3", "b#1"])
          await store.put({ pk: "paged", sk, data: {} }, { kind: "absent" });

        const { items } = await readAll({ pk: "paged", skPrefix: "a#" }, 2);

        expect(items.map((item) => item.sk)).toEqual(["a#1", "a#2", "a#3"]);
      });
    });

    describe("expiry", () => {
      it("hides an item once its expiresAt has passed, from get and from queries", async () => {
        // Prepare
        await store.put(
          { pk: "lease", sk: "l1", gsi1pk: "leases", gsi1sk: "l1", expiresAt: START_S + 60, data: {} },
          { kind: "absent" },
        );
        await store.put(
          { pk: "lease", sk: "l2", gsi1pk: "leases", gsi1sk: "l2", expiresAt: START_S + 3600, data: {} },
          { kind: "absent" },
        );
        const before = await store.get("lease", "l1");

        // Act
        nowMs = START_MS + 60_000;

        // Assess
        expect(before?.expiresAt).toBe(START_S + 60);
        expect(await store.get("lease", "l1")).toBeUndefined();
        expect((await store.query({ pk: "lease" })).items.map((item) => item.sk)).toEqual(["l2"]);
        expect((await store.query({ pk: "leases", index: "gsi1" })).items.map((item) => item.sk)).toEqual([
          "l2",
        ]);
        expect(await store.get("lease", "l2")).toBeDefined();
      });

      it("pages over expired items without returning them", async () => {
        // Prepare
        for (let i = 0; i < 9; i++) {
          const expiresAt = i % 3 === 0 ? START_S + 3600 : START_S + 1;
          await store.put({ pk: "mixed", sk: `m#${i}`, expiresAt, data: {} }, { kind: "absent" });
        }
        nowMs = START_MS + 1000;

        // Act
        const items: StoreItem[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.query({
            pk: "mixed",
            limit: 2,
            ...(cursor === undefined ? {} : { cursor }),
          });
          items.push(...page.items);
          cursor = page.cursor;
        } while (cursor !== undefined);

        // Assess
        expect(items.map((item) => item.sk)).toEqual(["m#0", "m#3", "m#6"]);
      });

      it("treats an expired item as absent for conditions", async () => {
        // Prepare
        await store.put(
          { pk: "lease", sk: "l", expiresAt: START_S + 60, data: { owner: "a" } },
          { kind: "absent" },
        );
        await store.put({ pk: "lease", sk: "m", expiresAt: START_S + 60, data: {} }, { kind: "absent" });
        await store.put({ pk: "lease", sk: "n", expiresAt: START_S + 60, data: {} }, { kind: "absent" });
        nowMs = START_MS + 61_000;

        // Act
        const staleVersion = await store
          .put({ pk: "lease", sk: "l", data: { owner: "a" } }, { kind: "version", version: 1 })
          .catch((error: unknown) => error);
        const retaken = await store.put(
          { pk: "lease", sk: "l", expiresAt: START_S + 120, data: { owner: "b" } },
          { kind: "absent" },
        );
        const overwritten = await store.put({ pk: "lease", sk: "m", data: { fresh: true } }, { kind: "any" });

        // Assess
        expect(staleVersion).toBeInstanceOf(ConditionFailedError);
        expect(retaken).toEqual({
          pk: "lease",
          sk: "l",
          version: 1,
          expiresAt: START_S + 120,
          data: { owner: "b" },
        });
        expect(await store.get("lease", "l")).toEqual(retaken);
        expect(overwritten).toEqual({ pk: "lease", sk: "m", version: 1, data: { fresh: true } });
        await expect(store.delete("lease", "n", { kind: "version", version: 1 })).rejects.toBeInstanceOf(
          ConditionFailedError,
        );
        await store.delete("lease", "n", { kind: "absent" });
      });

      it("keeps an item visible until the clock reaches expiresAt", async () => {
        await store.put({ pk: "p", sk: "s", expiresAt: START_S + 10, data: {} }, { kind: "absent" });

        nowMs = START_MS + 9_999;

        expect(await store.get("p", "s")).toBeDefined();
        expect((await store.query({ pk: "p" })).items).toHaveLength(1);
      });
    });

    describe("data", () => {
      it("round-trips nested JSON exactly", async () => {
        // Prepare
        const data = {
          text: "héllo wörld, 日本語, emoji 😀👍🏽, quotes \"'`, backslash \\, newline\n, tab\t",
          empty: "",
          integer: 42,
          negative: -17,
          float: 0.1 + 0.2,
          small: 1.5e-7,
          large: Number.MAX_SAFE_INTEGER,
          zero: 0,
          yes: true,
          no: false,
          nothing: null,
          list: [1, "two", false, null, { three: [3] }, []],
          nested: { deeper: { deepest: { leaf: "ok", values: [0.5, -0.25] } }, emptyObject: {} },
          "key with spaces": 1,
          "dotted.key#and:colon": "fine",
        };

        // Act
        const stored = await store.put({ pk: "data", sk: "d", data }, { kind: "absent" });
        const read = await store.get("data", "d");
        const listed = (await store.query({ pk: "data" })).items[0];

        // Assess
        expect(stored.data).toEqual(data);
        expect(read?.data).toEqual(data);
        expect(listed?.data).toEqual(data);
      });

      it("does not let the caller's later mutations reach the stored item", async () => {
        const data = { list: [1, 2], inner: { a: 1 } };
        const stored = await store.put({ pk: "p", sk: "s", data }, { kind: "absent" });

        data.list.push(3);
        data.inner.a = 2;
        (stored.data.inner as { a: number }).a = 3;

        expect((await store.get("p", "s"))?.data).toEqual({ list: [1, 2], inner: { a: 1 } });
      });
    });

    // An emulator that does not serialize concurrent conditional writes (moto) says so; dynalite,
    // SQLite and memory run these.
    const describeConcurrency = options.concurrencySkipReason === undefined ? describe : describe.skip;
    describeConcurrency(`concurrency${options.concurrencySkipReason === undefined ? "" : ` (skipped: ${options.concurrencySkipReason})`}`, () => {
      it("ends 20 parallel read-modify-write increments at exactly 20", async () => {
        // Prepare
        await store.put({ pk: "counter", sk: "hits", data: { count: 0 } }, { kind: "absent" });
        let conflicts = 0;
        const increment = async (): Promise<void> => {
          for (;;) {
            const current = await store.get("counter", "hits");
            if (current === undefined) throw new Error("counter vanished");
            try {
              await store.put(
                { pk: "counter", sk: "hits", data: { count: (current.data.count as number) + 1 } },
                { kind: "version", version: current.version },
              );
              return;
            } catch (error) {
              if (!(error instanceof ConditionFailedError)) throw error;
              conflicts++;
            }
          }
        };

        // Act
        await Promise.all(Array.from({ length: 20 }, increment));

        // Assess
        const final = await store.get("counter", "hits");
        expect(final?.data.count).toBe(20);
        expect(final?.version).toBe(21);
        // Proof the case raced: with no conflict at all it would not test the condition.
        expect(conflicts).toBeGreaterThan(0);
      });

      it("lets exactly one of 10 parallel creates of the same key win", async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) =>
            store.put({ pk: "once", sk: "o", data: { i } }, { kind: "absent" }),
          ),
        );

        const won = results.filter((result) => result.status === "fulfilled");
        const lost = results.filter((result) => result.status === "rejected");
        expect(won).toHaveLength(1);
        expect(lost.every((result) => result.reason instanceof ConditionFailedError)).toBe(true);
      });
    });

    // An emulator without TransactWriteItems (dynalite) says so; the same adapter runs these on moto.
    const describeTransactions = options.transactionsSkipReason === undefined ? describe : describe.skip;
    describeTransactions(`transact${options.transactionsSkipReason === undefined ? "" : ` (skipped: ${options.transactionsSkipReason})`}`, () => {
      it("applies every part together and returns the stored puts", async () => {
        // Prepare
        await store.put({ pk: "lease", sk: "l", data: { holder: "a" } }, { kind: "absent" });
        const old = await store.put({ pk: "job", sk: "old", data: {} }, { kind: "absent" });
        const claim = await store.put({ pk: "claim", sk: "c", data: { n: 1 } }, { kind: "absent" });

        // Act
        const stored = await store.transact([
          { kind: "check", pk: "lease", sk: "l", condition: { kind: "version", version: 1 } },
          { kind: "put", item: { pk: "job", sk: "new", gsi1pk: "jobs", gsi1sk: "new", data: { n: 2 } }, condition: { kind: "absent" } },
          { kind: "put", item: { pk: "claim", sk: "c", data: { n: 3 } }, condition: { kind: "version", version: claim.version } },
          { kind: "delete", pk: "job", sk: "old", condition: { kind: "version", version: old.version } },
        ]);

        // Assess
        expect(stored).toEqual([
          { pk: "job", sk: "new", gsi1pk: "jobs", gsi1sk: "new", version: 1, data: { n: 2 } },
          { pk: "claim", sk: "c", version: 2, data: { n: 3 } },
        ]);
        expect(await store.get("job", "new")).toEqual(stored[0]);
        expect(await store.get("claim", "c")).toEqual(stored[1]);
        expect(await store.get("job", "old")).toBeUndefined();
        expect((await store.get("lease", "l"))?.version).toBe(1);
        expect((await store.query({ pk: "jobs", index: "gsi1" })).items).toHaveLength(1);
      });

      it("applies nothing when one condition fails, and names that item", async () => {
        // Prepare: the lease moved on (version 2), so a write fenced by version 1 must not land.
        await store.put({ pk: "lease", sk: "l", data: { holder: "a" } }, { kind: "absent" });
        await store.put({ pk: "lease", sk: "l", data: { holder: "b" } }, { kind: "version", version: 1 });
        await store.put({ pk: "job", sk: "old", data: {} }, { kind: "absent" });

        // Act
        const attempt = store.transact([
          { kind: "put", item: { pk: "job", sk: "new", data: {} }, condition: { kind: "absent" } },
          { kind: "delete", pk: "job", sk: "old", condition: { kind: "any" } },
          { kind: "check", pk: "lease", sk: "l", condition: { kind: "version", version: 1 } },
        ]);

        // Assess
        await expect(attempt).rejects.toBeInstanceOf(ConditionFailedError);
        await expect(attempt).rejects.toMatchObject({ pk: "lease", sk: "l" });
        expect(await store.get("job", "new")).toBeUndefined();
        expect(await store.get("job", "old")).toBeDefined();
      });

      it("checks absence, and an expired item counts as absent", async () => {
        // Prepare
        await store.put({ pk: "claim", sk: "port#20000", expiresAt: START_S + 10, data: {} }, { kind: "absent" });
        await store.put({ pk: "claim", sk: "port#20001", data: {} }, { kind: "absent" });
        nowMs = START_MS + 11_000;

        // Act
        const [claimed] = await store.transact([
          { kind: "put", item: { pk: "claim", sk: "port#20000", data: { replica: "r1" } }, condition: { kind: "absent" } },
          { kind: "check", pk: "claim", sk: "port#20002", condition: { kind: "absent" } },
        ]);
        const taken = store.transact([
          { kind: "put", item: { pk: "claim", sk: "port#20001", data: { replica: "r2" } }, condition: { kind: "absent" } },
        ]);

        // Assess
        expect(claimed).toEqual({ pk: "claim", sk: "port#20000", version: 1, data: { replica: "r1" } });
        await expect(taken).rejects.toMatchObject({ pk: "claim", sk: "port#20001" });
      });

      it("refuses an empty transaction and one naming an item twice, touching nothing", async () => {
        // Act
        const empty = store.transact([]);
        const twice = store.transact([
          { kind: "put", item: { pk: "a", sk: "1", data: {} }, condition: { kind: "absent" } },
          { kind: "check", pk: "a", sk: "1", condition: { kind: "absent" } },
        ]);

        // Assess
        await expect(empty).rejects.toBeInstanceOf(ValidationError);
        await expect(twice).rejects.toMatchObject({ details: [{ path: "writes.1" }] });
        expect(await store.get("a", "1")).toBeUndefined();
      });

      const itConcurrently = options.concurrencySkipReason === undefined ? it : it.skip;
      itConcurrently("lets exactly one of 8 parallel transactions fenced by the same version win", async () => {
        // Prepare
        await store.put({ pk: "lease", sk: "l", data: {} }, { kind: "absent" });

        // Act: each bumps the lease from version 1 and writes its own item; only one may land.
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) =>
            store.transact([
              { kind: "put", item: { pk: "lease", sk: "l", data: { holder: i } }, condition: { kind: "version", version: 1 } },
              { kind: "put", item: { pk: "tick", sk: `t${i}`, data: {} }, condition: { kind: "absent" } },
            ]),
          ),
        );

        // Assess
        expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
        expect((await store.query({ pk: "tick" })).items).toHaveLength(1);
        expect((await store.get("lease", "l"))?.version).toBe(2);
      });
    });
  });
}
