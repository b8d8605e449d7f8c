import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import {
  createDynamoDocumentClient,
  type DynamoDocumentApi,
  DynamoStore,
  ensureTable,
  httpDynamoDocumentApi,
  sdkDynamoDocumentApi,
} from "@inferencekey/aws";
import { MemoryStore } from "@inferencekey/core";
import { SqliteStore } from "@inferencekey/local";
import { afterAll, beforeAll } from "vitest";
import { EMULATOR_CREDENTIALS, type RunningDynalite, startDynalite } from "../support/dynalite";
import { type RunningMoto, startMoto } from "../support/moto";
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
let moto: RunningMoto | undefined;
let dynaliteClient: DynamoDBDocumentClient | undefined;
let motoClient: DynamoDBDocumentClient | undefined;
let tables = 0;

const clientFor = (endpoint: string) =>
  createDynamoDocumentClient({ region: "us-east-1", endpoint, credentials: EMULATOR_CREDENTIALS });

beforeAll(async () => {
  [dynalite, moto] = await Promise.all([startDynalite(), startMoto()]);
  dynaliteClient = clientFor(dynalite.endpoint);
  motoClient = clientFor(moto.endpoint);
}, 60_000);

afterAll(async () => {
  dynaliteClient?.destroy();
  motoClient?.destroy();
  await Promise.all([dynalite?.stop(), moto?.stop()]);
});

type Adapter = "sdk" | "http";

/**
 * A table per case: cheap on both emulators, and no case sees another's items. The store runs on
 * both adapters of its DynamoDB port: the SDK's document client and the Lambda functions' own
 * signed HTTP client (`httpDynamoDocumentApi`).
 */
async function freshDynamoStore(
  client: DynamoDBDocumentClient | undefined,
  adapter: Adapter,
  endpoint: string | undefined,
  now: () => number,
): Promise<DynamoStore> {
  if (client === undefined || endpoint === undefined) throw new Error("the emulator did not start");
  const tableName = `contract-${++tables}`;
  await ensureTable(client, tableName);
  const api: DynamoDocumentApi =
    adapter === "sdk"
      ? sdkDynamoDocumentApi(client)
      : httpDynamoDocumentApi({ region: "us-east-1", endpoint, credentials: EMULATOR_CREDENTIALS });
  return new DynamoStore({ client: api, tableName, now });
}

for (const adapter of ["sdk", "http"] as const) {
  describeStoreContract(
    `DynamoStore on ${adapter} (dynalite)`,
    (now) => freshDynamoStore(dynaliteClient, adapter, dynalite?.endpoint, now),
    { transactionsSkipReason: "dynalite has no TransactWriteItems; the moto run below covers them" },
  );

  describeStoreContract(
    `DynamoStore on ${adapter} (moto server)`,
    (now) => freshDynamoStore(motoClient, adapter, moto?.endpoint, now),
    {
      concurrencySkipReason:
        "moto server does not serialize concurrent conditional writes (a lost update was seen under load); dynalite runs these",
    },
  );
}
