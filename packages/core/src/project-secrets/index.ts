import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import * as z from "zod/mini";
import "../zod";
import { ConditionFailedError, ConflictError, ForbiddenError, NotFoundError, ValidationError } from "../errors";
import { isoNow, keys, type PlatformContext } from "../platform/context";
import { getProject } from "../projects";
import type { ServerSecretKeyring, ServerSecretVersion } from "../secrets";
import { queryAll } from "../store";
import type { Principal } from "../tokens";

/**
 * Per-project secrets: environment variables (such as `HF_TOKEN`) the agent puts in the environment
 * of every backend of the project. Values are encrypted at rest with AES-256-GCM under a key derived
 * by HKDF from the server secret, and are never returned by the control API once set: only the
 * agent API hands them out, to the project's own workers.
 */

/** An environment variable name: what a shell and every backend can read. */
export const PROJECT_SECRET_NAME_PATTERN = /^[A-Z_][A-Z0-9_]{0,127}$/;
/** Longest value, in UTF-8 bytes. */
export const MAX_PROJECT_SECRET_VALUE_BYTES = 16 * 1024;
/** Most secrets one project holds (every backend's environment carries them all). */
export const MAX_PROJECT_SECRETS = 100;
/** Prefixes the platform and the dynamic loader own: a secret there would change what the agent or the loader does. */
export const RESERVED_PROJECT_SECRET_PREFIXES = ["INFERENCEKEY_", "LD_"] as const;
/**
 * Names the agent sets for every backend (packages/agent's buildCommand: HOST, PORT,
 * CUDA_VISIBLE_DEVICES, VLLM_API_KEY, OLLAMA_HOST, PATH and VIRTUAL_ENV of a pinned vllm_version)
 * and names that would change which programs or devices a backend gets (HOME, NVIDIA_VISIBLE_DEVICES).
 */
export const RESERVED_PROJECT_SECRET_NAMES: ReadonlySet<string> = new Set([
  "PATH",
  "HOME",
  "PORT",
  "HOST",
  "CUDA_VISIBLE_DEVICES",
  "NVIDIA_VISIBLE_DEVICES",
  "VLLM_API_KEY",
  "OLLAMA_HOST",
  "VIRTUAL_ENV",
]);

const ALGORITHM = "aes-256-gcm";
const NONCE_BYTES = 12;
const HKDF_SALT = "inferencekey/project-secrets/v1";

/** A project secret as stored: the value only as ciphertext. */
interface StoredProjectSecret {
  name: string;
  project: string;
  algorithm: typeof ALGORITHM;
  /** The server secret version (of the keyring) whose key encrypted it: after a rotation, older values still decrypt. */
  key_version: string;
  nonce: string;
  ciphertext: string;
  tag: string;
  created_at: string;
  updated_at: string;
}

/** What the control API shows of a secret: never its value. */
export interface ProjectSecretInfo {
  name: string;
  created_at: string;
  updated_at: string;
}

export const ProjectSecretInputSchema = z.strictObject({
  value: z.string({ error: "expected a string" }),
});

/** Why `name` cannot be a project secret's name, or undefined when it can. */
export function projectSecretNameProblem(name: string): string | undefined {
  if (!PROJECT_SECRET_NAME_PATTERN.test(name)) {
    return "not an environment variable name: 1-128 characters, uppercase letters, digits and '_', not starting with a digit";
  }
  const prefix = RESERVED_PROJECT_SECRET_PREFIXES.find((p) => name.startsWith(p));
  if (prefix !== undefined) return `names starting with ${prefix} are reserved for the platform and the loader`;
  if (RESERVED_PROJECT_SECRET_NAMES.has(name)) return `${name} is set by the agent for every backend`;
  return undefined;
}

function assertName(name: string): void {
  const problem = projectSecretNameProblem(name);
  if (problem === undefined) return;
  throw new ValidationError(`"${name.slice(0, 140)}" cannot name a project secret.`, [
    {
      path: "name",
      message: problem,
      received: name.slice(0, 140),
      expected: `an environment variable name matching ${PROJECT_SECRET_NAME_PATTERN.source}, not ${RESERVED_PROJECT_SECRET_PREFIXES.join("* or ")}* nor one of ${[...RESERVED_PROJECT_SECRET_NAMES].join(", ")}`,
    },
  ]);
}

