export * from "./schema.ts";
export * from "./parse.ts";
export * from "./load.ts";
export * from "./listeners.ts";
export * from "./connection-limits.ts";
export * from "./deprecated.ts";
