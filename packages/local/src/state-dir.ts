import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Writes a file atomically (temp + rename) with owner-only permissions: state must never be half-written. */
export function writePrivateFile(path: string, content: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, content, { mode: 0o600 });
  renameSync(temp, path);
}

export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** The HMAC key for secret digests: generated once, kept beside (never inside) the store. */
export function loadServerSecret(dir: string): string {
  const path = join(dir, "server-secret");
  if (!existsSync(path)) writePrivateFile(path, randomBytes(32).toString("hex"));
  return readFileSync(path, "utf8").trim();
}

export interface DevEnv {
  baseUrl?: string;
  sdkToken?: string;
}

export function readDevEnv(path: string): DevEnv {
  if (!existsSync(path)) return {};
  const env: DevEnv = {};
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const match = /^export\s+([A-Z_]+)=["']?([^"'\n]*)["']?$/.exec(line.trim());
    if (match?.[1] === "INFERENCEKEY_BASE_URL") env.baseUrl = match[2];
    if (match?.[1] === "INFERENCEKEY_SDK_TOKEN") env.sdkToken = match[2];
  }
  return env;
}

export function writeDevEnv(path: string, env: Required<DevEnv>): void {
  writePrivateFile(
    path,
    [
      "# Written by `npm start`: load with `source .inferencekey/dev.env`.",
      "# INFERENCEKEY_SDK_TOKEN is the organisation admin token: keep this file private.",
      `export INFERENCEKEY_BASE_URL=${env.baseUrl}`,
      `export INFERENCEKEY_SDK_TOKEN=${env.sdkToken}`,
      "",
    ].join("\n"),
  );
}
