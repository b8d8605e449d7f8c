#!/usr/bin/env node
// Builds the console into dist/ with Vite. `--if-stale` builds only when the sources differ from
// the last build's (a digest of every source file, kept in dist/build-info.json), so `npm install`
// (postinstall) and `npm start` both run it without a step the user must know, cheaply when fresh.
// The new build is written beside dist/ and swapped in, so a server never reads a half-written one.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const infoPath = join(dist, "build-info.json");
const sdkSources = join(root, "../sdk/src");

function filesUnder(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

function sourceDigest() {
  const hash = createHash("sha256");
  const files = [
    ...filesUnder(join(root, "src")),
    ...filesUnder(sdkSources),
    ...filesUnder(join(root, "../core/src")),
    join(root, "index.html"),
    join(root, "vite.config.mjs"),
    join(root, "package.json"),
  ].sort();
  for (const file of files) {
    hash.update(relative(root, file));
    hash.update("\0");
    hash.update(readFileSync(file));
    hash.update("\0");
  }
  return hash.digest("hex");
}

const digest = sourceDigest();
if (process.argv.includes("--if-stale") && existsSync(infoPath)) {
  try {
    if (JSON.parse(readFileSync(infoPath, "utf8")).source_digest === digest) process.exit(0);
  } catch {
    // An unreadable build-info.json: build again.
  }
}

async function buildConsole() {
  const { build, createLogger } = await import("vite");
  // The SDK's enums come from @inferencekey/core's index, which also names server modules (node:*);
  // tree-shaking drops them from the bundle, so Vite's note about each is noise here.
  const logger = createLogger("warn");
  const warn = logger.warn;
  logger.warn = (message, options) => {
    if (!message.includes("externalized for browser compatibility")) warn(message, options);
  };
  const outDir = join(root, `dist.building-${process.pid}`);
  await build({
    root,
    configFile: join(root, "vite.config.mjs"),
    customLogger: logger,
    logLevel: "warn",
    build: { outDir, emptyOutDir: true },
  });
  writeFileSync(
    join(outDir, "build-info.json"),
    `${JSON.stringify({ source_digest: digest, built_at: new Date().toISOString() })}\n`,
  );
  const old = join(root, `dist.old-${process.pid}`);
  if (existsSync(dist) && statSync(dist).isDirectory()) renameSync(dist, old);
  renameSync(outDir, dist);
  rmSync(old, { recursive: true, force: true });
  console.log(`console built into ${relative(process.cwd(), dist) || "."}`);
}

try {
  await buildConsole();
} catch (error) {
  // `--never-fail` (npm's postinstall): a machine that cannot build the console still installs;
  // npm start tries again and says why.
  if (!process.argv.includes("--never-fail")) throw error;
  console.warn(`The console was not built: ${error instanceof Error ? error.message : String(error)}`);
}
