export * from "./modalities";
export * from "./schema";
export * from "./validate";
export * from "./diff";
export { closest, editDistance } from "./suggest";
export * from "./pooling";
