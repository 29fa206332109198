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
  /** An idle controller writes a NoOp record this often (metadata.max.idle.interval.ms). */
  readonly noopIntervalMs: number;
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
  /** Which nemesis runs (simulation.ts, SimProfile). */
  readonly profile: "chaos" | "calm" | "churn" | "membership";
  readonly chaosMs: number;
  readonly livenessBoundMs: number;
  readonly raftBugs?: RaftBugs;
  readonly replicationBugs?: ReplicationBugs;
}

/** How often the run went through the paths worth testing (a suite asserts none stays at zero). */
export interface Coverage {
  raftElections: number;
  raftTruncations: number;
  raftSnapshotsTaken: number;
  raftSnapshotsInstalled: number;
  observerApplied: number;
  controllerFences: number;
  uncleanRegistrations: number;
  cleanRegistrations: number;
  isrShrinks: number;
  isrExpands: number;
  partitionLeaderChanges: number;
  partitionTruncations: number;
  acksAll: number;
  acksOne: number;
  notEnoughReplicas: number;
  /** Voter changes a leader accepted (only the membership profile makes any). */
  voterChangesProposed: number;
}

export function emptyCoverage(): Coverage {
  return {
    raftElections: 0, raftTruncations: 0, raftSnapshotsTaken: 0, raftSnapshotsInstalled: 0, observerApplied: 0, controllerFences: 0,
    uncleanRegistrations: 0, cleanRegistrations: 0, isrShrinks: 0, isrExpands: 0, partitionLeaderChanges: 0, partitionTruncations: 0,
    acksAll: 0, acksOne: 0, notEnoughReplicas: 0, voterChangesProposed: 0,
  };
}

export interface SimContext {
  readonly coverage: Coverage;
  readonly config: SimConfig;
  readonly prng: Prng;
  readonly checker: Checker;
  readonly trace: Trace;
  now(): number;
  send(from: number, to: number, message: unknown): void;
  /** Run `done` after the flush latency of `node`'s disk. */
  afterDiskDelay(node: number, done: () => void): void;
  /** A partition's log on a broker as it stands: in memory if the broker is up, else on its disk. */
  partitionLog(broker: number, partition: number): readonly import("./checker.ts").PartitionEntry[];
  /** Run `action` at an absolute simulated time. */
  at(timeMs: number, action: () => void): void;
}
