import { ConditionFailedError, InferenceKeyError } from "../errors";
import { type DataKeyRecord, keyBelongsTo } from "../keys";
import { keys, type PlatformContext } from "../platform/context";
import { listWorkloadReplicas } from "../replicas";
import { queryAll, type StoreItem } from "../store";
import { type WorkloadRecord, workloadIncarnation } from "../workloads";

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
 * still read as they are. Version 2 binds keys and replicas to workload incarnations.
 */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, description: "record the schema version (stores made before it are version 0)", run: async () => undefined },
  {
    version: 2,
    description: "store each workload's incarnation, and bind its keys and replicas to it (a former life's keys are revoked)",
    run: bindToIncarnations,
  },
];

/**
 * Rewrites one item with `change` under a version condition, re-reading on a lost race; `change`
 * answers undefined when nothing is left to do (so a second run, or a concurrent one, writes nothing).
 */
async function rewrite(ctx: PlatformContext, item: StoreItem, change: (data: Record<string, unknown>) => Record<string, unknown> | undefined): Promise<void> {
  let current: StoreItem | undefined = item;
  for (let attempt = 0; attempt < 5 && current !== undefined; attempt++) {
    const data = change(current.data);
    if (data === undefined) return;
    try {
      await ctx.store.put({ pk: current.pk, sk: current.sk, gsi1pk: current.gsi1pk, gsi1sk: current.gsi1sk, expiresAt: current.expiresAt, data }, { kind: "version", version: current.version });
      return;
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
      current = await ctx.store.get(current.pk, current.sk);
    }
  }
}

/**
 * Version 2: records written before incarnations derive theirs on read; this stores it, and binds
 * what belongs to that life. Keys made no earlier than the workload's current life began get its
 * incarnation; older ones belonged to a deleted former life and are revoked. Replicas get the
 * incarnation of the workload they are listed under. Keys of slugs whose record is gone stay as they
 * are: the gateway answers 404 for them, and a re-created slug refuses them (created before it).
 */
async function bindToIncarnations(ctx: PlatformContext): Promise<void> {
  const at = ctx.now().toISOString();
  for (const project of await queryAll(ctx.store, { pk: keys.org(), skPrefix: keys.projectPrefix() })) {
    const slug = String(project.data.slug);
    for (const item of await queryAll(ctx.store, { pk: keys.workload(slug, "").pk, skPrefix: keys.workloadPrefix() })) {
      const workload = item.data as unknown as WorkloadRecord;
      const incarnation = workloadIncarnation(workload);
      await rewrite(ctx, item, (data) => (data.incarnation === undefined ? { ...data, incarnation } : undefined));
      const life = { incarnation, created_at: workload.created_at };
      for (const keyItem of await queryAll(ctx.store, { pk: keys.keysIndex(slug, workload.slug), index: "gsi1" })) {
        const fresh = await ctx.store.get(keyItem.pk, keyItem.sk); // the index may lag
        if (fresh === undefined) continue;
        await rewrite(ctx, fresh, (data) => {
          const key = data as unknown as DataKeyRecord;
          if (key.incarnation !== undefined) return undefined;
          return keyBelongsTo(key, life) ? { ...data, incarnation } : { ...data, revoked_at: key.revoked_at ?? at };
        });
      }
      for (const replica of await listWorkloadReplicas(ctx, slug, workload.slug)) {
        await rewrite(ctx, replica.item, (data) => (data.incarnation === undefined ? { ...data, incarnation } : undefined));
      }
    }
  }
}

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
