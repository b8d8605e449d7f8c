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
 * for callers that need the SDK's credential chain). lib-dynamodb leaves the item a failed
 * condition returns in DynamoDB JSON; the port gives it in document form, as the HTTP adapter does.
 */
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
        if (error instanceof Error && "Item" in error && error.Item !== undefined && error.Item !== null) {
          (error as unknown as Record<string, unknown>).Item = unmarshall(
            error.Item as Parameters<typeof unmarshall>[0],
          );
        }
        throw error;
      }
    },
  };
}
