import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import {
  assertCondition,
  assertTransactShape,
  type NewItem,
  type QueryInput,
  type QueryPage,
  type Store,
  type StoreItem,
  type TransactWrite,
  transactKey,
  ValidationError,
  type WriteCondition,
} from "@inferencekey/core";

export interface SqliteStoreOptions {
  /** Milliseconds since the epoch; injectable so tests can move time past `expiresAt`. */
  now?: () => number;
  /** How long a write waits for another process's write lock before failing with SQLITE_BUSY. */
  busyTimeoutMs?: number;
}

interface Row {
  pk: string;
  sk: string;
  gsi1pk: string | null;
  gsi1sk: string | null;
  version: number;
  expires_at: number | null;
  data: string;
}

/** A cursor names the last item returned: its sort key (sk or gsi1sk) and primary key. */
type Cursor = [sortKey: string, pk: string, sk: string];

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    gsi1pk TEXT,
    gsi1sk TEXT,
    version INTEGER NOT NULL,
    expires_at INTEGER,
    data TEXT NOT NULL,
    PRIMARY KEY (pk, sk)
  ) WITHOUT ROWID;
  -- Partial, like a DynamoDB GSI: an item is in gsi1 only when it has both gsi1 keys.
  CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk)
    WHERE gsi1pk IS NOT NULL AND gsi1sk IS NOT NULL;
`;

const LIVE = "(expires_at IS NULL OR expires_at > :now)";

/**
 * The durable embedded Store of the local platform: one SQLite file via `node:sqlite`.
 *
 * Every acknowledged write is on disk (WAL + synchronous=FULL fsyncs each commit), so it survives
 * `kill -9` and power loss. Conditional writes read and write inside one `BEGIN IMMEDIATE`
 * transaction, which takes the file's write lock up front, so they stay atomic when several
 * processes share the file. node:sqlite is synchronous: a call never interleaves with another call
 * of this process, and waiting on a lock held by another process blocks (up to busyTimeoutMs).
 */
export class SqliteStore implements Store {
  private readonly db: DatabaseSync;
  private readonly now: () => number;
  /** Prepared once per SQL text: the texts are fixed, queries have a handful of shapes. */
  private readonly statements = new Map<string, StatementSync>();

  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.now = options.now ?? (() => Date.now());
    this.db = new DatabaseSync(path);
    // busy_timeout first: switching to WAL and creating the schema may meet another process's lock.
    this.db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5_000))}`);
    this.db.exec("PRAGMA journal_mode = WAL");
    this.db.exec("PRAGMA synchronous = FULL");
    this.db.exec(SCHEMA);
  }

  async get(pk: string, sk: string): Promise<StoreItem | undefined> {
    return this.read(pk, sk);
  }

  async put(item: NewItem, condition: WriteCondition): Promise<StoreItem> {
    return this.transaction(() => {
      const current = this.read(item.pk, item.sk);
      assertCondition(current, condition, item.pk, item.sk);
      return this.write(item, current);
    });
  }

  async transact(writes: readonly TransactWrite[]): Promise<StoreItem[]> {
    assertTransactShape(writes);
    return this.transaction(() => {
      const current = writes.map((write) => {
        const { pk, sk } = transactKey(write);
        const item = this.read(pk, sk);
        assertCondition(item, write.condition, pk, sk);
        return item;
      });
      const stored: StoreItem[] = [];
      for (const [index, write] of writes.entries()) {
        if (write.kind === "put") stored.push(this.write(write.item, current[index]));
        else if (write.kind === "delete") this.remove(write.pk, write.sk);
      }
      return stored;
    });
  }

  /** Inside a transaction: stores `item` one version past `current`. */
  private write(item: NewItem, current: StoreItem | undefined): StoreItem {
    const stored = toStoreItem(item, (current?.version ?? 0) + 1);
    this.statement(
      `INSERT INTO items (pk, sk, gsi1pk, gsi1sk, version, expires_at, data)
         VALUES (:pk, :sk, :gsi1pk, :gsi1sk, :version, :expiresAt, :data)
         ON CONFLICT (pk, sk) DO UPDATE SET
           gsi1pk = excluded.gsi1pk, gsi1sk = excluded.gsi1sk, version = excluded.version,
           expires_at = excluded.expires_at, data = excluded.data`,
    ).run({
      pk: stored.pk,
      sk: stored.sk,
      gsi1pk: stored.gsi1pk ?? null,
      gsi1sk: stored.gsi1sk ?? null,
      version: stored.version,
      expiresAt: stored.expiresAt ?? null,
      data: JSON.stringify(stored.data),
    });
    return stored;
  }

  private remove(pk: string, sk: string): void {
    this.statement("DELETE FROM items WHERE pk = :pk AND sk = :sk").run({ pk, sk });
  }

  async delete(pk: string, sk: string, condition: WriteCondition = { kind: "any" }): Promise<void> {
    this.transaction(() => {
      assertCondition(this.read(pk, sk), condition, pk, sk);
      this.remove(pk, sk);
    });
  }

  async query(input: QueryInput): Promise<QueryPage> {
    const onIndex = input.index === "gsi1";
    const [pkColumn, sortColumn] = onIndex ? ["gsi1pk", "gsi1sk"] : ["pk", "sk"];
    // The index's rows are ordered by (gsi1sk, pk, sk): the primary key breaks ties, so a cursor
    // names exactly one position even when several items share a gsi1sk.
    const order = onIndex ? ["gsi1sk", "pk", "sk"] : ["sk"];
    const direction = input.descending === true ? "DESC" : "ASC";
    const where = [`${pkColumn} = :pk`, LIVE];
    const params: Record<string, SQLInputValue> = { pk: input.pk, now: this.nowSeconds() };
    if (onIndex) where.push("gsi1sk IS NOT NULL");
    if (input.skPrefix !== undefined && input.skPrefix !== "") {
      // [prefix, prefix || 0xFF) is exactly the strings starting with prefix: 0xFF never occurs in
      // UTF-8 and text compares bytewise. A range (unlike LIKE or GLOB) needs no escaping and uses the key.
      where.push(`${sortColumn} >= :prefix AND ${sortColumn} < (:prefix || x'ff')`);
      params.prefix = input.skPrefix;
    }
    if (input.cursor !== undefined) {
      const [sortKey, pk, sk] = decodeCursor(input.cursor);
      // Keyset pagination: resume after the last item returned, wherever it now is or whether it
      // still exists, so items written between pages never shift the window.
      const after = input.descending === true ? "<" : ">";
      where.push(
        onIndex ? `(gsi1sk, pk, sk) ${after} (:afterSort, :afterPk, :afterSk)` : `sk ${after} :afterSk`,
      );
      if (onIndex) {
        params.afterSort = sortKey;
        params.afterPk = pk;
      }
      params.afterSk = sk;
    }
    const limit = input.limit;
    // One extra row tells whether another page exists, so the last page carries no cursor.
    const sql = `SELECT * FROM items WHERE ${where.join(" AND ")}
      ORDER BY ${order.map((column) => `${column} ${direction}`).join(", ")}
      ${limit === undefined ? "" : "LIMIT :limit"}`;
    if (limit !== undefined) params.limit = Math.max(0, Math.trunc(limit)) + 1;
    const rows = this.statement(sql).all(params) as unknown as Row[];
    const page = limit === undefined ? rows : rows.slice(0, Math.max(0, Math.trunc(limit)));
    const last = page.at(-1);
    const cursor =
      rows.length > page.length && last !== undefined
        ? encodeCursor([onIndex ? (last.gsi1sk ?? "") : last.sk, last.pk, last.sk])
        : undefined;
    return { items: page.map(fromRow), ...(cursor === undefined ? {} : { cursor }) };
  }

  /** Drops expired rows for good (what DynamoDB TTL does); reads already ignore them. Returns the count. */
  purgeExpired(): number {
    const result = this.statement("DELETE FROM items WHERE expires_at <= :now").run({
      now: this.nowSeconds(),
    });
    return Number(result.changes);
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }

  private read(pk: string, sk: string): StoreItem | undefined {
    const row = this.statement(`SELECT * FROM items WHERE pk = :pk AND sk = :sk AND ${LIVE}`).get({
      pk,
      sk,
      now: this.nowSeconds(),
    }) as Row | undefined;
    return row === undefined ? undefined : fromRow(row);
  }

  private statement(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private transaction<T>(work: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec("ROLLBACK");
      throw error;
    }
  }

  private nowSeconds(): number {
    return this.now() / 1000;
  }
}

