import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  ResourceInUseException,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { ConditionFailedError, ValidationError } from "@inferencekey/core";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DynamoStore } from "../src/dynamo-store";
import { sdkDynamoDocumentApi } from "../src/dynamo-sdk-api";
import { createTableInput, ensureTable } from "../src/dynamo-table";

// Behaviour against a real DynamoDB API is covered by the contract suite on dynalite and moto
// (test/contract); these cases pin down the requests built and how errors are mapped.

const NOW_MS = Date.UTC(2030, 0, 1);
const NOW_S = NOW_MS / 1000;
const TABLE = "ik-test";

const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "us-east-1" }));
const ddb = mockClient(documentClient);

function conditionalCheckFailed(): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });
}

function cursorOf(key: Record<string, string>): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

let store: DynamoStore;

beforeEach(() => {
  ddb.reset();
  store = new DynamoStore({ client: sdkDynamoDocumentApi(documentClient), tableName: TABLE, now: () => NOW_MS });
});

afterEach(() => {
  ddb.reset();
});

describe("DynamoStore.put", () => {
  it("creates with attribute_not_exists, treating an expired leftover as absent", async () => {
    // Prepare
    ddb.on(PutCommand).resolves({});

    // Act
    const stored = await store.put(
      { pk: "p", sk: "s", gsi1pk: "g", gsi1sk: "k", expiresAt: NOW_S + 60, data: { a: 1 } },
      { kind: "absent" },
    );

    // Assess
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Item: { pk: "p", sk: "s", gsi1pk: "g", gsi1sk: "k", version: 1, expiresAt: NOW_S + 60, data: { a: 1 } },
      ConditionExpression: "attribute_not_exists(#pk) OR #expiresAt <= :now",
      ExpressionAttributeNames: { "#pk": "pk", "#expiresAt": "expiresAt" },
      ExpressionAttributeValues: { ":now": NOW_S },
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    });
    expect(stored).toEqual({
      pk: "p",
      sk: "s",
      gsi1pk: "g",
      gsi1sk: "k",
      version: 1,
      expiresAt: NOW_S + 60,
      data: { a: 1 },
    });
  });

  it("replaces on version = :v of a live item and writes version + 1", async () => {
    // Prepare
    ddb.on(PutCommand).resolves({});

    // Act
    const stored = await store.put({ pk: "p", sk: "s", data: { b: 2 } }, { kind: "version", version: 7 });

    // Assess
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Item: { pk: "p", sk: "s", version: 8, data: { b: 2 } },
      ConditionExpression: "#version = :version AND (attribute_not_exists(#expiresAt) OR #expiresAt > :now)",
      ExpressionAttributeNames: { "#version": "version", "#expiresAt": "expiresAt" },
      ExpressionAttributeValues: { ":version": 7, ":now": NOW_S },
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    });
    expect(stored.version).toBe(8);
  });

  it("upserts with one UpdateItem that bumps the version and removes the keys left out", async () => {
    // Prepare
    ddb
      .on(UpdateCommand)
      .resolves({ Attributes: { pk: "p", sk: "s", gsi1pk: "g", version: 4, data: { c: 3 } } });

    // Act
    const stored = await store.put({ pk: "p", sk: "s", gsi1pk: "g", data: { c: 3 } }, { kind: "any" });

    // Assess
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: { pk: "p", sk: "s" },
      UpdateExpression:
        "SET #version = if_not_exists(#version, :zero) + :one, #data = :data, #gsi1pk = :gsi1pk REMOVE #gsi1sk, #expiresAt",
      ConditionExpression: "(attribute_not_exists(#expiresAt) OR #expiresAt > :now)",
      ExpressionAttributeNames: {
        "#version": "version",
        "#data": "data",
        "#gsi1pk": "gsi1pk",
        "#gsi1sk": "gsi1sk",
        "#expiresAt": "expiresAt",
      },
      ExpressionAttributeValues: { ":zero": 0, ":one": 1, ":data": { c: 3 }, ":gsi1pk": "g", ":now": NOW_S },
      ReturnValues: "ALL_NEW",
    });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    expect(stored).toEqual({ pk: "p", sk: "s", gsi1pk: "g", version: 4, data: { c: 3 } });
  });

  it("upserts over an expired leftover as a create, so the version restarts at 1", async () => {
    // Prepare
    ddb.on(UpdateCommand).rejects(conditionalCheckFailed());
    ddb.on(PutCommand).resolves({});

    // Act
    const stored = await store.put({ pk: "p", sk: "s", data: {} }, { kind: "any" });

    // Assess
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input.ConditionExpression).toBe(
      "attribute_not_exists(#pk) OR #expiresAt <= :now",
    );
    expect(stored.version).toBe(1);
  });

  it("gives up an upsert that keeps losing races after a bounded number of attempts", async () => {
    // Prepare
    ddb.on(UpdateCommand).rejects(conditionalCheckFailed());
    ddb.on(PutCommand).rejects(conditionalCheckFailed());

    // Act
    const upsert = store.put({ pk: "p", sk: "s", data: {} }, { kind: "any" });

    // Assess
    await expect(upsert).rejects.toBeInstanceOf(ConditionFailedError);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(5);
  });

  it("maps ConditionalCheckFailedException to ConditionFailedError naming the key", async () => {
    // Prepare
    ddb.on(PutCommand).rejects(conditionalCheckFailed());

    // Act
    const error = await store
      .put({ pk: "p", sk: "s", data: {} }, { kind: "version", version: 1 })
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(ConditionFailedError);
    expect(error).toMatchObject({ pk: "p", sk: "s" });
  });

  it("lets every other error through unchanged", async () => {
    // Prepare
    const throttled = new ProvisionedThroughputExceededException({ message: "slow down", $metadata: {} });
    ddb.on(PutCommand).rejects(throttled);
    ddb.on(UpdateCommand).rejects(new Error("socket hang up"));

    // Act
    const put = store
      .put({ pk: "p", sk: "s", data: {} }, { kind: "absent" })
      .catch((caught: unknown) => caught);
    const upsert = store
      .put({ pk: "p", sk: "s", data: {} }, { kind: "any" })
      .catch((caught: unknown) => caught);

    // Assess
    expect(await put).toBe(throttled);
    expect(await upsert).toMatchObject({ message: "socket hang up" });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(1);
  });
});

