import { lambdaPlatformContext } from "@inferencekey/aws/env";
import { bootstrapAdminToken, resetAdminToken } from "@inferencekey/core";
import { entryTools, invokedEntry } from "./lib/lambda-entry";

const tools = entryTools("admin-token");
const ctx = lambdaPlatformContext(tools.secrets);

interface AdminTokenRequest {
  /** Replace the organisation admin token (the old one stops working): for an operator who lost it. */
  reset?: boolean;
}

type AdminTokenResult = { admin_token: string; token_id: string } | { admin_token: null; message: string };

/**
 * Hands out the first organisation admin token, once, to whoever may invoke this function (no URL:
 * `aws lambda invoke` with the account's own credentials, the command the deployment outputs).
 * Invoked again it answers that the token was handed out; `{"reset": true}` replaces it. The
 * token is in the invocation's response only, never in a log.
 */
export const handler = invokedEntry<AdminTokenRequest | null, AdminTokenResult>(tools).handler(async (event) => {
  const created = event?.reset === true ? await resetAdminToken(ctx) : await bootstrapAdminToken(ctx);
  if (created === undefined) {
    return {
      admin_token: null,
      message: 'The first admin token was handed out already. Invoke with the payload {"reset": true} to replace it (the old one stops working).',
    };
  }
  tools.logger.info("admin token issued", { token_id: created.token.id, reset: event?.reset === true });
  return { admin_token: created.secret, token_id: created.token.id };
});
