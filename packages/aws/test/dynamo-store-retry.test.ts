import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { ConditionFailedError } from "@inferencekey/core";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RunningMoto, startMoto } from "../../../test/support/moto";
import { createDynamoDocumentClient } from "../src/dynamo-client";
import { DynamoStore } from "../src/dynamo-store";
import { sdkDynamoDocumentApi } from "../src/dynamo-sdk-api";
import { ensureTable } from "../src/dynamo-table";

/**
 * A conditional write that DynamoDB applied but whose answer was lost is retried by the SDK, and the
 * retry fails its own condition: the store must recognise its own write in the item returned with
 * the failure (ReturnValuesOnConditionCheckFailure) instead of reporting a conflict.
 */

const NOW_MS = Date.UTC(2030, 0, 1);

describe("DynamoStore: a retried conditional put (aws-sdk-client-mock)", () => {
  const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" }));
  const ddb = mockClient(documentClient);
  let store: DynamoStore;

  beforeEach(() => {
    ddb.reset();
    store = new DynamoStore({ client: sdkDynamoDocumentApi(documentClient), tableName: "t", now: () => NOW_MS });
  });

  const failedWith = (item: Record<string, unknown> | undefined) =>
    new ConditionalCheckFailedException({
      message: "The conditional request failed",
      $metadata: {},
      ...(item === undefined ? {} : { Item: marshall(item) }),
    });

  it("asks for the old item on every conditional put", async () => {
    // Prepare
    ddb.on(PutCommand).resolves({});

    // Act
    await store.put({ pk: "p", sk: "s", data: {} }, { kind: "absent" });
    await store.put({ pk: "p", sk: "s", data: {} }, { kind: "version", version: 1 });

    // Assess
    for (const call of ddb.commandCalls(PutCommand)) {
      expect(call.args[0].input.ReturnValuesOnConditionCheckFailure).toBe("ALL_OLD");
    }
  });

  it("a create whose item is already exactly what it wrote, at version 1, succeeds", async () => {
    // Prepare
    ddb.on(PutCommand).rejects(failedWith({ pk: "p", sk: "s", version: 1, expiresAt: 2_000_000_000, data: { a: [1, { b: "c" }] } }));

    // Act
    const stored = await store.put({ pk: "p", sk: "s", expiresAt: 2_000_000_000, data: { a: [1, { b: "c" }] } }, { kind: "absent" });

    // Assess
    expect(stored).toEqual({ pk: "p", sk: "s", version: 1, expiresAt: 2_000_000_000, data: { a: [1, { b: "c" }] } });
  });

  it("a replace whose item is already its own data at version + 1 succeeds", async () => {
    // Prepare
    ddb.on(PutCommand).rejects(failedWith({ pk: "p", sk: "s", gsi1pk: "g", gsi1sk: "k", version: 4, data: { n: 2 } }));

    // Act
    const stored = await store.put({ pk: "p", sk: "s", gsi1pk: "g", gsi1sk: "k", data: { n: 2 } }, { kind: "version", version: 3 });

    // Assess
    expect(stored.version).toBe(4);
  });

  it.each([
    ["another writer's data", { pk: "p", sk: "s", version: 4, data: { n: 99 } }],
    ["the same data at another version", { pk: "p", sk: "s", version: 5, data: { n: 2 } }],
    ["another index key", { pk: "p", sk: "s", gsi1pk: "other", version: 4, data: { n: 2 } }],
    ["no item at all", undefined],
  ])("a failed condition over %s is still a conflict", async (_label, old) => {
    // Prepare
    ddb.on(PutCommand).rejects(failedWith(old));

    // Act
    const error = await store.put({ pk: "p", sk: "s", data: { n: 2 } }, { kind: "version", version: 3 }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConditionFailedError);
  });
});

describe("DynamoStore: an SDK retry of an applied put, on moto server", () => {
  let moto: RunningMoto;
  let client: DynamoDBDocumentClient;
  /** How many answers to lose after DynamoDB applied the request (the SDK then retries it). */
  let answersToLose = 0;

  beforeAll(async () => {
    moto = await startMoto();
    client = createDynamoDocumentClient({
      region: "us-east-1",
      endpoint: moto.endpoint,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    // Below the retry middleware: each attempt passes here. The request reaches DynamoDB, its answer is dropped.
    client.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        if (answersToLose > 0) {
          answersToLose--;
          throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET", $metadata: {} });
        }
        return result;
      },
      { step: "deserialize", name: "loseAnswer" },
    );
    await ensureTable(client, "retry-test");
  }, 60_000);

  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });

  it("create and replace succeed although their first answer was lost; a real conflict is still refused", async () => {
    // Prepare
    const store = new DynamoStore({ client: sdkDynamoDocumentApi(client), tableName: "retry-test" });

    // Act
    answersToLose = 1;
    const created = await store.put({ pk: "p", sk: "s", data: { n: 1 } }, { kind: "absent" });
    answersToLose = 1;
    const replaced = await store.put({ pk: "p", sk: "s", data: { n: 2 } }, { kind: "version", version: 1 });
    const conflict = await store.put({ pk: "p", sk: "s", data: { n: 3 } }, { kind: "version", version: 1 }).catch((e: unknown) => e);

    // Assess
    expect(answersToLose).toBe(0);
    expect(created.version).toBe(1);
    expect(replaced.version).toBe(2);
    expect(conflict).toBeInstanceOf(ConditionFailedError);
    expect(await store.get("p", "s")).toMatchObject({ version: 2, data: { n: 2 } });
  });
});
