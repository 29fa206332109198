// Pure partition-replication rules (docs/replication.md §5): plain state in, decisions out. Used by
// the Partition layer (replication/partition.ts) and by the simulator (test/simulation/).

export * from "./acks.ts";
export * from "./election.ts";
export * from "./epoch-cache.ts";
export * from "./follower-progress.ts";
export * from "./high-watermark.ts";
export * from "./isr.ts";
export * from "./types.ts";
