// The metadata quorum's Raft core (docs/replication.md §4). core.ts's header says how a driver
// uses it.

export { RaftCore } from "./core.ts";
export type { ProposeResult, RaftReady, RoleName } from "./core.ts";
export type { RaftLog } from "./log.ts";
export { entrySize } from "./log.ts";
export { MemoryRaftLog, sameSnapshot } from "./memory-log.ts";
export type * from "./messages.ts";
export { epochOf } from "./messages.ts";
export * from "./types.ts";
