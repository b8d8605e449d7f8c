import type { WorkloadEvent } from "../events";
import { lookupSecretDigests, type ServerSecretKeyring } from "../secrets";
import type { Store } from "../store";

/** What every domain service needs: the store, the HMAC key for secrets, and a clock. */
export interface PlatformContext {
  store: Store;
  /** HMAC key for secret digests. Never stored in the Store, never logged. */
  serverSecret: string;
  /**
   * Every accepted version of the server secret, when it has been rotated: new digests use the
   * current version (which is `serverSecret`), lookups also try the previous ones. Absent: one
   * version, "1".
   */
  serverSecretKeyring?: ServerSecretKeyring;
  now: () => Date;
  /** Told of every workload event once it is stored (the local platform prints them). */
  onEvent?: (project: string, workload: string, event: WorkloadEvent) => void;
}

/** Item keys of the single table, in one place so every adapter and service agrees. */
export const keys = {
  org: () => "ORG",
  setup: () => ({ pk: "ORG", sk: "SETUP" }),
  project: (project: string) => ({ pk: "ORG", sk: `PRJ#${project}` }),
  projectPrefix: () => "PRJ#",
  secret: (digest: string) => ({ pk: `SECRET#${digest}`, sk: "SECRET" }),
  workload: (project: string, slug: string) => ({ pk: `PRJ#${project}`, sk: `WL#${slug}` }),
  /** A project secret (an environment variable for the project's backends), encrypted. */
  projectSecret: (project: string, name: string) => ({ pk: `PRJ#${project}`, sk: `PSEC#${name}` }),
  projectSecretPrefix: () => "PSEC#",
  workloadPrefix: () => "WL#",
  /** Where a workload id (`wl_...`) lives: `{project, slug}`, written when the workload is created. */
  workloadId: (id: string) => ({ pk: `WLID#${id}`, sk: "WLID" }),
  /** The highest generation a removed workload record reached: a re-created slug continues from it. */
  workloadGenerations: (project: string, slug: string) => ({ pk: `PRJ#${project}`, sk: `WLGEN#${slug}` }),
  worker: (project: string, workerId: string) => ({ pk: `PRJ#${project}`, sk: `WRK#${workerId}` }),
  workerPrefix: () => "WRK#",
  /** Written when a worker is deregistered and never removed: its id (and so its token) is never registered again. */
  deregisteredWorker: (project: string, workerId: string) => ({ pk: `PRJ#${project}`, sk: `WRKGONE#${workerId}` }),
  tokensIndex: () => "TOKENS",
  keysIndex: (project: string, workload: string) => `KEYS#${project}#${workload}`,
  events: (project: string, workload: string) => `EVT#${project}#${workload}`,
  idempotency: (scope: string, key: string) => ({ pk: `IDEM#${scope}`, sk: key }),
} as const;

export function isoNow(ctx: PlatformContext): string {
  return ctx.now().toISOString();
}

/**
 * The stored record of a presented user secret (token, key, worker token): looked up under the
 * current server secret version first, then under each previous one still accepted.
 */
export async function getSecretItem(ctx: PlatformContext, secret: string): Promise<Awaited<ReturnType<Store["get"]>>> {
  for (const digest of lookupSecretDigests(ctx, secret)) {
    const key = keys.secret(digest);
    const item = await ctx.store.get(key.pk, key.sk);
    if (item !== undefined) return item;
  }
  return undefined;
}
