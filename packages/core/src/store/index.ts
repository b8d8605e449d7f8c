export * from "./port";
export { MemoryStore, assertCondition } from "./memory-store";
export { queryAll } from "./query-all";
export { assertTransactShape, transactKey } from "./transact";
export { type Fence, FenceLostError, fencedStore } from "./fenced-store";
export { openCursor, signCursor } from "./signed-cursor";
