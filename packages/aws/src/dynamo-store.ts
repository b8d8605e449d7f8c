import { isDeepStrictEqual } from "node:util";
import type { QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import {
  assertTransactShape,
  ConditionFailedError,
  type NewItem,
  type QueryInput,
  type QueryPage,
  type Store,
  type StoreItem,
  type TransactWrite,
  transactKey,
  ValidationError,
  type WriteCondition,
} from "@inferencekey/core";
import { awsConfigFromEnv } from "./aws-config";
import { type DynamoDocumentApi, httpDynamoDocumentApi } from "./dynamo-document-api";

/** DynamoDB TTL must be pointed at this attribute (infra), or expired items are never deleted. */
export const TTL_ATTRIBUTE = "expiresAt";
export const GSI1_NAME = "gsi1";

export interface DynamoStoreOptions {
  /**
   * Defaults to `httpDynamoDocumentApi` configured from the environment (`awsConfigFromEnv`);
   * `sdkDynamoDocumentApi(documentClient)` puts an SDK client behind the same port.
   */
  client?: DynamoDocumentApi;
  tableName: string;
  /** Milliseconds since the epoch; injectable so tests can move time past `expiresAt`. */
  now?: () => number;
}

/** How many times an unconditional put re-tries when it keeps racing other writers (practically never). */
const UPSERT_ATTEMPTS = 5;

/** Holds for an absent item and for one whose TTL passed but that DynamoDB has not deleted yet. */
const ABSENT = "attribute_not_exists(#pk) OR #expiresAt <= :now";
const LIVE = "(attribute_not_exists(#expiresAt) OR #expiresAt > :now)";
const VERSION_MATCHES = `#version = :version AND ${LIVE}`;

/**
 * The Store on one DynamoDB table. Conditions are evaluated by DynamoDB (ConditionExpression), so
 * they are atomic across every Lambda. TTL deletes lazily (up to days late), so every read and
 * every condition also compares `expiresAt` with the clock: an expired item is absent.
 *
 * The client retries a write whose answer was lost (a timeout, a reset connection) although DynamoDB
 * may have applied it: the retry then fails its own condition. Conditional writes therefore ask for
 * the item as it was (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), and a failed put whose item
 * is exactly what it wrote, at the version it wrote, is taken as its own earlier success (another
 * writer storing identical content at the same version is indistinguishable, and leaves the store as
 * this write wanted it). A retried versioned delete cannot tell its own success from another
 * writer's (the item is gone either way) and still reports the conflict, as the contract says; its
 * callers (lease release, tombstone removal) take that as done.
 * Transactions need no such check: both adapters send one ClientRequestToken with every attempt of
 * a TransactWriteItems, which DynamoDB answers idempotently for 10 minutes.
 */
export class DynamoStore implements Store {
  private readonly client: DynamoDocumentApi;
  private readonly tableName: string;
  private readonly now: () => number;

  constructor(options: DynamoStoreOptions) {
    this.client = options.client ?? defaultDocumentApi();
    this.tableName = options.tableName;
    this.now = options.now ?? (() => Date.now());
  }

  async get(pk: string, sk: string): Promise<StoreItem | undefined> {
    const { Item } = await this.client.send("GetItem", { TableName: this.tableName, Key: { pk, sk }, ConsistentRead: true });
    if (Item === undefined) return undefined;
    const item = fromRecord(Item);
    return item.expiresAt !== undefined && item.expiresAt <= this.nowSeconds() ? undefined : item;
  }

  async put(item: NewItem, condition: WriteCondition): Promise<StoreItem> {
    switch (condition.kind) {
      case "absent":
        return this.putIf(item, 1, ABSENT, {});
      case "version":
        return this.putIf(item, condition.version + 1, VERSION_MATCHES, { ":version": condition.version });
      case "any":
        return this.upsert(item);
    }
  }

  async delete(pk: string, sk: string, condition: WriteCondition = { kind: "any" }): Promise<void> {
    const guard = conditionFor(condition);
    const input = {
      TableName: this.tableName,
      Key: { pk, sk },
      ...(guard === undefined ? {} : this.expression(guard.expression, guard.values)),
    };
    await this.conditional(pk, sk, () => this.client.send("DeleteItem", input));
  }

  /**
   * One TransactWriteItems. Puts are conditional (absent or version), so each one's new version is
   * known before the call. A cancelled transaction names its failing part in CancellationReasons;
   * a conflict with another transaction in flight is a lost race like any other.
   */
  async transact(writes: readonly TransactWrite[]): Promise<StoreItem[]> {
    assertTransactShape(writes);
    const stored: StoreItem[] = [];
    const guarded = (condition: WriteCondition) => {
      const guard = conditionFor(condition);
      return guard === undefined ? {} : this.expression(guard.expression, guard.values);
    };
    const parts = writes.map((write) => {
      if (write.kind === "put") {
        const item = toStoreItem(write.item, write.condition.kind === "version" ? write.condition.version + 1 : 1);
        stored.push(item);
        return { Put: { TableName: this.tableName, Item: item, ...guarded(write.condition) } };
      }
      const target = { TableName: this.tableName, Key: { pk: write.pk, sk: write.sk }, ...guarded(write.condition) };
      return write.kind === "delete" ? { Delete: target } : { ConditionCheck: target as typeof target & { ConditionExpression: string } };
    });
    try {
      await this.client.send("TransactWriteItems", { TransactItems: parts });
    } catch (error) {
      const failed = failedPart(error);
      if (failed !== undefined) {
        const { pk, sk } = transactKey(writes[failed] as TransactWrite);
        throw new ConditionFailedError(pk, sk);
      }
      throw error;
    }
    return stored;
  }

  async query(input: QueryInput): Promise<QueryPage> {
    const onIndex = input.index === "gsi1";
    const hasPrefix = input.skPrefix !== undefined && input.skPrefix !== "";
    const base: QueryCommandInput = {
      TableName: this.tableName,
      ...(onIndex ? { IndexName: GSI1_NAME } : { ConsistentRead: true }),
      KeyConditionExpression: hasPrefix ? "#qpk = :qpk AND begins_with(#qsk, :prefix)" : "#qpk = :qpk",
      FilterExpression: LIVE,
      ExpressionAttributeNames: {
        "#qpk": onIndex ? "gsi1pk" : "pk",
        ...(hasPrefix ? { "#qsk": onIndex ? "gsi1sk" : "sk" } : {}),
        "#expiresAt": TTL_ATTRIBUTE,
      },
      ExpressionAttributeValues: {
        ":qpk": input.pk,
        ...(hasPrefix ? { ":prefix": input.skPrefix } : {}),
        ":now": this.nowSeconds(),
      },
      ScanIndexForward: input.descending !== true,
    };
    // Limit counts items read before the expiry filter, and a response stops at 1 MB: keep reading
    // until the page is full, so callers get `limit` items whenever that many exist.
    const want = input.limit ?? Number.POSITIVE_INFINITY;
    const items: StoreItem[] = [];
    let startKey = input.cursor === undefined ? undefined : decodeCursor(input.cursor);
    // A start key of another partition, index or prefix is no page of this query: DynamoDB would
    // refuse it with a ValidationException, a 500 to the caller.
    if (startKey !== undefined && !startsThisQuery(startKey, input)) throw invalidCursor();
    do {
      const remaining = want - items.length;
      const out = await this.client.send("Query", {
        ...base,
        ...(Number.isFinite(remaining) ? { Limit: remaining } : {}),
        ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
      });
      for (const record of out.Items ?? []) items.push(fromRecord(record));
      startKey = out.LastEvaluatedKey;
    } while (startKey !== undefined && items.length < want);
    return { items, ...(startKey === undefined ? {} : { cursor: encodeCursor(startKey) }) };
  }

  private async putIf(
    item: NewItem,
    version: number,
    expression: string,
    values: Record<string, unknown>,
  ): Promise<StoreItem> {
    const stored = toStoreItem(item, version);
    const input = {
      TableName: this.tableName,
      Item: stored,
      ...this.expression(expression, values),
      ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const,
    };
    await this.conditional(item.pk, item.sk, () => this.client.send("PutItem", input), (old) => old !== undefined && sameItem(fromRecord(old), stored));
    return stored;
  }

  /**
   * An unconditional write must still bump the version atomically, which PutItem cannot do, so it
   * is an UpdateItem. Over an expired leftover the version restarts at 1 (as on a fresh create),
   * which UpdateItem cannot express either: that rare case becomes a create-if-absent.
   */
  private async upsert(item: NewItem): Promise<StoreItem> {
    const set = ["#version = if_not_exists(#version, :zero) + :one", "#data = :data"];
    const remove: string[] = [];
    const names: Record<string, string> = {
      "#version": "version",
      "#data": "data",
      "#expiresAt": TTL_ATTRIBUTE,
    };
    const values: Record<string, unknown> = {
      ":zero": 0,
      ":one": 1,
      ":data": item.data,
    };
    for (const [name, value] of [
      ["gsi1pk", item.gsi1pk],
      ["gsi1sk", item.gsi1sk],
      [TTL_ATTRIBUTE, item.expiresAt],
    ] as const) {
      names[`#${name}`] = name;
      if (value === undefined) {
        remove.push(`#${name}`);
      } else {
        set.push(`#${name} = :${name}`);
        values[`:${name}`] = value;
      }
    }
    const update = () => ({
      TableName: this.tableName,
      Key: { pk: item.pk, sk: item.sk },
      UpdateExpression: `SET ${set.join(", ")}${remove.length > 0 ? ` REMOVE ${remove.join(", ")}` : ""}`,
      ConditionExpression: LIVE,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ...values, ":now": this.nowSeconds() },
      ReturnValues: "ALL_NEW" as const,
    });
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await this.client.send("UpdateItem", update());
        if (out.Attributes === undefined) throw new Error("UpdateItem with ALL_NEW returned no attributes");
        return fromRecord(out.Attributes);
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
      try {
        return await this.putIf(item, 1, ABSENT, {});
      } catch (error) {
        if (!(error instanceof ConditionFailedError) || attempt >= UPSERT_ATTEMPTS) throw error;
      }
    }
  }

  /**
   * Sends a conditional command; a lost condition becomes the port's ConditionFailedError, unless
   * `alreadyApplied` recognises in the item as it was (ALL_OLD) this write's own earlier success.
   */
  private async conditional(
    pk: string,
    sk: string,
    send: () => Promise<unknown>,
    alreadyApplied: (old: Record<string, unknown> | undefined) => boolean = () => false,
  ): Promise<void> {
    try {
      await send();
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // Both adapters give the item as it was in document form.
      const old = (error as { Item?: Record<string, unknown> }).Item;
      if (alreadyApplied(old)) return;
      throw new ConditionFailedError(pk, sk);
    }
  }

  /** Names for every attribute an expression may mention, and only the values it uses (DynamoDB rejects unused ones). */
  private expression(expression: string, values: Record<string, unknown>) {
    const names: Record<string, string> = {
      "#pk": "pk",
      "#version": "version",
      "#expiresAt": TTL_ATTRIBUTE,
    };
    return {
      ConditionExpression: expression,
      ExpressionAttributeNames: Object.fromEntries(
        Object.entries(names).filter(([key]) => expression.includes(key)),
      ),
      ExpressionAttributeValues: { ...values, ":now": this.nowSeconds() },
    };
  }

  private nowSeconds(): number {
    return this.now() / 1000;
  }
}

