// OffsetForLeaderEpoch (key 23), versions 0-4 (flexible from 4). Consumers (KIP-320) and followers
// ask where a leader epoch ended, to detect log truncation. Answered by the partition's leader from
// its leader-epoch cache (Kafka's leader-epoch-checkpoint; storage/leader-epoch-cache.ts): the
// latest epoch ends at the log end offset; an older one where the next epoch starts, answered with
// the largest epoch at or below the one asked that this log knows; an unknown newer epoch is
// UNDEFINED_EPOCH_OFFSET (-1) with epoch -1, error NONE.
// currentLeaderEpoch (v2+) fences stale callers as Kafka does: -1 skips the check, a larger epoch
// than ours is UNKNOWN_LEADER_EPOCH (the caller knows a newer leader), a smaller one
// FENCED_LEADER_EPOCH. Unknown topic or partition: UNKNOWN_TOPIC_OR_PARTITION; not the leader:
// NOT_LEADER_OR_FOLLOWER. Does not: answer followers (replicaId, v3+) from a follower replica.

import { OffsetForLeaderEpochApi } from "../../protocol/generated/offset-for-leader-epoch.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import type { BrokerContext } from "../context.ts";
import { defineHandler } from "../handler.ts";
import { AclOperation } from "../../security/acl.ts";
import { authorizeTopic } from "../security.ts";

const NO_EPOCH = -1;
const UNDEFINED_EPOCH_OFFSET = -1n;

function endOffsetFor(broker: BrokerContext, topic: string, partition: number, currentLeaderEpoch: number, leaderEpoch: number) {
  try {
    const replica = broker.replicas.leaderPartition(topic, partition, currentLeaderEpoch);
    const found = replica.lastOffsetForLeaderEpoch(currentLeaderEpoch, leaderEpoch);
    return { errorCode: ErrorCode.NONE, partition, leaderEpoch: found.epoch, endOffset: found.endOffset };
  } catch (error) {
    if (!(error instanceof KafkaError)) throw error;
    return { errorCode: error.code, partition, leaderEpoch: NO_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
  }
}

export default defineHandler({
  api: OffsetForLeaderEpochApi,
  minVersion: 0,
  maxVersion: 4,
  handle(request, ctx) {
    const topics = request.topics.map((topic) => ({
      topic: topic.topic,
      partitions: topic.partitions.map((partition) => !authorizeTopic(ctx, AclOperation.DESCRIBE, topic.topic)
        ? { partition: partition.partition, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, leaderEpoch: -1, endOffset: -1n }
        : endOffsetFor(
          ctx.broker,
          topic.topic,
          partition.partition,
          ctx.version >= 2 ? partition.currentLeaderEpoch : NO_EPOCH,
          partition.leaderEpoch,
        )),
    }));
    return { throttleTimeMs: 0, topics };
  },
});
