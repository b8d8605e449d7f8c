import { pathToFileURL } from "node:url";
import { run } from "./main";

/** The process entry: real streams, the real environment, the exit code the run resolves to. */
export async function main(): Promise<number> {
  return run(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    interactive: process.stdout.isTTY === true,
    env: process.env,
  });
}

// Run when executed as a script (the repository's bin), not when imported by the bundle's bin.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main();
