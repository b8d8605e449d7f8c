import type * as Http from "node:http";
import type * as Https from "node:https";
import { createRequire } from "node:module";

/**
 * node:http and node:https as their CommonJS exports. An ES `import` of node:http builds a module
 * facade that reads every export, its lazy ones included, and so loads the undici bundled in Node
 * (about 15 ms of CPU at a Lambda cold start, docs/benchmarks.md "Lambda bundle load") that
 * nothing here uses. The Lambda runtime has loaded node:http already, so taking it this way is free.
 * `require` rather than `process.getBuiltinModule`, which Node 20 has only from 20.16.
 */
const require = createRequire(import.meta.url);
export const nodeHttp: typeof Http = require("node:http");
export const nodeHttps: typeof Https = require("node:https");
