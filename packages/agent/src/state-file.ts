import { mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";

export const STATE_FILE_NAME = "replicas.json";

/** A backend process the agent started, as recorded so that a restarted agent can find it again. */
export interface RecordedProcess {
  replica_id: string;
  pid: number;
  pgid: number;
  port: number;
  /** The loopback port the backend binds behind the replica front (absent in records of agents without a front). */
  backend_port?: number;
  started_at: string;
  command_hash: string;
  /** /proc start time of the pid: tells our process from an unrelated one that reused its pid. */
  proc_start_time?: string;
  /** The replica's workload (`project/slug`), so the next run's log names it before any heartbeat. */
  workload?: string;
}

interface StateDocument {
  version: 1;
  replicas: RecordedProcess[];
}

function isRecord(value: unknown): value is RecordedProcess {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  const int = (x: unknown) => typeof x === "number" && Number.isInteger(x) && x > 0;
  return (
    typeof v.replica_id === "string" &&
    int(v.pid) &&
    int(v.pgid) &&
    int(v.port) &&
    (v.backend_port === undefined || int(v.backend_port)) &&
    typeof v.started_at === "string" &&
    typeof v.command_hash === "string" &&
    (v.proc_start_time === undefined || typeof v.proc_start_time === "string") &&
    (v.workload === undefined || typeof v.workload === "string")
  );
}

/** The recorded processes; a missing file is none, an unreadable one is none plus a problem to log. */
export async function readState(
  stateDir: string,
): Promise<{ replicas: RecordedProcess[]; problem?: string }> {
  const path = join(stateDir, STATE_FILE_NAME);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { replicas: [] };
    return { replicas: [], problem: `cannot read ${path}: ${(error as Error).message}` };
  }
  try {
    const parsed = JSON.parse(text) as Partial<StateDocument>;
    const replicas = Array.isArray(parsed.replicas) ? parsed.replicas.filter(isRecord) : [];
    const skipped = (Array.isArray(parsed.replicas) ? parsed.replicas.length : 0) - replicas.length;
    return skipped > 0
      ? { replicas, problem: `${path}: skipped ${skipped} malformed entries` }
      : { replicas };
  } catch (error) {
    return {
      replicas: [],
      problem: `${path} is not valid JSON (${(error as Error).message}); its processes cannot be found`,
    };
  }
}

/**
 * Writes `<stateDir>/replicas.json` atomically (temporary file, fsync, rename), one write at a
 * time; a write asked for while one runs is folded into the next, which carries the latest content.
 */
export class StateFile {
  private pending: RecordedProcess[] | undefined;
  private running: Promise<void> | undefined;
  private last = "";

  constructor(
    private readonly stateDir: string,
    private readonly onError: (message: string) => void = () => {},
  ) {}

  get path(): string {
    return join(this.stateDir, STATE_FILE_NAME);
  }

  write(replicas: RecordedProcess[]): Promise<void> {
    this.pending = replicas;
    this.running ??= this.drain();
    return this.running;
  }

  private async drain(): Promise<void> {
    // Yield first so `running` is assigned before it is cleared. Leaving the loop and clearing it
    // then happen in one synchronous step: no write can slip in between and be left unwritten.
    await null;
    try {
      while (this.pending !== undefined) {
        const text = `${JSON.stringify({ version: 1, replicas: this.pending } satisfies StateDocument, null, 2)}\n`;
        this.pending = undefined;
        if (text !== this.last) await this.replace(text);
      }
    } finally {
      this.running = undefined;
    }
  }

  private async replace(text: string): Promise<void> {
    try {
      await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
      const temporary = `${this.path}.${process.pid}.tmp`;
      const handle = await open(temporary, "w", 0o600);
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, this.path);
      this.last = text;
    } catch (error) {
      this.onError(`cannot write ${this.path}: ${(error as Error).message}`);
    }
  }
}
