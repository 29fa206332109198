// Plain types of the Raft core (KRaft's model: KIP-595 pull-based Raft, KIP-630 snapshots,
// KIP-996 pre-vote). Offsets are bigint (Kafka int64, as on the wire and in storage/); epochs and
// node ids are int32 numbers.
//
//   log start (= end of the latest snapshot) ... high watermark ... durable end ... log end
//   entries below the start are only in the     committed on a    fsynced on   next offset
//   snapshot                                     majority          this node    to append

export type NodeId = number;

/** Kafka's "no node" id (-1), used in messages where no leader or voter is known. */
export const NO_NODE: NodeId = -1;

/**
 * A snapshot is named by the end offset it covers (exclusive: entries below it are in the snapshot)
 * and the epoch of the entry just below that offset — Kafka's `<endOffset>-<epoch>.checkpoint`.
 */
export interface SnapshotId {
  readonly endOffset: bigint;
  readonly epoch: number;
}

/**
 * A position in a log: an end offset (exclusive) and the epoch of the entry just below it. By the
 * log-matching property two logs with the same position hold the same entries below it, which is
 * how `markDurable` reports what a flush covered without naming the bytes.
 */
export interface LogPosition {
  readonly offset: bigint;
  readonly epoch: number;
}

/** An entry of the replicated log: one record of the metadata log at one offset. */
export type RaftEntry = DataEntry | LeaderChangeEntry | VotersEntry;

/** A voter and its CONTROLLER endpoint (KIP-853's voter with its listener; the core uses the id only). */
export interface Voter {
  readonly id: NodeId;
  readonly host: string;
  readonly port: number;
}

/**
 * The whole voter set from this entry on (KIP-853's VotersRecord control record). The set in
 * effect is the one of the latest voters entry in the log, committed or not — a node uses a new
 * set from the moment it appends it, and goes back to the previous one if that entry is truncated.
 * Before the first voters entry (and in snapshots without one) the static set applies:
 * `controller.quorum.voters`. A leader appends one only when the previous one is committed, and
 * each adds or removes one voter, so any two successive sets' majorities overlap.
 */
export interface VotersEntry {
  readonly kind: "voters";
  readonly offset: bigint;
  readonly epoch: number;
  readonly voters: readonly Voter[];
}

export interface DataEntry {
  readonly kind: "data";
  readonly offset: bigint;
  readonly epoch: number;
  /** The state machine's bytes (on the wire: the value of one record of a RecordBatch). */
  readonly value: Uint8Array;
}

/**
 * The first entry of every leader epoch (Kafka's LeaderChangeMessage control record). Committing it
 * is how a new leader commits the entries of older epochs below it: Raft never counts replicas of
 * an older epoch's entry directly (the "figure 8" problem).
 */
export interface LeaderChangeEntry {
  readonly kind: "leaderChange";
  readonly offset: bigint;
  readonly epoch: number;
  readonly leaderId: NodeId;
  readonly voters: readonly NodeId[];
  readonly grantingVoters: readonly NodeId[];
}

/**
 * What must survive a restart besides the log (Kafka's `quorum-state` file). Written atomically and
 * fsynced by the driver before it sends any message of the Ready that carried it.
 */
export interface QuorumState {
  readonly epoch: number;
  /** The candidate this node voted for in `epoch`, if any (at most one vote per epoch). */
  readonly votedId: NodeId | null;
  /** The leader of `epoch` once known. */
  readonly leaderId: NodeId | null;
}

export const INITIAL_QUORUM_STATE: QuorumState = { epoch: 0, votedId: null, leaderId: null };

export interface LeaderAndEpoch {
  readonly leaderId: NodeId | null;
  readonly epoch: number;
}