function conditionFor(
  condition: WriteCondition,
): { expression: string; values: Record<string, unknown> } | undefined {
  switch (condition.kind) {
    case "absent":
      return { expression: ABSENT, values: {} };
    case "version":
      return { expression: VERSION_MATCHES, values: { ":version": condition.version } };
    case "any":
      return undefined;
  }
}

/** The item as stored: optional attributes left out rather than written as null. */
function itemOf(item: Omit<NewItem, "data">, version: number, data: Record<string, unknown>): StoreItem {
  return {
    pk: item.pk,
    sk: item.sk,
    ...(item.gsi1pk === undefined ? {} : { gsi1pk: item.gsi1pk }),
    ...(item.gsi1sk === undefined ? {} : { gsi1sk: item.gsi1sk }),
    version,
    ...(item.expiresAt === undefined ? {} : { expiresAt: item.expiresAt }),
    data,
  };
}

/** Whether a stored item is exactly `wanted`: same keys, version, expiry and data. */
function sameItem(stored: StoreItem, wanted: StoreItem): boolean {
  return (
    stored.version === wanted.version &&
    stored.gsi1pk === wanted.gsi1pk &&
    stored.gsi1sk === wanted.gsi1sk &&
    stored.expiresAt === wanted.expiresAt &&
    isDeepStrictEqual(stored.data, wanted.data)
  );
}

