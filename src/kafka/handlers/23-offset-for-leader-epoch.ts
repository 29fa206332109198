// OffsetForLeaderEpoch (key 23), versions 0-4 (flexible from 4). Consumers (KIP-320) and followers
// ask where a leader epoch ended, to detect log truncation. On a single node every batch carries
// leader epoch 0, so:
//   requested epoch 0            → end offset = log end offset, leader epoch 0
//   requested epoch > 0 or < 0   → UNDEFINED_EPOCH_OFFSET (-1) and epoch -1, error NONE
// currentLeaderEpoch (v2+) fences stale callers as Kafka does: -1 skips the check, a larger epoch
// than ours is UNKNOWN_LEADER_EPOCH (the caller knows a newer leader), a smaller one
// FENCED_LEADER_EPOCH. Unknown topic or partition: UNKNOWN_TOPIC_OR_PARTITION.

import { OffsetForLeaderEpochApi } from "../../protocol/generated/offset-for-leader-epoch.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { BrokerContext } from "../context.ts";
import { defineHandler } from "../handler.ts";

const LEADER_EPOCH = 0;
const NO_EPOCH = -1;
const UNDEFINED_EPOCH_OFFSET = -1n;

function endOffsetFor(broker: BrokerContext, topic: string, partition: number, currentLeaderEpoch: number, leaderEpoch: number) {
  const answer = (errorCode: number, epoch: number, endOffset: bigint) => ({ errorCode, partition, leaderEpoch: epoch, endOffset });
  const log = broker.cluster.partitionLog(topic, partition);
  if (!log) return answer(broker.cluster.unavailableCode(topic, partition), NO_EPOCH, UNDEFINED_EPOCH_OFFSET);
  if (currentLeaderEpoch !== NO_EPOCH) {
    if (currentLeaderEpoch > LEADER_EPOCH) return answer(ErrorCode.UNKNOWN_LEADER_EPOCH, NO_EPOCH, UNDEFINED_EPOCH_OFFSET);
    if (currentLeaderEpoch < LEADER_EPOCH) return answer(ErrorCode.FENCED_LEADER_EPOCH, NO_EPOCH, UNDEFINED_EPOCH_OFFSET);
  }
  if (leaderEpoch !== LEADER_EPOCH) return answer(ErrorCode.NONE, NO_EPOCH, UNDEFINED_EPOCH_OFFSET);
  return answer(ErrorCode.NONE, LEADER_EPOCH, log.logEndOffset);
}

export default defineHandler({
  api: OffsetForLeaderEpochApi,
  minVersion: 0,
  maxVersion: 4,
  handle(request, ctx) {
    const topics = request.topics.map((topic) => ({
      topic: topic.topic,
      partitions: topic.partitions.map((partition) =>
        endOffsetFor(
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
