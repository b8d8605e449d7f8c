import { platformFunction, TABLE_ITEM_ACTIONS, tablePermissions } from "./functions";

// Hands out the first organisation admin token to the account's operator (`aws lambda invoke`,
// the command in the outputs). No URL: only principals of the account allowed to invoke it get a token.
export const adminToken = new sst.aws.Function(
  "AdminToken",
  platformFunction({
    service: "admin-token",
    handler: "functions/admin-token.handler",
    timeout: "30 seconds",
    memory: "256 MB",
    permissions: tablePermissions(TABLE_ITEM_ACTIONS),
  }),
);

export const outputs = {
  firstAdminToken: $interpolate`aws lambda invoke --region ${aws.getRegionOutput().region} --function-name ${adminToken.name} --cli-binary-format raw-in-base64-out --payload '{}' /dev/stdout`,
};
