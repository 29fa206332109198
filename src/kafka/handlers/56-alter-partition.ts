// AlterPartition (key 56), v0-v3, internal (CONTROLLER) listener only: a partition leader proposing a
// new ISR to the active controller (controller/partition-change.ts's rules): per partition
// FENCED_LEADER_EPOCH, NOT_LEADER_OR_FOLLOWER, INVALID_UPDATE_VERSION, INELIGIBLE_REPLICA,
// INVALID_REQUEST, UNKNOWN_TOPIC_ID / UNKNOWN_TOPIC_OR_PARTITION; top level NOT_CONTROLLER,
// STALE_BROKER_EPOCH (the sender's registration is not the current one). Topics by id (v2+) or by
// name (v0-v1). Answered once the change is committed. Not done: leader recovery state (always 0),
// the broker epochs of newIsrWithEpochs (v3) are not checked.

import { ErrorCode, errorCodeOf } from "../../protocol/errors.ts";
import { AlterPartitionApi } from "../../protocol/generated/alter-partition.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler({
  api: AlterPartitionApi,
  minVersion: 0,
  maxVersion: 3,
  async handle(request, ctx) {
    const quorum = ctx.broker.quorum;
    if (!quorum || !quorum.controller.isActive) return { errorCode: ErrorCode.NOT_CONTROLLER };
    const registration = quorum.controller.committedImage.brokers.get(request.brokerId);
    if (request.brokerEpoch >= 0n && registration && registration.epoch !== request.brokerEpoch) return { errorCode: ErrorCode.STALE_BROKER_EPOCH };
    const topics = await Promise.all(request.topics.map(async (topic) => {
      const image = quorum.controller.committedImage;
      const topicId = ctx.version >= 2 ? topic.topicId : image.topicsByName.get(topic.topicName)?.id ?? "";
      const partitions = await Promise.all(topic.partitions.map(async (partition) => {
        const newIsr = ctx.version >= 3 ? partition.newIsrWithEpochs.map((state) => state.brokerId) : partition.newIsr;
        try {
          const result = await quorum.controller.alterPartition({
            brokerId: request.brokerId, topicId, partition: partition.partitionIndex,
            leaderEpoch: partition.leaderEpoch, partitionEpoch: partition.partitionEpoch, newIsr,
          });
          const answer = result.value;
          if (answer.errorCode !== 0 || !answer.registration) return { partitionIndex: partition.partitionIndex, errorCode: answer.errorCode };
          return {
            partitionIndex: partition.partitionIndex, errorCode: 0, leaderId: answer.registration.leader, leaderEpoch: answer.registration.leaderEpoch,
            isr: answer.registration.isr, partitionEpoch: answer.registration.partitionEpoch,
          };
        } catch (error) {
          return { partitionIndex: partition.partitionIndex, errorCode: errorCodeOf(error) };
        }
      }));
      return { topicName: topic.topicName, topicId: topic.topicId, partitions };
    }));
    // A lost leadership fails every partition alike: report it at the top (the broker retries).
    if (topics.every((topic) => topic.partitions.every((partition) => partition.errorCode === ErrorCode.NOT_CONTROLLER)) && topics.length > 0) {
      return { errorCode: ErrorCode.NOT_CONTROLLER };
    }
    return { errorCode: 0, topics };
  },
});
