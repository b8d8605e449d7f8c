import { isProduction } from "./options";

// The single DynamoDB table (see packages/core/src/platform/context.ts for its keys and
// packages/aws/src/dynamo-store.ts createTableInput for the same definition used by tests).
// Production tables cannot be deleted by a stray `sst remove` or console click.
export const table = new sst.aws.Dynamo("Store", {
  fields: { pk: "string", sk: "string", gsi1pk: "string", gsi1sk: "string" },
  primaryIndex: { hashKey: "pk", rangeKey: "sk" },
  globalIndexes: { gsi1: { hashKey: "gsi1pk", rangeKey: "gsi1sk" } },
  ttl: "expiresAt",
  deletionProtection: isProduction,
});

export const outputs = { table: table.name };