/** What a put stores and returns: a copy, so the caller's object can change without changing it. */
function toStoreItem(item: NewItem, version: number): StoreItem {
  return itemOf(item, version, structuredClone(item.data));
}

/** Records are written only by this adapter, so their shape is trusted; the SDK built them fresh, so no copy. */
function fromRecord(record: Record<string, unknown>): StoreItem {
  return itemOf(
    {
      pk: record.pk as string,
      sk: record.sk as string,
      gsi1pk: record.gsi1pk as string | undefined,
      gsi1sk: record.gsi1sk as string | undefined,
      expiresAt: record.expiresAt as number | undefined,
    },
    record.version as number,
    (record.data ?? {}) as Record<string, unknown>,
  );
}

function encodeCursor(lastEvaluatedKey: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(lastEvaluatedKey), "utf8").toString("base64url");
}

function decodeCursor(cursor: string): Record<string, unknown> {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    key = undefined;
  }
  const valid =
    typeof key === "object" &&
    key !== null &&
    !Array.isArray(key) &&
    Object.values(key).every((value) => typeof value === "string");
  if (!valid) throw invalidCursor();
  return key as Record<string, unknown>;
}

/** Whether a decoded start key has exactly the key attributes of the query's table or index, inside its key condition. */
function startsThisQuery(key: Record<string, unknown>, input: QueryInput): boolean {
  const onIndex = input.index === "gsi1";
  const names = Object.keys(key).sort().join(",");
  if (names !== (onIndex ? "gsi1pk,gsi1sk,pk,sk" : "pk,sk")) return false;
  const sortKey = key[onIndex ? "gsi1sk" : "sk"] as string;
  return key[onIndex ? "gsi1pk" : "pk"] === input.pk && (input.skPrefix === undefined || sortKey.startsWith(input.skPrefix));
}

