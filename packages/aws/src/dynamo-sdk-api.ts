import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDocumentApi, DynamoDocumentOperations, DynamoOperation } from "./dynamo-document-api";

/**
 * The document API over an AWS SDK `DynamoDBDocumentClient` (for aws-sdk-client-mock tests, and
 * for callers that need the SDK's credential chain). lib-dynamodb leaves the items in
 * errors (a failed condition's, a cancelled transaction's reasons') in DynamoDB JSON; the port gives
 * them in document form, as the HTTP adapter does.
 */
const toDocument = (item: unknown) => unmarshall(item as Parameters<typeof unmarshall>[0]);

export function sdkDynamoDocumentApi(client: DynamoDBDocumentClient): DynamoDocumentApi {
  const commands: {
    [O in DynamoOperation]: (
      input: DynamoDocumentOperations[O]["input"],
    ) => Promise<DynamoDocumentOperations[O]["output"]>;
  } = {
    GetItem: (input) => client.send(new GetCommand(input)),
    PutItem: (input) => client.send(new PutCommand(input)),
    UpdateItem: (input) => client.send(new UpdateCommand(input)),
    DeleteItem: (input) => client.send(new DeleteCommand(input)),
    Query: (input) => client.send(new QueryCommand(input)),
    TransactWriteItems: (input) => client.send(new TransactWriteCommand(input)),
  };
  return {
    async send(operation, input) {
      try {
        return await (commands[operation] as (input: unknown) => Promise<never>)(input);
      } catch (error) {
        const fields = error as Record<string, unknown>;
        if (error instanceof Error && fields.Item !== undefined && fields.Item !== null) fields.Item = toDocument(fields.Item);
        if (error instanceof Error && Array.isArray(fields.CancellationReasons)) {
          fields.CancellationReasons = (fields.CancellationReasons as Record<string, unknown>[]).map((reason) =>
            reason.Item === undefined || reason.Item === null ? reason : { ...reason, Item: toDocument(reason.Item) },
          );
        }
        throw error;
      }
    },
  };
}
