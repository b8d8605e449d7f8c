#!/usr/bin/env node
// The `inferencekey` command. A packed CLI runs its bundle (dist/main.js); inside the repository it
// runs the TypeScript source through tsx, with the workspace packages read from their src.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dist = new URL("../dist/main.js", import.meta.url);
if (existsSync(fileURLToPath(dist))) {
  const { main } = await import(dist.href);
  process.exitCode = await main();
} else {
  const entry = fileURLToPath(new URL("../src/entry.ts", import.meta.url));
  const child = spawnSync(
    process.execPath,
    ["--conditions=inferencekey-source", "--import", "tsx", entry, ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  process.exitCode = child.status ?? 1;
}
