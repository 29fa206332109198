// The Raft messages as plain objects that mirror Kafka's (protocol/messages/*.json of Apache Kafka):
// Vote (52) with KIP-996's PreVote, BeginQuorumEpoch (53), EndQuorumEpoch (54), Fetch (1) on the
// `__cluster_metadata` partition 0, FetchSnapshot (59). Field names are Kafka's, camel-cased; the
// topic/partition nesting of the wire format is flattened because the core serves one partition.
//
// Mapping to the wire (the driver's job, src/protocol/generated once the descriptors are added):
// - `errorCode` is the partition-level error code (Kafka ErrorCode numbers); the top-level one is
//   NONE unless the whole request is refused (INCONSISTENT_CLUSTER_ID, checked by the driver).
// - Fields marked "echo" are not on the wire: Kafka matches a response to its request by
//   correlation id, so the *requesting* driver copies them from the request it sent into the
//   decoded response before calling `step`. The core uses them to drop stale or duplicated answers.
// - RaftEntry ↔ records: a data entry is one record of a RecordBatch v2 whose
//   partitionLeaderEpoch is the entry's epoch; a leaderChange entry is a control batch holding a
//   LeaderChangeMessage. Consecutive entries of one epoch may share a batch.
// - VoteRequest.preVote needs Vote v2 (KIP-996); Vote v0/v1 peers only do real votes.
// - VoteRequest.lastOffset is the candidate's log *end* offset (exclusive), as KRaft sends it.

import type { NodeId, RaftEntry, SnapshotId } from "./types.ts";

export interface VoteRequest {
  readonly kind: "VoteRequest";
  readonly clusterId: string | null;
  readonly voterId: NodeId;
  readonly candidateId: NodeId;
  /** The epoch the candidate runs in; for a pre-vote, the epoch it would run in (its epoch + 1). */
  readonly candidateEpoch: number;
  readonly lastOffsetEpoch: number;
  readonly lastOffset: bigint;
  readonly preVote: boolean;
}

export interface VoteResponse {
  readonly kind: "VoteResponse";
  readonly errorCode: number;
  readonly leaderId: NodeId;
  readonly leaderEpoch: number;
  readonly voteGranted: boolean;
  /** echo */
  readonly candidateEpoch: number;
  /** echo */
  readonly preVote: boolean;
}

export interface BeginQuorumEpochRequest {
  readonly kind: "BeginQuorumEpochRequest";
  readonly clusterId: string | null;
  readonly voterId: NodeId;
  readonly leaderId: NodeId;
  readonly leaderEpoch: number;
}

export interface BeginQuorumEpochResponse {
  readonly kind: "BeginQuorumEpochResponse";
  readonly errorCode: number;
  readonly leaderId: NodeId;
  readonly leaderEpoch: number;
}

export interface EndQuorumEpochRequest {
  readonly kind: "EndQuorumEpochRequest";
  readonly clusterId: string | null;
  readonly leaderId: NodeId;
  readonly leaderEpoch: number;
  /** Voters sorted most caught-up first; the first ones start their election sooner. */
  readonly preferredCandidates: readonly NodeId[];
}

export interface EndQuorumEpochResponse {
  readonly kind: "EndQuorumEpochResponse";
  readonly errorCode: number;
  readonly leaderId: NodeId;
  readonly leaderEpoch: number;
}

export interface FetchRequest {
  readonly kind: "FetchRequest";
  readonly clusterId: string | null;
  /** ReplicaState.ReplicaId: the fetching voter or observer. */
  readonly replicaId: NodeId;
  readonly maxWaitMs: number;
  readonly currentLeaderEpoch: number;
  /** The fetcher's durable log end offset: everything below it is fsynced on the fetcher. */
  readonly fetchOffset: bigint;
  /** Epoch of the entry just below fetchOffset (-1 for an empty log). */
  readonly lastFetchedEpoch: number;
  readonly logStartOffset: bigint;
  readonly maxBytes: number;
}

export interface DivergingEpoch {
  readonly epoch: number;
  readonly endOffset: bigint;
}

export interface FetchResponse {
  readonly kind: "FetchResponse";
  readonly errorCode: number;
  /** CurrentLeader: the responder's view, -1 when unknown. */
  readonly leaderId: NodeId;
  readonly leaderEpoch: number;
  readonly highWatermark: bigint;
  readonly logStartOffset: bigint;
  /** Set when the fetcher's log diverges: truncate to the end of this epoch and fetch again. */
  readonly divergingEpoch: DivergingEpoch | null;
  /** Set when fetchOffset is below the leader's log start: fetch this snapshot first. */
  readonly snapshotId: SnapshotId | null;
  readonly records: readonly RaftEntry[];
  /** echo: the epoch the fetcher was in when it asked */
  readonly currentLeaderEpoch: number;
  /** echo */
  readonly fetchOffset: bigint;
  /** echo */
  readonly lastFetchedEpoch: number;
}

export interface FetchSnapshotRequest {
  readonly kind: "FetchSnapshotRequest";
  readonly clusterId: string | null;
  readonly replicaId: NodeId;
  readonly currentLeaderEpoch: number;
  readonly snapshotId: SnapshotId;
  /** Byte position within the snapshot. */
  readonly position: bigint;
  readonly maxBytes: number;
}

export interface FetchSnapshotResponse {
  readonly kind: "FetchSnapshotResponse";
  readonly errorCode: number;
  readonly leaderId: NodeId;
  readonly leaderEpoch: number;
  readonly snapshotId: SnapshotId;
  /** Total size of the snapshot in bytes. */
  readonly size: bigint;
  /** Byte position of `unalignedRecords` within the snapshot. */
  readonly position: bigint;
  readonly unalignedRecords: Uint8Array;
  /** echo: the epoch the fetcher was in when it asked */
  readonly currentLeaderEpoch: number;
}

export type RaftRequest = VoteRequest | BeginQuorumEpochRequest | EndQuorumEpochRequest | FetchRequest | FetchSnapshotRequest;
export type RaftResponse = VoteResponse | BeginQuorumEpochResponse | EndQuorumEpochResponse | FetchResponse | FetchSnapshotResponse;
export type RaftMessage = RaftRequest | RaftResponse;

/** The epoch a message speaks for (a candidate's, a leader's, or the responder's own). */
export function epochOf(message: RaftMessage): number {
  switch (message.kind) {
    case "VoteRequest": return message.candidateEpoch;
    case "FetchRequest": return message.currentLeaderEpoch;
    case "FetchSnapshotRequest": return message.currentLeaderEpoch;
    default: return message.leaderEpoch;
  }
}
