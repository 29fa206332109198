// DescribeProducers (key 61), v0: the active producers of each partition led here, from the
// partition's producer state — producer id, epoch, last sequence, last timestamp, and the first
// offset of its open transaction (-1 when none). coordinatorEpoch is -1 (not tracked per producer).
// Partitions not led here: NOT_LEADER_OR_FOLLOWER; unknown ones: UNKNOWN_TOPIC_OR_PARTITION.
// ACLs, as Kafka: READ on the topic (TOPIC_AUTHORIZATION_FAILED).

import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { DescribeProducersApi } from "../../protocol/generated/describe-producers.ts";
import { defineHandler } from "../handler.ts";
import { AclOperation } from "../../security/acl.ts";
import { authorizeTopic } from "../security.ts";

export default defineHandler({
  api: DescribeProducersApi,
  minVersion: 0,
  maxVersion: DescribeProducersApi.maxVersion,
  handle(request, ctx) {
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitionIndexes.map((partitionIndex) => {
          if (!authorizeTopic(ctx, AclOperation.READ, topic.name)) {
            return { partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null, activeProducers: [] };
          }
          try {
            const replica = ctx.broker.replicas.leaderPartition(topic.name, partitionIndex);
            return {
              partitionIndex,
              errorCode: ErrorCode.NONE,
              errorMessage: null,
              activeProducers: replica.activeProducers().map((producer) => ({
                producerId: producer.producerId,
                producerEpoch: producer.producerEpoch,
                lastSequence: producer.lastSequence,
                lastTimestamp: BigInt(producer.lastTimestampMs),
                coordinatorEpoch: -1,
                currentTxnStartOffset: producer.currentTransactionStartOffset,
              })),
            };
          } catch (error) {
            if (!(error instanceof KafkaError)) throw error;
            return { partitionIndex, errorCode: error.code, errorMessage: error.message, activeProducers: [] };
          }
        }),
      })),
    };
  },
});
