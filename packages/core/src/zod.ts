import { config } from "zod/mini";
import { en } from "zod/locales";

/**
 * Core's schemas are on zod/mini: the zod v4 core with functions instead of methods, a fifth of
 * classic zod's bundle and load time (every Lambda entry loads core). Mini, unlike classic, sets no
 * locale: its messages would all read "Invalid input", and the English ones are part of the API's
 * contract. So every module that defines schemas imports this one for its effect, and core's
 * package.json lists it as its one module with side effects, so that bundlers keep that import.
 */
config(en());
