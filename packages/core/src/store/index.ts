export * from "./port";
export { MemoryStore, assertCondition } from "./memory-store";
