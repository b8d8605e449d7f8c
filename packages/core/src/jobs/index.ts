export * from "./schema";
export * from "./queue";
export * from "./store";
export * from "./consumer";
export * from "./service";
export * from "./signing-secrets";
export * from "./webhooks";