function toStoreItem(item: NewItem, version: number): StoreItem {
  return {
    pk: item.pk,
    sk: item.sk,
    ...(item.gsi1pk === undefined ? {} : { gsi1pk: item.gsi1pk }),
    ...(item.gsi1sk === undefined ? {} : { gsi1sk: item.gsi1sk }),
    version,
    ...(item.expiresAt === undefined ? {} : { expiresAt: item.expiresAt }),
    // Stored as JSON, so return what a later read will: JSON's view of the data, not the caller's object.
    data: JSON.parse(JSON.stringify(item.data)) as Record<string, unknown>,
  };
}

function fromRow(row: Row): StoreItem {
  return {
    pk: row.pk,
    sk: row.sk,
    ...(row.gsi1pk === null ? {} : { gsi1pk: row.gsi1pk }),
    ...(row.gsi1sk === null ? {} : { gsi1sk: row.gsi1sk }),
    version: row.version,
    ...(row.expires_at === null ? {} : { expiresAt: row.expires_at }),
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor), "utf8").toString("base64url");
}

function decodeCursor(cursor: string): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (Array.isArray(parsed) && parsed.length === 3 && parsed.every((part) => typeof part === "string")) {
    return parsed as Cursor;
  }
  throw new ValidationError("The cursor is not one this listing returned.", [
    {
      path: "cursor",
      message: "not a cursor from a previous page",
      expected: "the cursor of the previous page",
    },
  ]);
}
