// ListOffsets (key 2), v0-v10. Per partition, through its leader replica
// (replication/offset-lookup.ts): timestamp -2 (earliest) → log start offset, -1 (latest) → high
// watermark (last stable offset for read_committed, v2+), -3 (max timestamp, v7+) → the first record
// with the largest timestamp (looked up inside its batch), -4 (earliest local, v8+) and -5
// (earliest tiered, v9+) → log start offset (all data is local), a timestamp ≥ 0 → the first record
// whose timestamp is at or after it (found by batch in the time index, then by record inside that
// batch; offset -1 when none below the high watermark). Each answer carries the leader epoch of its
// offset (v4+). currentLeaderEpoch (v4+) fences stale or early clients (FENCED_LEADER_EPOCH /
// UNKNOWN_LEADER_EPOCH); a partition this node does not lead is NOT_LEADER_OR_FOLLOWER. v0 answers
// in its old layout (a list of offsets).

import { KafkaError } from "../../protocol/errors.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  ListOffsetsApi,
  type ListOffsetsRequestListOffsetsPartition,
  type ListOffsetsResponseListOffsetsPartitionResponse,
} from "../../protocol/generated/index.ts";
import type { Init } from "../../protocol/primitives.ts";
import { READ_UNCOMMITTED } from "../../replication/index.ts";
import type { BrokerContext } from "../context.ts";
import { defineHandler } from "../handler.ts";
import { AclOperation } from "../../security/acl.ts";
import { authorizeTopic } from "../security.ts";

type PartitionResponse = Init<ListOffsetsResponseListOffsetsPartitionResponse>;

function lookUp(broker: BrokerContext, topic: string, wanted: ListOffsetsRequestListOffsetsPartition, version: number, isolation: number): PartitionResponse {
  const index = wanted.partitionIndex;
  const currentLeaderEpoch = version >= 4 ? wanted.currentLeaderEpoch : -1;
  const replica = broker.replicas.leaderPartition(topic, index, currentLeaderEpoch);
  const found = replica.fetchOffsetForTimestamp(wanted.timestamp, isolation, currentLeaderEpoch);
  if (version === 0) return { partitionIndex: index, errorCode: ErrorCode.NONE, oldStyleOffsets: found.offset >= 0n ? [found.offset] : [] };
  return {
    partitionIndex: index, errorCode: ErrorCode.NONE, timestamp: found.timestamp, offset: found.offset,
    leaderEpoch: version >= 4 ? found.leaderEpoch : -1,
  };
}

export default defineHandler({
  api: ListOffsetsApi,
  minVersion: 0,
  maxVersion: ListOffsetsApi.maxVersion,
  handle(request, ctx) {
    const isolation = ctx.version >= 2 ? request.isolationLevel : READ_UNCOMMITTED;
    const failed = (partitionIndex: number, errorCode: number): PartitionResponse =>
      ctx.version === 0 ? { partitionIndex, errorCode, oldStyleOffsets: [] } : { partitionIndex, errorCode, timestamp: -1n, offset: -1n };
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((wanted) => {
          if (!authorizeTopic(ctx, AclOperation.DESCRIBE, topic.name)) return failed(wanted.partitionIndex, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
          try {
            return lookUp(ctx.broker, topic.name, wanted, ctx.version, isolation);
          } catch (error) {
            if (!(error instanceof KafkaError)) throw error;
            return failed(wanted.partitionIndex, error.code);
          }
        }),
      })),
    };
  },
});
