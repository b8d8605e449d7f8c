import { join } from "node:path";
import {
  bootstrapAdminToken,
  createControlApi,
  isWellFormedSecret,
  type PlatformContext,
  resetAdminToken,
  authenticateSdkToken,
} from "@inferencekey/core";
import { type HttpServerHandle, serve } from "./node-http";
import { SqliteStore } from "./sqlite-store";
import { ensureStateDir, loadServerSecret, readDevEnv, writeDevEnv } from "./state-dir";

export interface LocalPlatformOptions {
  /** State directory (store, server secret, dev.env). */
  dir: string;
  port: number;
  host?: string;
  log?: (line: string) => void;
  now?: () => Date;
}

export interface LocalPlatform {
  url: string;
  devEnvPath: string;
  ctx: PlatformContext;
  /** True when this start created (or replaced) the admin token written to dev.env. */
  adminTokenIssued: boolean;
  close(): Promise<void>;
}

/** The whole platform on one machine: embedded store, control API, and (later) gateway, controller and agent. */
export async function startLocalPlatform(options: LocalPlatformOptions): Promise<LocalPlatform> {
  const log = options.log ?? ((line: string) => console.log(line));
  ensureStateDir(options.dir);
  const store = new SqliteStore(join(options.dir, "store.db"));
  const ctx: PlatformContext = { store, serverSecret: loadServerSecret(options.dir), now: options.now ?? (() => new Date()) };

  const controlApi = createControlApi(ctx, { log });
  const handler = async (request: Request): Promise<Response> => controlApi(request);

  let http: HttpServerHandle;
  try {
    http = await serve(handler, { port: options.port, ...(options.host === undefined ? {} : { host: options.host }) });
  } catch (error) {
    await store.close();
    throw error;
  }

  const devEnvPath = join(options.dir, "dev.env");
  const adminTokenIssued = await ensureDevEnv(ctx, devEnvPath, http.url);

  return {
    url: http.url,
    devEnvPath,
    ctx,
    adminTokenIssued,
    close: async () => {
      await http.close();
      await store.close();
    },
  };
}

/**
 * dev.env holds the organisation admin token, the one place it exists in plaintext. On first start
 * the token is created; later starts keep it (rewriting only the URL if the port changed); if the
 * file was lost or its token no longer works, a new admin token replaces the old one.
 */
async function ensureDevEnv(ctx: PlatformContext, path: string, baseUrl: string): Promise<boolean> {
  const created = await bootstrapAdminToken(ctx);
  if (created) {
    writeDevEnv(path, { baseUrl, sdkToken: created.secret });
    return true;
  }
  const existing = readDevEnv(path);
  const usable =
    existing.sdkToken !== undefined &&
    isWellFormedSecret("sdk", existing.sdkToken) &&
    (await authenticateSdkToken(ctx, `Bearer ${existing.sdkToken}`).then(
      (p) => p.admin,
      () => false,
    ));
  if (usable && existing.sdkToken !== undefined) {
    if (existing.baseUrl !== baseUrl) writeDevEnv(path, { baseUrl, sdkToken: existing.sdkToken });
    return false;
  }
  const replaced = await resetAdminToken(ctx);
  writeDevEnv(path, { baseUrl, sdkToken: replaced.secret });
  return true;
}
