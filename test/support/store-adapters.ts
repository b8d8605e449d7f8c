import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createDynamoDocumentClient, DynamoStore, ensureTable, httpDynamoDocumentApi } from "@inferencekey/aws";
import { MemoryStore, type Store } from "@inferencekey/core";
import { SqliteStore } from "@inferencekey/local";
import { afterAll, beforeAll } from "vitest";
import { EMULATOR_CREDENTIALS, type RunningDynalite, startDynalite } from "./dynalite";

export interface StoreAdapter {
  name: string;
  /** A fresh, empty store; `now` (milliseconds) drives expiry where the test moves time. */
  make: (now?: () => number) => Promise<Store>;
}

/**
 * Every Store adapter for a suite that runs the same cases on each: memory, SQLite (a file per store
 * in a temporary folder) and DynamoDB on dynalite (a table per store). Call it at the top of a test
 * file: it registers the hooks that start and stop the emulator and remove the folder.
 */
export function storeAdapters(label: string): StoreAdapter[] {
  const dir = mkdtempSync(join(tmpdir(), `ik-${label}-`));
  let dynalite: RunningDynalite | undefined;
  let client: DynamoDBDocumentClient | undefined;
  let made = 0;

  beforeAll(async () => {
    dynalite = await startDynalite();
    client = createDynamoDocumentClient({ region: "us-east-1", endpoint: dynalite.endpoint, credentials: EMULATOR_CREDENTIALS });
  });

  afterAll(async () => {
    client?.destroy();
    await dynalite?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  return [
    { name: "MemoryStore", make: async (now) => new MemoryStore(now) },
    { name: "SqliteStore", make: async (now) => new SqliteStore(join(dir, `${label}-${++made}.db`), now === undefined ? {} : { now }) },
    {
      name: "DynamoStore (dynalite)",
      make: async (now) => {
        if (client === undefined) throw new Error("dynalite did not start");
        const tableName = `${label}-${++made}`;
        await ensureTable(client, tableName);
        const api = httpDynamoDocumentApi({ region: "us-east-1", endpoint: dynalite?.endpoint, credentials: EMULATOR_CREDENTIALS });
        return new DynamoStore({ client: api, tableName, ...(now === undefined ? {} : { now }) });
      },
    },
  ];
}
