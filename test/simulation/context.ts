// What every simulated component shares: the configuration of the run, the clock, the network,
// the disks' latency, the invariant checker and the trace.

import type { RaftBugs, RaftTimeouts } from "../../src/raft/index.ts";
import type { ReplicationBugs } from "../../src/replication/core/index.ts";
import type { Checker } from "./checker.ts";
import type { Prng } from "./prng.ts";
import type { Trace } from "./trace.ts";

export interface SimConfig {
  readonly seed: number;
  readonly voters: readonly number[];
  /** Brokers that follow the metadata log as Raft observers. */
  readonly observers: readonly number[];
  /** Partition id → replica assignment (replication factor = its length). */
  readonly partitions: ReadonlyMap<number, readonly number[]>;
  readonly raftTimeouts: RaftTimeouts;
  readonly raftFetchMaxEntries: number;
  readonly snapshotEveryEntries: number;
  readonly snapshotChunkBytes: number;
  readonly nodeTickMs: number;
  readonly brokerHeartbeatMs: number;
  readonly brokerSessionTimeoutMs: number;
  readonly replicaLagTimeMaxMs: number;
  readonly replicaFetchMaxWaitMs: number;
  readonly replicaRequestTimeoutMs: number;
  readonly replicaFetchBackoffMs: number;
  readonly replicaFetchMaxRecords: number;
  readonly alterPartitionRetryMs: number;
  readonly minInsyncReplicas: number;
  readonly produceTimeoutMs: number;
  /** fsync: replicas count only fsynced records and a crash loses the rest; pageCache: a crash (kill -9) loses nothing written. */
  readonly partitionMode: "fsync" | "pageCache";
  readonly minDiskDelayMs: number;
  readonly maxDiskDelayMs: number;
  /** chaos: every fault; calm: only single-follower isolations, and the leader must never change. */
  readonly profile: "chaos" | "calm";
  readonly chaosMs: number;
  readonly livenessBoundMs: number;
  readonly raftBugs?: RaftBugs;
  readonly replicationBugs?: ReplicationBugs;
}

export interface SimContext {
  readonly config: SimConfig;
  readonly prng: Prng;
  readonly checker: Checker;
  readonly trace: Trace;
  now(): number;
  send(from: number, to: number, message: unknown): void;
  /** Run `done` after a disk's flush latency. */
  afterDiskDelay(done: () => void): void;
  /** Run `action` at an absolute simulated time. */
  at(timeMs: number, action: () => void): void;
}
