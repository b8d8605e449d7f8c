import { migrateStore, type PlatformContext } from "@inferencekey/core";

let migrated: Promise<unknown> | undefined;

/**
 * Once per instance: the store is brought to this code's schema before the controller acts on it
 * (the tick and the project passes alike: after a deploy either may run first). A failure is
 * retried by the next invocation.
 */
export function storeMigrated(ctx: PlatformContext): Promise<unknown> {
  migrated ??= migrateStore(ctx).catch((error: unknown) => {
    migrated = undefined;
    throw error;
  });
  return migrated;
}