describe("DynamoStore.delete", () => {
  it("deletes unconditionally by default", async () => {
    ddb.on(DeleteCommand).resolves({});

    await store.delete("p", "s");

    expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: { pk: "p", sk: "s" },
    });
  });

  it("builds the same conditions as put for version and absent", async () => {
    // Prepare
    ddb.on(DeleteCommand).resolves({});

    // Act
    await store.delete("p", "s", { kind: "version", version: 3 });
    await store.delete("p", "s", { kind: "absent" });

    // Assess
    const [byVersion, ifAbsent] = ddb.commandCalls(DeleteCommand).map((call) => call.args[0].input);
    expect(byVersion).toMatchObject({
      ConditionExpression: "#version = :version AND (attribute_not_exists(#expiresAt) OR #expiresAt > :now)",
      ExpressionAttributeValues: { ":version": 3, ":now": NOW_S },
    });
    expect(ifAbsent).toMatchObject({
      ConditionExpression: "attribute_not_exists(#pk) OR #expiresAt <= :now",
      ExpressionAttributeNames: { "#pk": "pk", "#expiresAt": "expiresAt" },
    });
  });

  it("maps a failed condition to ConditionFailedError", async () => {
    ddb.on(DeleteCommand).rejects(conditionalCheckFailed());

    await expect(store.delete("p", "s", { kind: "version", version: 1 })).rejects.toBeInstanceOf(
      ConditionFailedError,
    );
  });
});

describe("DynamoStore.get", () => {
  it("reads consistently and returns the item", async () => {
    // Prepare
    ddb.on(GetCommand).resolves({ Item: { pk: "p", sk: "s", version: 2, data: { x: [1] } } });

    // Act
    const item = await store.get("p", "s");

    // Assess
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      Key: { pk: "p", sk: "s" },
      ConsistentRead: true,
    });
    expect(item).toEqual({ pk: "p", sk: "s", version: 2, data: { x: [1] } });
  });

  it("hides an item whose TTL passed but that DynamoDB has not deleted yet", async () => {
    ddb.on(GetCommand).resolves({ Item: { pk: "p", sk: "s", version: 1, expiresAt: NOW_S, data: {} } });

    expect(await store.get("p", "s")).toBeUndefined();
  });

  it("returns undefined for a missing item", async () => {
    ddb.on(GetCommand).resolves({});

    expect(await store.get("p", "s")).toBeUndefined();
  });
});

