import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";

/** The slice of dynalite 4's options we use; the package ships no types. */
interface DynaliteOptions {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}

type CreateDynalite = (options: DynaliteOptions) => Server;

const createDynalite = createRequire(import.meta.url)("dynalite") as CreateDynalite;

export interface RunningDynalite {
  /** e.g. `http://127.0.0.1:49152`, for the client's `endpoint`. */
  endpoint: string;
  stop(): Promise<void>;
}

/** An in-memory DynamoDB emulator on a random loopback port; tables are ACTIVE at once. */
export async function startDynalite(): Promise<RunningDynalite> {
  const server = createDynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        // Keep-alive sockets from SDK clients would hold close() open until they idle out.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Emulators check that a request is signed, not by whom. */
export const EMULATOR_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };
