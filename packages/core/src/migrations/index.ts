import { ConditionFailedError, InferenceKeyError } from "../errors";
import type { PlatformContext } from "../platform/context";

/** Where the store records which migrations it has been through. */
export const schemaKey = () => ({ pk: "ORG", sk: "SCHEMA" });

/**
 * One forward step of what is stored. `run` must be idempotent and safe beside code of the previous
 * version still serving (a rolling deploy in AWS): two processes may run it at once, and a crash
 * may stop it half way, to be run again whole by the next start.
 */
export interface Migration {
  version: number;
  description: string;
  run(ctx: PlatformContext): Promise<void>;
}

/**
 * Every migration, in order. A store written before the schema version existed (everything up to
 * commit a92b233) is version 0. Version 1 only records the version: the shapes of that time are
 * still read as they are.
 */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, description: "record the schema version (stores made before it are version 0)", run: async () => undefined },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

/** The store was written by newer code than this: running would misread it. */
export class SchemaTooNewError extends InferenceKeyError {
  constructor(stored: number) {
    super(
      "internal",
      500,
      `The store is at schema version ${stored}, newer than this code's ${SCHEMA_VERSION}: upgrade InferenceKey before starting it on this state.`,
    );
  }
}

export interface MigrationReport {
  from: number;
  to: number;
  applied: string[];
}

/**
 * Brings the store forward to SCHEMA_VERSION, one migration at a time, recording each step with a
 * conditional write so concurrent starts agree on where they are (a lost race re-reads and goes on
 * from what the winner recorded). Run before serving, by `npm start` and by the controller tick.
 */
export async function migrateStore(
  ctx: PlatformContext,
  migrations: readonly Migration[] = MIGRATIONS,
  log: (line: string) => void = () => undefined,
): Promise<MigrationReport> {
  const key = schemaKey();
  const target = migrations.at(-1)?.version ?? 0;
  const applied: string[] = [];
  let item = await ctx.store.get(key.pk, key.sk);
  const from = Number(item?.data.version ?? 0);
  if (from > target) throw new SchemaTooNewError(from);
  for (;;) {
    const current = Number(item?.data.version ?? 0);
    const next = migrations.find((m) => m.version > current);
    if (next === undefined) return { from, to: current, applied };
    log(`store: migrating schema ${current} -> ${next.version}: ${next.description}`);
    await next.run(ctx);
    try {
      item = await ctx.store.put(
        { ...key, data: { version: next.version, migrated_at: ctx.now().toISOString() } },
        item === undefined ? { kind: "absent" } : { kind: "version", version: item.version },
      );
      applied.push(`${next.version}: ${next.description}`);
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
      item = await ctx.store.get(key.pk, key.sk);
    }
  }
}