/** Timeouts with Kafka's names (controller.quorum.*), in milliseconds. */
export interface RaftTimeouts {
  /** controller.quorum.fetch.timeout.ms: a follower without a fetch answer for this long, or a
   * leader without fetches from a majority for this long, gives up on the leader. */
  readonly fetchTimeoutMs: number;
  /** controller.quorum.election.timeout.ms: elections start after a random wait in [t, 2t). */
  readonly electionTimeoutMs: number;
  /** controller.quorum.election.backoff.max.ms: the random wait before retrying a lost election. */
  readonly electionBackoffMaxMs: number;
  /** controller.quorum.retry.backoff.ms: resend Vote/BeginQuorumEpoch/EndQuorumEpoch/lost fetches. */
  readonly retryBackoffMs: number;
  /** How long the leader parks a fetch that has nothing new (long poll); keep below fetchTimeoutMs/2. */
  readonly fetchMaxWaitMs: number;
  /** A fetch with no answer after this long is resent (controller.quorum.request.timeout.ms). */
  readonly requestTimeoutMs: number;
}

export const DEFAULT_RAFT_TIMEOUTS: RaftTimeouts = {
  fetchTimeoutMs: 1000,
  electionTimeoutMs: 500,
  electionBackoffMaxMs: 500,
  retryBackoffMs: 50,
  fetchMaxWaitMs: 400,
  requestTimeoutMs: 1000,
};

/**
 * Deliberately planted bugs, used only by the simulator's tests to show that it catches them. Each
 * breaks one rule of the core; none is ever set outside test/simulation.
 */
export interface RaftBugs {
  /** Advance the high watermark over entries of older epochs before the new leader's own entry. */
  readonly commitOldEpochDirectly?: boolean;
  /** The leader counts its log end offset, not its durable end, toward the high watermark. */
  readonly countNonDurableLeaderEnd?: boolean;
  /** Skip the pre-vote round: a timed-out voter bumps the epoch and asks for real votes at once. */
  readonly skipPreVote?: boolean;
  /** Grant votes and pre-votes without comparing logs (breaks leader completeness). */
  readonly voteWithoutLogCheck?: boolean;
  /** Accept a voter change while the previous one is still uncommitted (breaks one-change-at-a-time). */
  readonly concurrentVoterChanges?: boolean;
}

export interface RaftConfig {
  readonly nodeId: NodeId;
  /**
   * controller.quorum.voters: the static (bootstrap) voter ids, in effect until the log or the
   * snapshot holds a voters entry (VotersEntry). A node not in the set in effect is an observer.
   */
  readonly voters: readonly NodeId[];
  readonly clusterId: string | null;
  readonly timeouts: RaftTimeouts;
  /** Bounds of one Fetch answer (Kafka's replica.fetch.max.bytes-like limits). */
  readonly fetchMaxEntries: number;
  readonly fetchMaxBytes: number;
  /** Bytes of snapshot per FetchSnapshot answer. */
  readonly snapshotChunkBytes: number;
  readonly bugs?: RaftBugs;
}

/** A message to send and its destination. */
export interface Outbound<M> {
  readonly to: NodeId;
  readonly message: M;
}

/** DescribeQuorum's view of one replica, as the leader sees it (Kafka's ReplicaState). */
export interface ReplicaDescription {
  readonly replicaId: NodeId;
  /** -1 when unknown (no fetch in this epoch yet). */
  readonly logEndOffset: bigint;
  /** -1 for the leader itself or when unknown. */
  readonly lastFetchTimestamp: number;
  readonly lastCaughtUpTimestamp: number;
}

export interface QuorumDescription {
  readonly leaderId: NodeId;
  readonly leaderEpoch: number;
  readonly highWatermark: bigint;
  readonly currentVoters: readonly ReplicaDescription[];
  readonly observers: readonly ReplicaDescription[];
  /** Each voter's CONTROLLER endpoint (DescribeQuorum v2's Nodes, KIP-853), when known. */
  readonly voterEndpoints?: readonly { readonly id: NodeId; readonly host: string; readonly port: number }[];
}
