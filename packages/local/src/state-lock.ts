import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { writePrivateFile } from "./state-dir";

/** Who holds a state directory, as its holder wrote it in `lock-holder.json` (informative only). */
export interface StateLockHolder {
  pid: number;
  started_at: string;
  /** The URL the holder serves, once it listens. */
  url?: string;
}

/** Another live process runs the platform on this state directory. */
export class StateDirLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly holder: StateLockHolder | undefined,
  ) {
    super(
      holder === undefined
        ? `The state directory ${dir} is in use by another process (it has not recorded its pid yet). ` +
            "Stop it first, or start with INFERENCEKEY_HOME=<another directory> npm start."
        : `The state directory ${dir} is in use by process ${holder.pid} (running since ${holder.started_at}` +
            `${holder.url === undefined ? "" : `, serving ${holder.url}`}). ` +
            `Stop it first (kill ${holder.pid}), or start with INFERENCEKEY_HOME=<another directory> npm start.`,
    );
    this.name = "StateDirLockedError";
  }
}

/** SQLite's "database is locked". */
const SQLITE_BUSY = 5;
/** How long a start that lost the race waits for the winner to record its pid. */
const HOLDER_WAIT_MS = 1000;

/**
 * One platform per state directory. The lock is SQLite's exclusive lock on `.inferencekey/lock`
 * (an fcntl lock, held by an open transaction for the life of the process): the kernel drops it
 * whenever the holder ends, `kill -9` included, so a lock can never outlive its holder and a
 * restart needs no clean-up. It also excludes a second platform in the same process. The pid in
 * `lock-holder.json` only names the holder in the refusal; a file left by a dead holder is stale
 * by construction and is overwritten by the next holder.
 */
export class StateDirLock {
  private released = false;

  private constructor(
    private readonly db: DatabaseSync,
    private readonly holderPath: string,
    private holder: StateLockHolder,
  ) {}

  /** Takes the directory's lock or throws StateDirLockedError naming the holder. */
  static async acquire(dir: string, now: () => Date = () => new Date()): Promise<StateDirLock> {
    const db = new DatabaseSync(join(dir, "lock"), { timeout: 0 });
    const holderPath = join(dir, "lock-holder.json");
    try {
      db.exec("BEGIN EXCLUSIVE");
    } catch (error) {
      db.close();
      if ((error as { errcode?: number }).errcode !== SQLITE_BUSY) throw error;
      throw new StateDirLockedError(dir, await liveHolder(holderPath));
    }
    const lock = new StateDirLock(db, holderPath, { pid: process.pid, started_at: now().toISOString() });
    lock.record();
    return lock;
  }

  /** Adds the URL this platform serves to the holder record. */
  serving(url: string): void {
    this.holder = { ...this.holder, url };
    this.record();
  }

  /** Removes the holder record, then lets the lock go (in that order: a successor's record survives). */
  release(): void {
    if (this.released) return;
    this.released = true;
    rmSync(this.holderPath, { force: true });
    this.db.close();
  }

  private record(): void {
    writePrivateFile(this.holderPath, `${JSON.stringify(this.holder)}\n`);
  }
}

function readHolder(path: string): StateLockHolder | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<StateLockHolder>;
    return typeof parsed.pid === "number" && typeof parsed.started_at === "string" ? (parsed as StateLockHolder) : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The recorded holder, if it is alive. A start that just won the lock may not have written its
 * record yet (the file may still name a dead predecessor): wait briefly for a live one.
 */
async function liveHolder(path: string): Promise<StateLockHolder | undefined> {
  const deadline = Date.now() + HOLDER_WAIT_MS;
  for (;;) {
    const holder = readHolder(path);
    if (holder !== undefined && isRunning(holder.pid)) return holder;
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