/** The value is never quoted back: a rejected value is still mostly a secret. */
function assertValue(value: string): void {
  const bytes = Buffer.byteLength(value, "utf8");
  const problem =
    value.length === 0
      ? "is empty"
      : bytes > MAX_PROJECT_SECRET_VALUE_BYTES
        ? `is ${bytes} bytes long`
        : value.includes("\0")
          ? "contains a NUL character, which no environment variable can hold"
          : undefined;
  if (problem === undefined) return;
  throw new ValidationError(`The secret value ${problem}.`, [
    { path: "value", message: `the value ${problem}`, expected: `a string of 1 to ${MAX_PROJECT_SECRET_VALUE_BYTES} UTF-8 bytes without NUL characters` },
  ]);
}

/** Who may touch a project's secrets: a token scoped to that project, or the organisation admin token. */
async function authorize(ctx: PlatformContext, principal: Principal, project: string): Promise<void> {
  await getProject(ctx, principal, project);
  if (principal.project === undefined && !principal.admin) {
    throw new ForbiddenError("Project secrets need a token scoped to this project or the organisation admin token.");
  }
}

/** The server secret versions still accepted: the current one encrypts, every one decrypts. */
function keyringOf(ctx: PlatformContext): ServerSecretKeyring {
  return ctx.serverSecretKeyring ?? { current: { version: "1", secret: ctx.serverSecret }, previous: [] };
}

/** The AES-256 key of one server secret version: HKDF-SHA256, never stored. */
function keyOf(serverSecret: ServerSecretVersion): Buffer {
  return Buffer.from(hkdfSync("sha256", serverSecret.secret, HKDF_SALT, `${ALGORITHM}:v${serverSecret.version}`, 32));
}

/** Binds a ciphertext to its project and name: moved to another item, it no longer decrypts. */
function associatedData(project: string, name: string): Buffer {
  return Buffer.from(`${project}\n${name}`, "utf8");
}

function encrypt(serverSecret: ServerSecretVersion, project: string, name: string, value: string) {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(ALGORITHM, keyOf(serverSecret), nonce);
  cipher.setAAD(associatedData(project, name));
  const ciphertext = Buffer.concat([cipher.update(value, "utf8"), cipher.final()]);
  return {
    algorithm: ALGORITHM,
    key_version: serverSecret.version,
    nonce: nonce.toString("base64"),
    ciphertext: ciphertext.toString("base64"),
    tag: cipher.getAuthTag().toString("base64"),
  } as const;
}

/**
 * The plaintext, or undefined when the keyring no longer holds the version that encrypted it (a
 * previous version removed too soon) or the item was tampered with (GCM's tag fails).
 */
function decrypt(ctx: PlatformContext, stored: StoredProjectSecret): string | undefined {
  const keyring = keyringOf(ctx);
  const serverSecret = [keyring.current, ...keyring.previous].find((v) => v.version === stored.key_version);
  if (serverSecret === undefined || stored.algorithm !== ALGORITHM) return undefined;
  try {
    const decipher = createDecipheriv(ALGORITHM, keyOf(serverSecret), Buffer.from(stored.nonce, "base64"));
    decipher.setAAD(associatedData(stored.project, stored.name));
    decipher.setAuthTag(Buffer.from(stored.tag, "base64"));
    return Buffer.concat([decipher.update(Buffer.from(stored.ciphertext, "base64")), decipher.final()]).toString("utf8");
  } catch {
    return undefined;
  }
}

function infoOf(stored: StoredProjectSecret): ProjectSecretInfo {
  return { name: stored.name, created_at: stored.created_at, updated_at: stored.updated_at };
}

async function storedSecrets(ctx: PlatformContext, project: string) {
  return queryAll(ctx.store, { pk: keys.projectSecret(project, "").pk, skPrefix: keys.projectSecretPrefix() });
}

/**
 * Sets (creates or replaces) a project secret. Answers what a listing shows, never the value.
 *
 * @example
 * ```ts
 * await setProjectSecret(ctx, principal, "acme", "HF_TOKEN", { value: "hf_..." });
 * ```
 */
