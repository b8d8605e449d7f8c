import { ConditionFailedError, ForbiddenError, NotFoundError, UnauthorizedError, ValidationError } from "../errors";
import { newId } from "../ids";
import { getSecretItem, isoNow, keys, type PlatformContext } from "../platform/context";
import { describeSecretProblem, generateSecret, secretHint, storedSecretDigest } from "../secrets";
import { queryAll } from "../store";

/** An `ik_sdk_` control token as stored: the digest is the item's key, never the token. */
export interface TokenRecord {
  kind: "sdk";
  id: string;
  name: string;
  /** Organisation-scoped tokens see every project; project-scoped ones see only theirs. */
  project?: string;
  admin: boolean;
  prefix: string;
  last4: string;
  created_at: string;
  revoked_at?: string;
}

/** Who is calling the control API. */
export interface Principal {
  tokenId: string;
  /** undefined for organisation-scoped tokens. */
  project?: string;
  admin: boolean;
}

export interface CreatedToken {
  token: TokenRecord;
  /** The plaintext token: returned once, never stored. */
  secret: string;
}

async function storeToken(
  ctx: PlatformContext,
  input: { name: string; project?: string; admin: boolean },
  secret = generateSecret("sdk"),
): Promise<CreatedToken> {
  const hint = secretHint(secret);
  const token: TokenRecord = {
    kind: "sdk",
    id: newId("tok"),
    name: input.name,
    ...(input.project === undefined ? {} : { project: input.project }),
    admin: input.admin,
    prefix: hint.prefix,
    last4: hint.last4,
    created_at: isoNow(ctx),
  };
  await ctx.store.put(
    {
      ...keys.secret(storedSecretDigest(ctx, secret)),
      gsi1pk: keys.tokensIndex(),
      gsi1sk: token.id,
      data: { ...token },
    },
    { kind: "absent" },
  );
  return { token, secret };
}

/**
 * First-time setup: creates the organisation admin token exactly once. Returns it the one time it
 * is created and undefined ever after (even under concurrent starts: the setup item is create-only).
 */
export async function bootstrapAdminToken(ctx: PlatformContext): Promise<CreatedToken | undefined> {
  if (await ctx.store.get(keys.setup().pk, keys.setup().sk)) return undefined;
  const created = await storeToken(ctx, { name: "organisation admin", admin: true });
  try {
    await ctx.store.put({ ...keys.setup(), data: { admin_token_id: created.token.id, at: isoNow(ctx) } }, { kind: "absent" });
  } catch (error) {
    if (!(error instanceof ConditionFailedError)) throw error;
    await revokeTokenById(ctx, created.token.id);
    return undefined;
  }
  return created;
}

/** Replaces the organisation admin token (for an operator who lost it): the old one stops working. */
export async function resetAdminToken(ctx: PlatformContext): Promise<CreatedToken> {
  const setup = await ctx.store.get(keys.setup().pk, keys.setup().sk);
  const created = await storeToken(ctx, { name: "organisation admin", admin: true });
  const previous = setup?.data.admin_token_id;
  await ctx.store.put(
    { ...keys.setup(), data: { admin_token_id: created.token.id, at: isoNow(ctx) } },
    setup ? { kind: "version", version: setup.version } : { kind: "absent" },
  );
  if (typeof previous === "string") await revokeTokenById(ctx, previous);
  return created;
}

export interface AuthenticateOptions {
  /**
   * Appended when a revoked organisation admin token is used: where the current one is (under
   * `npm start`, dev.env, which a restart rewrites when it replaces a lost admin token).
   */
  revokedAdminTokenHint?: string;
}

