// The Raft messages (messages.ts) on Kafka's wire, through the generated codecs: Vote v2 (KIP-996's
// PreVote), BeginQuorumEpoch, EndQuorumEpoch, Fetch v12 on `__cluster_metadata` partition 0 (the
// topic by name; replica id in the request's top-level ReplicaId), FetchSnapshot. The one-partition
// nesting is filled in and taken out here; the "echo" fields of a response come from the request
// it answers. Fetch records are the entries' batches as stored (entry-codec.ts).

import type { Api } from "../protocol/api.ts";
import { BeginQuorumEpochApi, type BeginQuorumEpochRequest as WireBeginRequest, type BeginQuorumEpochResponse as WireBeginResponse } from "../protocol/generated/begin-quorum-epoch.ts";
import { EndQuorumEpochApi, type EndQuorumEpochRequest as WireEndRequest, type EndQuorumEpochResponse as WireEndResponse } from "../protocol/generated/end-quorum-epoch.ts";
import { FetchApi, type FetchRequest as WireFetchRequest, type FetchResponse as WireFetchResponse } from "../protocol/generated/fetch.ts";
import { FetchSnapshotApi, type FetchSnapshotRequest as WireSnapshotRequest, type FetchSnapshotResponse as WireSnapshotResponse } from "../protocol/generated/fetch-snapshot.ts";
import { VoteApi, type VoteRequest as WireVoteRequest, type VoteResponse as WireVoteResponse } from "../protocol/generated/vote.ts";
import type { Init } from "../protocol/primitives.ts";
import { decodeEntries, encodeEntry } from "./entry-codec.ts";
import type {
  BeginQuorumEpochRequest, BeginQuorumEpochResponse, EndQuorumEpochRequest, EndQuorumEpochResponse, FetchRequest, FetchResponse,
  FetchSnapshotRequest, FetchSnapshotResponse, RaftRequest, RaftResponse, VoteRequest, VoteResponse,
} from "./messages.ts";
import type { RaftEntry } from "./types.ts";
import { concatBytes } from "../util/bytes.ts";

export const metadataTopicName = "__cluster_metadata";
/** Versions sent: Vote v2 carries PreVote; Fetch v12 is the first with divergingEpoch and snapshotId. */
export const raftVersions = { vote: 2, beginQuorumEpoch: 1, endQuorumEpoch: 1, fetch: 12, fetchSnapshot: 1 } as const;

// biome-ignore lint: one table of every Raft API.
export interface WireRequest { api: Api<any, any>; version: number; body: unknown }

// ── Requesting side ───────────────────────────────────────────────────────────────────────────

export function encodeRaftRequest(request: RaftRequest): WireRequest {
  switch (request.kind) {
    case "VoteRequest": {
      const body: Init<WireVoteRequest> = {
        clusterId: request.clusterId, voterId: request.voterId,
        topics: [{ topicName: metadataTopicName, partitions: [{
          partitionIndex: 0, candidateEpoch: request.candidateEpoch, candidateId: request.candidateId,
          lastOffsetEpoch: request.lastOffsetEpoch, lastEndOffset: request.lastOffset, preVote: request.preVote,
        }] }],
      };
      return { api: VoteApi, version: raftVersions.vote, body };
    }
    case "BeginQuorumEpochRequest": {
      const body: Init<WireBeginRequest> = {
        clusterId: request.clusterId, voterId: request.voterId,
        topics: [{ topicName: metadataTopicName, partitions: [{ partitionIndex: 0, leaderId: request.leaderId, leaderEpoch: request.leaderEpoch }] }],
      };
      return { api: BeginQuorumEpochApi, version: raftVersions.beginQuorumEpoch, body };
    }
    case "EndQuorumEpochRequest": {
      const body: Init<WireEndRequest> = {
        clusterId: request.clusterId,
        topics: [{ topicName: metadataTopicName, partitions: [{
          partitionIndex: 0, leaderId: request.leaderId, leaderEpoch: request.leaderEpoch,
          preferredCandidates: request.preferredCandidates.map((candidateId) => ({ candidateId })),
        }] }],
      };
      return { api: EndQuorumEpochApi, version: raftVersions.endQuorumEpoch, body };
    }
    case "FetchRequest": {
      const body: Init<WireFetchRequest> = {
        clusterId: request.clusterId, replicaId: request.replicaId, maxWaitMs: request.maxWaitMs, minBytes: 0, maxBytes: request.maxBytes,
        isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: metadataTopicName, partitions: [{
          partition: 0, currentLeaderEpoch: request.currentLeaderEpoch, fetchOffset: request.fetchOffset,
          lastFetchedEpoch: request.lastFetchedEpoch, logStartOffset: request.logStartOffset, partitionMaxBytes: request.maxBytes,
        }] }],
      };
      return { api: FetchApi, version: raftVersions.fetch, body };
    }
    case "FetchSnapshotRequest": {
      const body: Init<WireSnapshotRequest> = {
        clusterId: request.clusterId, replicaId: request.replicaId, maxBytes: request.maxBytes,
        topics: [{ name: metadataTopicName, partitions: [{
          partition: 0, currentLeaderEpoch: request.currentLeaderEpoch, snapshotId: { ...request.snapshotId }, position: request.position,
        }] }],
      };
      return { api: FetchSnapshotApi, version: raftVersions.fetchSnapshot, body };
    }
  }
}