export async function setProjectSecret(
  ctx: PlatformContext,
  principal: Principal,
  project: string,
  name: string,
  input: z.output<typeof ProjectSecretInputSchema>,
): Promise<{ secret: ProjectSecretInfo; created: boolean }> {
  await authorize(ctx, principal, project);
  assertName(name);
  assertValue(input.value);
  const key = keys.projectSecret(project, name);
  for (let attempt = 0; attempt < 5; attempt++) {
    const existing = await ctx.store.get(key.pk, key.sk);
    if (existing === undefined) {
      const count = (await storedSecrets(ctx, project)).length;
      if (count >= MAX_PROJECT_SECRETS) {
        throw new ConflictError(`project "${project}" already holds ${count} secrets, the most one project may hold (${MAX_PROJECT_SECRETS}); delete one first`);
      }
    }
    const now = isoNow(ctx);
    const stored: StoredProjectSecret = {
      name,
      project,
      ...encrypt(keyringOf(ctx).current, project, name, input.value),
      created_at: (existing?.data as StoredProjectSecret | undefined)?.created_at ?? now,
      updated_at: now,
    };
    try {
      await ctx.store.put(
        { ...key, data: { ...stored } },
        existing === undefined ? { kind: "absent" } : { kind: "version", version: existing.version },
      );
      return { secret: infoOf(stored), created: existing === undefined };
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  }
  throw new ConflictError(`secret ${name} of project "${project}" is being changed concurrently; try again`);
}

/** The project's secrets: names and times only. */
export async function listProjectSecrets(ctx: PlatformContext, principal: Principal, project: string): Promise<ProjectSecretInfo[]> {
  await authorize(ctx, principal, project);
  return (await storedSecrets(ctx, project)).map((item) => infoOf(item.data as unknown as StoredProjectSecret));
}

export async function deleteProjectSecret(
  ctx: PlatformContext,
  principal: Principal,
  project: string,
  name: string,
): Promise<{ name: string; deleted: true }> {
  await authorize(ctx, principal, project);
  assertName(name);
  const key = keys.projectSecret(project, name);
  const existing = await ctx.store.get(key.pk, key.sk);
  if (existing === undefined) throw new NotFoundError(`project "${project}" has no secret ${name}`);
  try {
    await ctx.store.delete(key.pk, key.sk, { kind: "version", version: existing.version });
  } catch (error) {
    if (error instanceof ConditionFailedError) throw new ConflictError(`secret ${name} of project "${project}" changed meanwhile; try again`);
    throw error;
  }
  return { name, deleted: true };
}

/** Removes every secret of a project (when the project itself is deleted): a re-created slug starts with none. */
export async function deleteAllProjectSecrets(ctx: PlatformContext, project: string): Promise<void> {
  for (const item of await storedSecrets(ctx, project)) await ctx.store.delete(item.pk, item.sk, { kind: "any" });
}

/**
 * The decrypted secrets of a project, for the agent API alone (its own workers' assignments).
 * A value still under a previous server secret version's key is re-encrypted under the current one
 * (a conditional write; losing the race to a concurrent change is fine). `undecryptable` names
 * values no accepted version opens: they are left out, and the operator restores that version.
 */
export async function readProjectSecretValues(
  ctx: PlatformContext,
  project: string,
): Promise<{ values: Record<string, string>; undecryptable: string[] }> {
  const values: Record<string, string> = {};
  const undecryptable: string[] = [];
  const current = keyringOf(ctx).current;
  for (const item of await storedSecrets(ctx, project)) {
    const stored = item.data as unknown as StoredProjectSecret;
    const value = decrypt(ctx, stored);
    if (value === undefined) {
      undecryptable.push(stored.name);
      continue;
    }
    values[stored.name] = value;
    if (stored.key_version !== current.version) {
      const reencrypted: StoredProjectSecret = { ...stored, ...encrypt(current, stored.project, stored.name, value) };
      await ctx.store.put({ pk: item.pk, sk: item.sk, data: { ...reencrypted } }, { kind: "version", version: item.version }).catch((error) => {
        if (!(error instanceof ConditionFailedError)) throw error;
      });
    }
  }
  return { values, undecryptable };
}