describe("DynamoStore.query", () => {
  const row = (sk: string) => ({ pk: "p", sk, version: 1, data: {} });

  it("queries the table consistently, filters expired items, and encodes LastEvaluatedKey as the cursor", async () => {
    // Prepare
    ddb.on(QueryCommand).resolves({ Items: [row("a"), row("b")], LastEvaluatedKey: { pk: "p", sk: "b" } });

    // Act
    const page = await store.query({ pk: "p", skPrefix: "job#", limit: 2 });

    // Assess
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toEqual({
      TableName: TABLE,
      ConsistentRead: true,
      KeyConditionExpression: "#qpk = :qpk AND begins_with(#qsk, :prefix)",
      FilterExpression: "(attribute_not_exists(#expiresAt) OR #expiresAt > :now)",
      ExpressionAttributeNames: { "#qpk": "pk", "#qsk": "sk", "#expiresAt": "expiresAt" },
      ExpressionAttributeValues: { ":qpk": "p", ":prefix": "job#", ":now": NOW_S },
      ScanIndexForward: true,
      Limit: 2,
    });
    expect(page.items.map((item) => item.sk)).toEqual(["a", "b"]);
    expect(page.cursor).toBe(cursorOf({ pk: "p", sk: "b" }));
    expect(JSON.parse(Buffer.from(page.cursor ?? "", "base64url").toString("utf8"))).toEqual({
      pk: "p",
      sk: "b",
    });
  });

  it("queries gsi1 by gsi1pk/gsi1sk, eventually consistent, descending, from the cursor's key", async () => {
    // Prepare
    const startKey = { pk: "wl#1", sk: "meta", gsi1pk: "owner#a", gsi1sk: "created#1" };
    ddb.on(QueryCommand).resolves({ Items: [] });

    // Act
    const page = await store.query({
      pk: "owner#a",
      index: "gsi1",
      skPrefix: "created#",
      descending: true,
      cursor: cursorOf(startKey),
    });

    // Assess
    const input = ddb.commandCalls(QueryCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      IndexName: "gsi1",
      ExpressionAttributeNames: { "#qpk": "gsi1pk", "#qsk": "gsi1sk" },
      ScanIndexForward: false,
      ExclusiveStartKey: startKey,
    });
    expect(input?.ConsistentRead).toBeUndefined();
    expect(input?.Limit).toBeUndefined();
    expect(page).toEqual({ items: [] });
  });

  it("reads on when the expiry filter leaves a page short, asking only for what is missing", async () => {
    // Prepare
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [row("a")], LastEvaluatedKey: { pk: "p", sk: "c" } })
      .resolvesOnce({ Items: [row("d"), row("e")], LastEvaluatedKey: { pk: "p", sk: "e" } });

    // Act
    const page = await store.query({ pk: "p", limit: 3 });

    // Assess
    const calls = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(calls.map((input) => input.Limit)).toEqual([3, 2]);
    expect(calls[1]?.ExclusiveStartKey).toEqual({ pk: "p", sk: "c" });
    expect(page.items.map((item) => item.sk)).toEqual(["a", "d", "e"]);
    expect(page.cursor).toBe(cursorOf({ pk: "p", sk: "e" }));
  });

  it("without a limit, follows LastEvaluatedKey to the end and returns no cursor", async () => {
    // Prepare
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [row("a")], LastEvaluatedKey: { pk: "p", sk: "a" } })
      .resolvesOnce({ Items: [row("b")] });

    // Act
    const page = await store.query({ pk: "p" });

    // Assess
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(2);
    expect(page).toEqual({ items: [row("a"), row("b")] });
  });

  it("rejects a cursor it did not issue before calling DynamoDB", async () => {
    for (const cursor of ["%%%", Buffer.from("[1,2]").toString("base64url"), cursorOf({}).slice(1)]) {
      const error = await store.query({ pk: "p", cursor }).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).details[0]?.path).toBe("cursor");
    }
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });
});

