import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { parse, stringify } from "smol-toml";
import { CliError, EXIT } from "./errors";

/** Where a command's credentials come from, resolved once per run. */
export interface Credentials {
  baseUrl: string;
  token: string;
  project: string | undefined;
  /** Where each value came from, for `inferencekey whoami`-style messages. */
  source: "environment" | "profile";
}

export interface Profile {
  base_url?: string;
  token?: string;
  project?: string;
}

/** `$XDG_CONFIG_HOME/inferencekey/config.toml`, else `~/.config/inferencekey/config.toml`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== "" ? env.XDG_CONFIG_HOME : join(env.HOME ?? homedir(), ".config");
  return join(base, "inferencekey", "config.toml");
}

/** The profiles of the config file (an absent file has none). A malformed file is an error naming it. */
export function readProfiles(path: string): Record<string, Profile> {
  if (!existsSync(path)) return {};
  let parsed: Record<string, unknown>;
  try {
    parsed = parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new CliError(`${path} is not valid TOML: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`, EXIT.invalidInput);
  }
  const profiles: Record<string, Profile> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) continue;
    const section = value as Record<string, unknown>;
    profiles[name] = {
      ...(typeof section.base_url === "string" ? { base_url: section.base_url } : {}),
      ...(typeof section.token === "string" ? { token: section.token } : {}),
      ...(typeof section.project === "string" ? { project: section.project } : {}),
    };
  }
  return profiles;
}

/**
 * Writes one profile, keeping the others, readable by this user only (0600 in a 0700 folder): the
 * file holds a control token. Written to a temporary name and renamed, so it is never half there.
 */
export function writeProfile(path: string, name: string, profile: Profile): void {
  const profiles = { ...readProfiles(path), [name]: profile };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `# Written by \`inferencekey login\`: holds control tokens, keep it private.\n${stringify(profiles)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

/**
 * The environment first (INFERENCEKEY_BASE_URL, INFERENCEKEY_SDK_TOKEN, INFERENCEKEY_PROJECT, as the
 * SDKs read it), else the profile file; `--project` overrides both for the project.
 */
export function resolveCredentials(options: { project?: string; profile?: string }, env: NodeJS.ProcessEnv = process.env): Credentials {
  const fromEnv = env.INFERENCEKEY_SDK_TOKEN?.trim();
  if (fromEnv !== undefined && fromEnv !== "") {
    return {
      baseUrl: env.INFERENCEKEY_BASE_URL?.trim() || "https://api.inferencekey.com",
      token: fromEnv,
      project: options.project ?? (env.INFERENCEKEY_PROJECT?.trim() || undefined),
      source: "environment",
    };
  }
  const path = configPath(env);
  const name = options.profile ?? "default";
  const profile = readProfiles(path)[name];
  if (profile?.token === undefined) {
    throw new CliError("no credentials: set INFERENCEKEY_SDK_TOKEN (and INFERENCEKEY_BASE_URL), or run `inferencekey login`", EXIT.authentication, [
      `looked in the environment and in ${path} (profile "${name}")`,
      "under `npm start`: source .inferencekey/dev.env",
    ]);
  }
  return {
    baseUrl: profile.base_url ?? "https://api.inferencekey.com",
    token: profile.token,
    project: options.project ?? (env.INFERENCEKEY_PROJECT?.trim() || profile.project),
    source: "profile",
  };
}
