// DescribeQuorum (55) from any broker: the metadata quorum as its leader sees it (what Kafka's
// `kafka-metadata-quorum describe --status / --replication` shows).

import { ErrorCode } from "../protocol/errors.ts";
import { DescribeQuorumApi } from "../protocol/generated/describe-quorum.ts";
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
