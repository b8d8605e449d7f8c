export { createControlApi, parseInput, type ControlApiOptions } from "./control-api";
export { errorResponse, json, readJsonBody, requestIdOf } from "./responses";
export { Router, type RouteHandler } from "./router";