function invalidCursor(): ValidationError {
  return new ValidationError("The cursor is not one this listing returned.", [
    {
      path: "cursor",
      message: "not a cursor from a previous page",
      expected: "the cursor of the previous page",
    },
  ]);
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/**
 * The index of the part that cancelled a transaction (its condition failed, or another transaction
 * held the item), or undefined when the error is of another kind.
 */
function failedPart(error: unknown): number | undefined {
  if (errorName(error) === "TransactionConflictException") return 0;
  if (errorName(error) !== "TransactionCanceledException") return undefined;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  const index = reasons.findIndex((reason) => reason.Code === "ConditionalCheckFailed" || reason.Code === "TransactionConflict");
  return index === -1 ? undefined : index;
}

function isConditionalCheckFailed(error: unknown): boolean {
  return errorName(error) === "ConditionalCheckFailedException";
}

/** The Lambda functions' client: the DynamoDB endpoint and region from the environment, on node:http(s). */
function defaultDocumentApi(): DynamoDocumentApi {
  const config = awsConfigFromEnv();
  return httpDynamoDocumentApi({
    ...(config.region === undefined ? {} : { region: config.region }),
    ...(config.dynamodbEndpoint === undefined ? {} : { endpoint: config.dynamodbEndpoint }),
  });
}
