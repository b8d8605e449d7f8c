export { createControlApi, parseInput, type ControlApiOptions } from "./control-api";
export { jsonNestsDeeperThan, MAX_JSON_DEPTH, parseJsonBody, readBodyLimited, readJsonBody } from "./json-body";
export { errorResponse, json, requestIdOf } from "./responses";
export { Router, type RouteHandler } from "./router";
export { CONSOLE_CSP, CONSOLE_PATH, CONSOLE_SECURITY_HEADERS, type ConsoleAssetReader, createConsoleSite } from "./console-site";
export { type CompatWorkload, compatErrorResponse, compatWorkload, isCompatPath, ProjectScopeMismatchError, registerCompatApi } from "./compat-api";
export { READINESS_STREAM_DEFAULTS, type ReadinessEventBody, readinessEventStream, type ReadinessStreamOptions } from "./readiness-events";