export async function authenticateSdkToken(
  ctx: PlatformContext,
  authorization: string | null,
  options: AuthenticateOptions = {},
): Promise<Principal> {
  const secret = bearer(authorization);
  if (secret === undefined) throw new UnauthorizedError();
  if (secret.startsWith("ik_live_")) {
    throw new UnauthorizedError(
      "ik_live_ keys call workload endpoints (/endpoint/...); the control API needs an ik_sdk_ token.",
    );
  }
  if (secret.startsWith("ik_wrk_")) {
    throw new UnauthorizedError("worker tokens are for the agent API; the control API needs an ik_sdk_ token.");
  }
  const problem = describeSecretProblem("sdk", secret);
  if (problem !== undefined) throw new UnauthorizedError(`The token is malformed: ${problem}.`);
  const item = await getSecretItem(ctx, secret);
  const record = item?.data as TokenRecord | undefined;
  if (record?.kind !== "sdk") throw new UnauthorizedError("The token is not recognised.");
  if (record.revoked_at !== undefined) {
    const hint = record.admin ? options.revokedAdminTokenHint : undefined;
    throw new UnauthorizedError(hint === undefined ? "The token has been revoked." : `The token has been revoked. ${hint}`);
  }
  return { tokenId: record.id, ...(record.project === undefined ? {} : { project: record.project }), admin: record.admin };
}

/** Longest Authorization header read (every secret is under 60 characters); checked before the pattern runs. */
export const MAX_AUTHORIZATION_LENGTH = 512;
const BEARER_PATTERN = /^Bearer\s+(\S+)\s*$/i;

/** The credential of `Authorization: Bearer <credential>`, or undefined when the header is absent, too long or of another form. */
export function bearer(authorization: string | null): string | undefined {
  if (authorization === null || authorization.length > MAX_AUTHORIZATION_LENGTH) return undefined;
  return BEARER_PATTERN.exec(authorization)?.[1];
}

export function requireAdmin(principal: Principal): void {
  if (!principal.admin) throw new ForbiddenError("This call needs the organisation admin token.");
}

export async function createToken(
  ctx: PlatformContext,
  principal: Principal,
  input: { name: string; project?: string },
): Promise<CreatedToken> {
  requireAdmin(principal);
  if (input.project !== undefined && !(await ctx.store.get(keys.project(input.project).pk, keys.project(input.project).sk))) {
    throw new ValidationError("The token names a project that does not exist.", [
      { path: "project", message: `project "${input.project}" does not exist`, received: input.project, expected: "an existing project slug" },
    ]);
  }
  return storeToken(ctx, { name: input.name, ...(input.project === undefined ? {} : { project: input.project }), admin: false });
}

export async function listTokens(ctx: PlatformContext, principal: Principal): Promise<TokenRecord[]> {
  requireAdmin(principal);
  return (await queryAll(ctx.store, { pk: keys.tokensIndex(), index: "gsi1" })).map((i) => i.data as unknown as TokenRecord);
}

export async function revokeToken(ctx: PlatformContext, principal: Principal, tokenId: string): Promise<TokenRecord> {
  requireAdmin(principal);
  if (tokenId === principal.tokenId) {
    throw new ValidationError("A token cannot revoke itself.", [
      { path: "token_id", message: "this is the token making the call", received: tokenId },
    ]);
  }
  const revoked = await revokeTokenById(ctx, tokenId);
  if (!revoked) throw new NotFoundError(`token ${tokenId} not found`);
  return revoked;
}

async function revokeTokenById(ctx: PlatformContext, tokenId: string): Promise<TokenRecord | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const page = await ctx.store.query({ pk: keys.tokensIndex(), index: "gsi1", skPrefix: tokenId });
    const item = page.items.find((i) => (i.data as unknown as TokenRecord).id === tokenId);
    if (!item) return undefined;
    const record = item.data as unknown as TokenRecord;
    if (record.revoked_at !== undefined) return record;
    const updated: TokenRecord = { ...record, revoked_at: isoNow(ctx) };
    try {
      await ctx.store.put({ ...item, data: { ...updated } }, { kind: "version", version: item.version });
      return updated;
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  }
  throw new ConditionFailedError("tokens", tokenId);
}