function onlyPartition<P>(topics: readonly { partitions: readonly P[] }[], what: string): P {
  const partition = topics[0]?.partitions[0];
  if (partition === undefined) throw new Error(`${what}: no ${metadataTopicName} partition in the answer`);
  return partition;
}

/** The decoded answer to `request` as a Raft message, echo fields filled from the request. */
export function decodeRaftResponse(request: RaftRequest, body: unknown): RaftResponse {
  switch (request.kind) {
    case "VoteRequest": {
      const wire = body as WireVoteResponse;
      const partition = wire.errorCode !== 0 ? null : onlyPartition(wire.topics, "Vote");
      return {
        kind: "VoteResponse", errorCode: partition?.errorCode ?? wire.errorCode, leaderId: partition?.leaderId ?? -1,
        leaderEpoch: partition?.leaderEpoch ?? -1, voteGranted: partition?.voteGranted ?? false,
        candidateEpoch: request.candidateEpoch, preVote: request.preVote,
      };
    }
    case "BeginQuorumEpochRequest": {
      const wire = body as WireBeginResponse;
      const partition = wire.errorCode !== 0 ? null : onlyPartition(wire.topics, "BeginQuorumEpoch");
      return { kind: "BeginQuorumEpochResponse", errorCode: partition?.errorCode ?? wire.errorCode, leaderId: partition?.leaderId ?? -1, leaderEpoch: partition?.leaderEpoch ?? -1 };
    }
    case "EndQuorumEpochRequest": {
      const wire = body as WireEndResponse;
      const partition = wire.errorCode !== 0 ? null : onlyPartition(wire.topics, "EndQuorumEpoch");
      return { kind: "EndQuorumEpochResponse", errorCode: partition?.errorCode ?? wire.errorCode, leaderId: partition?.leaderId ?? -1, leaderEpoch: partition?.leaderEpoch ?? -1 };
    }
    case "FetchRequest": {
      const wire = body as WireFetchResponse;
      const partition = wire.errorCode !== 0 ? null : onlyPartition(wire.responses, "Fetch");
      const records: RaftEntry[] = partition?.records ? [...decodeEntries(partition.records, request.fetchOffset)] : [];
      const diverging = partition && partition.divergingEpoch.epoch >= 0 ? { epoch: partition.divergingEpoch.epoch, endOffset: partition.divergingEpoch.endOffset } : null;
      const snapshot = partition && partition.snapshotId.endOffset >= 0 ? { endOffset: partition.snapshotId.endOffset, epoch: partition.snapshotId.epoch } : null;
      return {
        kind: "FetchResponse", errorCode: partition?.errorCode ?? wire.errorCode,
        leaderId: partition?.currentLeader.leaderId ?? -1, leaderEpoch: partition?.currentLeader.leaderEpoch ?? -1,
        highWatermark: partition?.highWatermark ?? -1n, logStartOffset: partition?.logStartOffset ?? -1n,
        divergingEpoch: diverging, snapshotId: snapshot, records,
        currentLeaderEpoch: request.currentLeaderEpoch, fetchOffset: request.fetchOffset, lastFetchedEpoch: request.lastFetchedEpoch,
      };
    }
    case "FetchSnapshotRequest": {
      const wire = body as WireSnapshotResponse;
      const partition = wire.errorCode !== 0 ? null : onlyPartition(wire.topics, "FetchSnapshot");
      return {
        kind: "FetchSnapshotResponse", errorCode: partition?.errorCode ?? wire.errorCode,
        leaderId: partition?.currentLeader.leaderId ?? -1, leaderEpoch: partition?.currentLeader.leaderEpoch ?? -1,
        snapshotId: partition ? { endOffset: partition.snapshotId.endOffset, epoch: partition.snapshotId.epoch } : request.snapshotId,
        size: partition?.size ?? -1n, position: partition?.position ?? -1n, unalignedRecords: partition?.unalignedRecords ?? new Uint8Array(0),
        currentLeaderEpoch: request.currentLeaderEpoch,
      };
    }
  }
}

// ── Answering side ────────────────────────────────────────────────────────────────────────────

export function decodeVoteRequest(wire: WireVoteRequest): VoteRequest | null {
  const partition = wire.topics[0]?.partitions[0];
  if (!partition || wire.topics[0]!.topicName !== metadataTopicName) return null;
  return {
    kind: "VoteRequest", clusterId: wire.clusterId, voterId: wire.voterId, candidateId: partition.candidateId,
    candidateEpoch: partition.candidateEpoch, lastOffsetEpoch: partition.lastOffsetEpoch, lastOffset: partition.lastEndOffset, preVote: partition.preVote,
  };
}

