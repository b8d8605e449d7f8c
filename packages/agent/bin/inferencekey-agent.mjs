#!/usr/bin/env node
// The agent is TypeScript run through tsx (a workspace dependency), so there is no build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli.ts");
process.exit(await main(process.argv.slice(2)));
