// DescribeQuorum (55) from any broker: the metadata quorum as its leader sees it (what Kafka's
// `kafka-metadata-quorum describe --status / --replication` shows); AddRaftVoter (80) and
// RemoveRaftVoter (81): its `add-controller` / `remove-controller`.

import { ErrorCode } from "../protocol/errors.ts";
import { AddRaftVoterApi } from "../protocol/generated/add-raft-voter.ts";
import { DescribeQuorumApi } from "../protocol/generated/describe-quorum.ts";
import { RemoveRaftVoterApi } from "../protocol/generated/remove-raft-voter.ts";
import type { KafkaClient } from "./client.ts";
import { responseError } from "./errors.ts";

export interface QuorumReplica {
  replicaId: number;
  logEndOffset: bigint;
  /** Wall-clock ms; -1 when unknown. */
  lastFetchTimestamp: number;
  lastCaughtUpTimestamp: number;
}

export interface QuorumInfo {
  leaderId: number;
  leaderEpoch: number;
  highWatermark: bigint;
  voters: QuorumReplica[];
  observers: QuorumReplica[];
}

export async function describeQuorum(client: KafkaClient): Promise<QuorumInfo> {
  return client.retry("DescribeQuorum", async () => {
    const connection = await client.anyConnection();
    const answer = await connection.request(DescribeQuorumApi, { topics: [{ topicName: "__cluster_metadata", partitions: [{ partitionIndex: 0 }] }] }, { version: connection.versionFor(DescribeQuorumApi, 0, 1) });
    if (answer.errorCode !== ErrorCode.NONE) throw responseError(answer.errorCode, "DescribeQuorum", answer.errorMessage);
    const partition = answer.topics[0]?.partitions[0];
    if (!partition) throw responseError(ErrorCode.UNKNOWN_SERVER_ERROR, "DescribeQuorum", "no __cluster_metadata partition in the answer");
    if (partition.errorCode !== ErrorCode.NONE) throw responseError(partition.errorCode, "DescribeQuorum", partition.errorMessage);
    const replica = (state: { replicaId: number; logEndOffset: bigint; lastFetchTimestamp: bigint; lastCaughtUpTimestamp: bigint }): QuorumReplica => ({
      replicaId: state.replicaId, logEndOffset: state.logEndOffset,
      lastFetchTimestamp: Number(state.lastFetchTimestamp), lastCaughtUpTimestamp: Number(state.lastCaughtUpTimestamp),
    });
    return {
      leaderId: partition.leaderId, leaderEpoch: partition.leaderEpoch, highWatermark: partition.highWatermark,
      voters: partition.currentVoters.map(replica), observers: partition.observers.map(replica),
    };
  });
}

/**
 * AddRaftVoter (80, KIP-853): make node `voterId` — running as an observer — a voter of the
 * metadata quorum; resolves once the new voter set is committed. `endpoint`: its CONTROLLER
 * listener (default: the one it registered). Retried on retriable errors until the client's API
 * timeout; a retry after a lost answer that finds the node already a voter counts as done.
 */
export async function addRaftVoter(client: KafkaClient, voterId: number, endpoint?: { host: string; port: number }, timeoutMs = 30_000): Promise<void> {
  await client.retry("AddRaftVoter", async (attempt) => {
    const connection = await client.anyConnection();
    const answer = await connection.request(AddRaftVoterApi, {
      clusterId: null, timeoutMs, voterId, listeners: endpoint === undefined ? [] : [{ name: "CONTROLLER", host: endpoint.host, port: endpoint.port }],
    }, { version: 0, timeoutMs: timeoutMs + 5000 });
    if (answer.errorCode === ErrorCode.DUPLICATE_VOTER && attempt > 0) return;
    if (answer.errorCode !== ErrorCode.NONE) throw responseError(answer.errorCode, "AddRaftVoter", answer.errorMessage);
  }, { timeoutMs: timeoutMs + 10_000 });
}

/**
 * RemoveRaftVoter (81, KIP-853): remove node `voterId` from the quorum's voters; resolves once the
 * smaller set is committed (a leader removing itself steps down after). A retry that finds the
 * node no longer a voter counts as done.
 */
export async function removeRaftVoter(client: KafkaClient, voterId: number, timeoutMs = 30_000): Promise<void> {
  await client.retry("RemoveRaftVoter", async (attempt) => {
    const connection = await client.anyConnection();
    const answer = await connection.request(RemoveRaftVoterApi, { clusterId: null, voterId }, { version: 0, timeoutMs: timeoutMs + 5000 });
    if (answer.errorCode === ErrorCode.VOTER_NOT_FOUND && attempt > 0) return;
    if (answer.errorCode !== ErrorCode.NONE) throw responseError(answer.errorCode, "RemoveRaftVoter", answer.errorMessage);
  }, { timeoutMs: timeoutMs + 10_000 });
}