export function encodeVoteResponse(response: VoteResponse): Init<WireVoteResponse> {
  return { errorCode: 0, topics: [{ topicName: metadataTopicName, partitions: [{
    partitionIndex: 0, errorCode: response.errorCode, leaderId: response.leaderId, leaderEpoch: response.leaderEpoch, voteGranted: response.voteGranted,
  }] }] };
}

export function decodeBeginQuorumEpochRequest(wire: WireBeginRequest): BeginQuorumEpochRequest | null {
  const partition = wire.topics[0]?.partitions[0];
  if (!partition || wire.topics[0]!.topicName !== metadataTopicName) return null;
  return { kind: "BeginQuorumEpochRequest", clusterId: wire.clusterId, voterId: wire.voterId, leaderId: partition.leaderId, leaderEpoch: partition.leaderEpoch };
}

export function encodeBeginQuorumEpochResponse(response: BeginQuorumEpochResponse): Init<WireBeginResponse> {
  return { errorCode: 0, topics: [{ topicName: metadataTopicName, partitions: [{
    partitionIndex: 0, errorCode: response.errorCode, leaderId: response.leaderId, leaderEpoch: response.leaderEpoch,
  }] }] };
}

export function decodeEndQuorumEpochRequest(wire: WireEndRequest): EndQuorumEpochRequest | null {
  const partition = wire.topics[0]?.partitions[0];
  if (!partition || wire.topics[0]!.topicName !== metadataTopicName) return null;
  const preferred = partition.preferredCandidates.length > 0 ? partition.preferredCandidates.map((candidate) => candidate.candidateId) : partition.preferredSuccessors;
  return { kind: "EndQuorumEpochRequest", clusterId: wire.clusterId, leaderId: partition.leaderId, leaderEpoch: partition.leaderEpoch, preferredCandidates: preferred };
}

export function encodeEndQuorumEpochResponse(response: EndQuorumEpochResponse): Init<WireEndResponse> {
  return { errorCode: 0, topics: [{ topicName: metadataTopicName, partitions: [{
    partitionIndex: 0, errorCode: response.errorCode, leaderId: response.leaderId, leaderEpoch: response.leaderEpoch,
  }] }] };
}

/** A Fetch of `__cluster_metadata` partition 0 (the Raft log); null for any other Fetch. */
export function decodeRaftFetchRequest(wire: WireFetchRequest): FetchRequest | null {
  const topic = wire.topics[0];
  const partition = topic?.partitions[0];
  if (wire.topics.length !== 1 || !partition || topic!.topic !== metadataTopicName || partition.partition !== 0) return null;
  const replicaId = wire.replicaId >= 0 ? wire.replicaId : wire.replicaState.replicaId;
  return {
    kind: "FetchRequest", clusterId: wire.clusterId, replicaId, maxWaitMs: wire.maxWaitMs, currentLeaderEpoch: partition.currentLeaderEpoch,
    fetchOffset: partition.fetchOffset, lastFetchedEpoch: partition.lastFetchedEpoch, logStartOffset: partition.logStartOffset,
    maxBytes: Math.min(wire.maxBytes, partition.partitionMaxBytes),
  };
}

export function encodeRaftFetchResponse(response: FetchResponse): Init<WireFetchResponse> {
  const now = BigInt(Date.now());
  const batches = response.records.map((entry) => encodeEntry(entry, now));
  const records = batches.length === 0 ? null : concatBytes(batches);
  return {
    errorCode: 0, sessionId: 0,
    responses: [{ topic: metadataTopicName, partitions: [{
      partitionIndex: 0, errorCode: response.errorCode, highWatermark: response.highWatermark, lastStableOffset: response.highWatermark,
      logStartOffset: response.logStartOffset,
      divergingEpoch: response.divergingEpoch ? { ...response.divergingEpoch } : { epoch: -1, endOffset: -1n },
      currentLeader: { leaderId: response.leaderId, leaderEpoch: response.leaderEpoch },
      snapshotId: response.snapshotId ? { ...response.snapshotId } : { endOffset: -1n, epoch: -1 },
      abortedTransactions: null, preferredReadReplica: -1, records,
    }] }],
  };
}

export function decodeFetchSnapshotRequest(wire: WireSnapshotRequest): FetchSnapshotRequest | null {
  const partition = wire.topics[0]?.partitions[0];
  if (!partition || wire.topics[0]!.name !== metadataTopicName) return null;
  return {
    kind: "FetchSnapshotRequest", clusterId: wire.clusterId, replicaId: wire.replicaId, currentLeaderEpoch: partition.currentLeaderEpoch,
    snapshotId: { endOffset: partition.snapshotId.endOffset, epoch: partition.snapshotId.epoch }, position: partition.position, maxBytes: wire.maxBytes,
  };
}

export function encodeFetchSnapshotResponse(response: FetchSnapshotResponse): Init<WireSnapshotResponse> {
  return { errorCode: 0, topics: [{ name: metadataTopicName, partitions: [{
    index: 0, errorCode: response.errorCode, snapshotId: { ...response.snapshotId },
    currentLeader: { leaderId: response.leaderId, leaderEpoch: response.leaderEpoch },
    size: response.size, position: response.position, unalignedRecords: response.unalignedRecords,
  }] }] };
}