describe("table definition", () => {
  it("is one on-demand table keyed pk/sk with the gsi1 index projecting everything", () => {
    const input = createTableInput("t");

    expect(input).toMatchObject({
      TableName: "t",
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: "gsi1",
          KeySchema: [
            { AttributeName: "gsi1pk", KeyType: "HASH" },
            { AttributeName: "gsi1sk", KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
    });
    expect(input.ProvisionedThroughput).toBeUndefined();
  });

  it("ensureTable tolerates an existing table and waits for it to be ACTIVE", async () => {
    // Prepare
    ddb.on(CreateTableCommand).rejects(new ResourceInUseException({ message: "exists", $metadata: {} }));
    ddb
      .on(DescribeTableCommand)
      .resolvesOnce({
        Table: { TableStatus: "ACTIVE", GlobalSecondaryIndexes: [{ IndexStatus: "CREATING" }] },
      })
      .resolvesOnce({
        Table: { TableStatus: "ACTIVE", GlobalSecondaryIndexes: [{ IndexStatus: "ACTIVE" }] },
      });

    // Act
    await ensureTable(documentClient, "t");

    // Assess
    expect(ddb.commandCalls(DescribeTableCommand)).toHaveLength(2);
  });
});

describe("DynamoStore.transact", () => {
  it("sends one TransactWriteItems with a condition on every put and check", async () => {
    // Prepare
    ddb.on(TransactWriteCommand).resolves({});

    // Act
    const stored = await store.transact([
      { kind: "check", pk: "PRJ#a", sk: "LEASE#w", condition: { kind: "version", version: 7 } },
      { kind: "put", item: { pk: "PORT#h", sk: "20000", data: { replica: "r" } }, condition: { kind: "absent" } },
      { kind: "delete", pk: "REP#a#w", sk: "0000", condition: { kind: "any" } },
    ]);

    // Assess
    expect(stored).toEqual([{ pk: "PORT#h", sk: "20000", version: 1, data: { replica: "r" } }]);
    const [call] = ddb.commandCalls(TransactWriteCommand);
    expect(call?.args[0].input.TransactItems).toEqual([
      {
        ConditionCheck: {
          TableName: TABLE,
          Key: { pk: "PRJ#a", sk: "LEASE#w" },
          ConditionExpression: "#version = :version AND (attribute_not_exists(#expiresAt) OR #expiresAt > :now)",
          ExpressionAttributeNames: { "#version": "version", "#expiresAt": "expiresAt" },
          ExpressionAttributeValues: { ":version": 7, ":now": NOW_S },
        },
      },
      {
        Put: {
          TableName: TABLE,
          Item: { pk: "PORT#h", sk: "20000", version: 1, data: { replica: "r" } },
          ConditionExpression: "attribute_not_exists(#pk) OR #expiresAt <= :now",
          ExpressionAttributeNames: { "#pk": "pk", "#expiresAt": "expiresAt" },
          ExpressionAttributeValues: { ":now": NOW_S },
        },
      },
      { Delete: { TableName: TABLE, Key: { pk: "REP#a#w", sk: "0000" } } },
    ]);
  });

  it("maps a cancelled transaction to ConditionFailedError naming the part whose condition failed", async () => {
    // Prepare
    ddb.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: "Transaction cancelled",
        $metadata: {},
        CancellationReasons: [{ Code: "None" }, { Code: "ConditionalCheckFailed" }],
      }),
    );

    // Act
    const attempt = store.transact([
      { kind: "put", item: { pk: "a", sk: "1", data: {} }, condition: { kind: "absent" } },
      { kind: "check", pk: "lease", sk: "l", condition: { kind: "version", version: 1 } },
    ]);

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ConditionFailedError);
    await expect(attempt).rejects.toMatchObject({ pk: "lease", sk: "l" });
  });

  it("passes other errors through, and refuses a malformed transaction before any call", async () => {
    // Prepare
    ddb.on(TransactWriteCommand).rejects(new ProvisionedThroughputExceededException({ message: "slow down", $metadata: {} }));

    // Act
    const throttled = store.transact([{ kind: "check", pk: "a", sk: "1", condition: { kind: "absent" } }]);
    const empty = store.transact([]);

    // Assess
    await expect(throttled).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
    await expect(empty).rejects.toBeInstanceOf(ValidationError);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });
});
