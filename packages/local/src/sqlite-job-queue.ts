import { DatabaseSync, type StatementSync } from "node:sqlite";
import { type QueueMessage, type ReceivedMessage, type ReceivingJobQueue, randomBase62 } from "@inferencekey/core";

export interface SqliteJobQueueOptions {
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  /**
   * A message received this many times and not settled moves to the dead-letter table on its next
   * receive, as SQS's redrive policy moves it to a DLQ. Default 5.
   */
  maxReceives?: number;
  busyTimeoutMs?: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    visible_at INTEGER NOT NULL,
    receipt TEXT,
    sent_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS messages_visible ON messages (visible_at, sent_at);
  CREATE TABLE IF NOT EXISTS dead_letters (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    receive_count INTEGER NOT NULL,
    dead_at INTEGER NOT NULL
  );
`;

interface MessageRow {
  id: string;
  body: string;
  receive_count: number;
}

/**
 * The local platform's job queue: a SQLite file in the state directory (`jobs-queue.db`), durable
 * like the store (WAL, synchronous=FULL), so queued jobs survive a restart or `kill -9`. SQS's
 * semantics: a received message is invisible for its visibility timeout, comes back unless deleted,
 * carries its receive count, and moves to a dead-letter table after `maxReceives` receives.
 */
export class SqliteJobQueue implements ReceivingJobQueue {
  private readonly db: DatabaseSync;
  private readonly now: () => number;
  private readonly maxReceives: number;
  private readonly statements = new Map<string, StatementSync>();

  constructor(path: string, options: SqliteJobQueueOptions = {}) {
    this.now = options.now ?? (() => Date.now());
    this.maxReceives = options.maxReceives ?? 5;
    this.db = new DatabaseSync(path);
    this.db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5_000))}`);
    this.db.exec("PRAGMA journal_mode = WAL");
    this.db.exec("PRAGMA synchronous = FULL");
    this.db.exec(SCHEMA);
  }

  async send(message: QueueMessage, options: { delaySeconds?: number } = {}): Promise<void> {
    const now = this.now();
    this.statement("INSERT INTO messages (id, body, receive_count, visible_at, receipt, sent_at) VALUES (?, ?, 0, ?, NULL, ?)").run(
      randomBase62(20),
      JSON.stringify(message),
      now + Math.max(0, options.delaySeconds ?? 0) * 1000,
      now,
    );
  }

  async receive(options: { max: number; visibilitySeconds: number }): Promise<ReceivedMessage[]> {
    const now = this.now();
    const out: ReceivedMessage[] = [];
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const rows = this.statement("SELECT id, body, receive_count FROM messages WHERE visible_at <= ? ORDER BY visible_at, sent_at LIMIT ?").all(
        now,
        Math.max(1, Math.trunc(options.max)) * 2,
      ) as unknown as MessageRow[];
      for (const row of rows) {
        if (row.receive_count >= this.maxReceives) {
          this.statement("INSERT OR REPLACE INTO dead_letters (id, body, receive_count, dead_at) VALUES (?, ?, ?, ?)").run(row.id, row.body, row.receive_count, now);
          this.statement("DELETE FROM messages WHERE id = ?").run(row.id);
          continue;
        }
        if (out.length >= options.max) break;
        const receipt = `${row.id}.${randomBase62(10)}`;
        this.statement("UPDATE messages SET receive_count = receive_count + 1, visible_at = ?, receipt = ? WHERE id = ?").run(
          now + options.visibilitySeconds * 1000,
          receipt,
          row.id,
        );
        out.push({ body: row.body, receiveCount: row.receive_count + 1, receipt });
      }
      this.db.exec("COMMIT");
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
    return out;
  }

  async delete(receipt: string): Promise<void> {
    this.statement("DELETE FROM messages WHERE id = ? AND receipt = ?").run(receipt.split(".")[0] ?? "", receipt);
  }

  async release(receipt: string, delaySeconds: number): Promise<void> {
    this.statement("UPDATE messages SET visible_at = ? WHERE id = ? AND receipt = ?").run(this.now() + delaySeconds * 1000, receipt.split(".")[0] ?? "", receipt);
  }

  async depth(): Promise<number> {
    return Number((this.statement("SELECT COUNT(*) AS n FROM messages").get() as { n: number }).n);
  }

  /** Messages moved to the dead-letter table (tests, diagnostics). */
  deadLetters(): { body: string; receiveCount: number }[] {
    return (this.statement("SELECT body, receive_count FROM dead_letters ORDER BY dead_at").all() as unknown as { body: string; receive_count: number }[]).map(
      (row) => ({ body: row.body, receiveCount: row.receive_count }),
    );
  }

  close(): void {
    this.db.close();
  }

  private statement(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}
