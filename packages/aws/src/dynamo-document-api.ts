import { randomUUID } from "node:crypto";
import type {
  DeleteCommandInput,
  DeleteCommandOutput,
  GetCommandInput,
  GetCommandOutput,
  PutCommandInput,
  PutCommandOutput,
  QueryCommandInput,
  QueryCommandOutput,
  TransactWriteCommandInput,
  TransactWriteCommandOutput,
  UpdateCommandInput,
  UpdateCommandOutput,
} from "@aws-sdk/lib-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { AwsJsonClient, type AwsJsonClientOptions } from "./aws-json-client";

/**
 * The DynamoDB calls the store makes, in document form (plain values in and out, as
 * `@aws-sdk/lib-dynamodb` takes and gives them): the port `DynamoStore` is written against. Two
 * adapters, run by the same contract suite on dynalite and moto: `httpDynamoDocumentApi` (the
 * Lambda functions' own, on `AwsJsonClient`, almost free to load) and `sdkDynamoDocumentApi`
 * (`dynamo-sdk-api.ts`, over an SDK `DynamoDBDocumentClient`, for aws-sdk-client-mock tests and
 * for callers that need the SDK's credential chain).
 */
export interface DynamoDocumentOperations {
  GetItem: { input: GetCommandInput; output: Pick<GetCommandOutput, "Item"> };
  PutItem: { input: PutCommandInput; output: Pick<PutCommandOutput, "Attributes"> };
  UpdateItem: { input: UpdateCommandInput; output: Pick<UpdateCommandOutput, "Attributes"> };
  DeleteItem: { input: DeleteCommandInput; output: Pick<DeleteCommandOutput, "Attributes"> };
  Query: { input: QueryCommandInput; output: Pick<QueryCommandOutput, "Items" | "LastEvaluatedKey"> };
  TransactWriteItems: {
    input: TransactWriteCommandInput;
    output: Pick<TransactWriteCommandOutput, "$metadata"> | Record<string, never>;
  };
}

export type DynamoOperation = keyof DynamoDocumentOperations;

export interface DynamoDocumentApi {
  /**
   * One call. Errors carry AWS's code as `name` (e.g. `ConditionalCheckFailedException`) and, in
   * document form, the item a failed condition returned (`Item`) and a cancelled transaction's
   * `CancellationReasons`.
   */
  send<O extends DynamoOperation>(
    operation: O,
    input: DynamoDocumentOperations[O]["input"],
  ): Promise<DynamoDocumentOperations[O]["output"]>;
}

type AttributeMap = Record<string, unknown>;
// Store data is JSON-shaped: drop `undefined` fields as JSON.stringify would, rather than throw.
const toAttributes = (value: AttributeMap): AttributeMap =>
  mapAttributeValues(marshall(value, { removeUndefinedValues: true }), (bytes) => Buffer.from(bytes as Uint8Array).toString("base64"));
const fromAttributes = (value: unknown): AttributeMap =>
  unmarshall(mapAttributeValues(value as AttributeMap, (text) => new Uint8Array(Buffer.from(text as string, "base64"))) as Parameters<typeof unmarshall>[0]);

/**
 * DynamoDB JSON carries binary values (B, BS) base64-encoded, where marshall and unmarshall work on
 * bytes: converts them, through maps and lists, in a map of attribute values.
 */
function mapAttributeValues(map: AttributeMap, convert: (value: unknown) => unknown): AttributeMap {
  const value = (attribute: unknown): unknown => {
    if (typeof attribute !== "object" || attribute === null) return attribute;
    const typed = attribute as AttributeMap;
    if ("B" in typed) return { B: convert(typed.B) };
    if ("BS" in typed && Array.isArray(typed.BS)) return { BS: typed.BS.map(convert) };
    if ("M" in typed && typeof typed.M === "object" && typed.M !== null) return { M: mapAttributeValues(typed.M as AttributeMap, convert) };
    if ("L" in typed && Array.isArray(typed.L)) return { L: typed.L.map(value) };
    return attribute;
  };
  return Object.fromEntries(Object.entries(map).map(([name, attribute]) => [name, value(attribute)]));
}
const mapIfSet = (record: AttributeMap, key: string, map: (value: AttributeMap) => AttributeMap) => {
  if (record[key] !== undefined && record[key] !== null) record[key] = map(record[key] as AttributeMap);
};

/** An input in document form -> DynamoDB JSON (the fields lib-dynamodb marshalls for these calls). */
function marshallInput(input: AttributeMap): AttributeMap {
  const wire: AttributeMap = { ...input };
  for (const key of ["Key", "Item", "ExpressionAttributeValues", "ExclusiveStartKey"])
    mapIfSet(wire, key, toAttributes);
  if (Array.isArray(wire.TransactItems)) {
    wire.TransactItems = (wire.TransactItems as AttributeMap[]).map((part) =>
      Object.fromEntries(
        Object.entries(part).map(([kind, body]) => [kind, marshallInput(body as AttributeMap)]),
      ),
    );
  }
  return wire;
}

/** An answer (or an error's fields) in DynamoDB JSON -> document form. */
function unmarshallOutput(output: AttributeMap): AttributeMap {
  const document: AttributeMap = { ...output };
  for (const key of ["Item", "Attributes", "LastEvaluatedKey"]) mapIfSet(document, key, fromAttributes);
  if (Array.isArray(document.Items)) document.Items = (document.Items as unknown[]).map(fromAttributes);
  return document;
}

export type HttpDynamoDocumentApiOptions = Omit<AwsJsonClientOptions, "service">;

/**
 * The document API on `AwsJsonClient`. Like the SDK, every TransactWriteItems carries one
 * ClientRequestToken for all of its tries, so DynamoDB applies a retried transaction once.
 */
export function httpDynamoDocumentApi(options: HttpDynamoDocumentApiOptions = {}): DynamoDocumentApi {
  const client = new AwsJsonClient({ ...options, service: "dynamodb" });
  return {
    async send(operation, input) {
      const wire = marshallInput(input as AttributeMap);
      if (operation === "TransactWriteItems" && wire.ClientRequestToken === undefined)
        wire.ClientRequestToken = randomUUID();
      try {
        return unmarshallOutput(await client.call(operation, wire)) as never;
      } catch (error) {
        if (error instanceof Error && "Item" in error && error.Item !== undefined) {
          (error as unknown as AttributeMap).Item = fromAttributes(error.Item);
        }
        if (
          error instanceof Error &&
          "CancellationReasons" in error &&
          Array.isArray(error.CancellationReasons)
        ) {
          (error as unknown as AttributeMap).CancellationReasons = (
            error.CancellationReasons as AttributeMap[]
          ).map((reason) => {
            const document = { ...reason };
            mapIfSet(document, "Item", fromAttributes);
            return document;
          });
        }
        throw error;
      }
    },
  };
}
