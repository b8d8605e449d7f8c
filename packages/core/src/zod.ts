import { config } from "zod/mini";
import { en } from "zod/locales";

/**
 * zod/mini: the zod v4 core with functions instead of methods, a fifth of classic zod's bundle and
 * load time (every Lambda entry loads core). Core imports zod only through this module, because mini,
 * unlike classic, sets no locale: its messages would all read "Invalid input", and the English ones
 * are part of the API's contract. A bare side-effect import could be dropped (core is
 * `sideEffects: false`); a module whose exports are used always keeps its top-level call.
 */
config(en());

export * from "zod/mini";
