import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createDynamoDocumentClient, DynamoStore, ensureTable } from "@inferencekey/aws";
import { MemoryStore } from "@inferencekey/core";
import { SqliteStore } from "@inferencekey/local";
import { afterAll, beforeAll } from "vitest";
import { EMULATOR_CREDENTIALS, type RunningDynalite, startDynalite } from "../support/dynalite";
import { describeStoreContract } from "./store";

describeStoreContract("MemoryStore", async (now) => new MemoryStore(now));

const sqliteDir = mkdtempSync(join(tmpdir(), "ik-store-contract-"));
let sqliteFiles = 0;
afterAll(() => rmSync(sqliteDir, { recursive: true, force: true }));

describeStoreContract(
  "SqliteStore",
  async (now) => new SqliteStore(join(sqliteDir, `store-${++sqliteFiles}.db`), { now }),
);

let dynalite: RunningDynalite | undefined;
let client: DynamoDBDocumentClient | undefined;
let tables = 0;

beforeAll(async () => {
  dynalite = await startDynalite();
  client = createDynamoDocumentClient({
    region: "us-east-1",
    endpoint: dynalite.endpoint,
    credentials: EMULATOR_CREDENTIALS,
  });
});

afterAll(async () => {
  client?.destroy();
  await dynalite?.stop();
});

describeStoreContract("DynamoStore (dynalite)", async (now) => {
  if (client === undefined) throw new Error("dynalite did not start");
  // A table per case: cheap on dynalite, and no case sees another's items.
  const tableName = `contract-${++tables}`;
  await ensureTable(client, tableName);
  return new DynamoStore({ client, tableName, now });
});
