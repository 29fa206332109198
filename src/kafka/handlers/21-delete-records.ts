// DeleteRecords (key 21), versions 0-2 (flexible from 2). Moves a partition's log start offset
// forward to `offset` (-1 means the high watermark); whole segments below it are deleted by
// storage. Answers the new low watermark (log start offset).
//
//   logStartOffset ........ offset ........ highWatermark
//   deleteRecordsBefore(offset): records below `offset` are no longer readable
//
// Errors as Kafka: UNKNOWN_TOPIC_OR_PARTITION; OFFSET_OUT_OF_RANGE for an offset beyond the high
// watermark or negative other than -1; POLICY_VIOLATION when cleanup.policy lacks "delete"
// (compacted topics). An offset below the current start changes nothing and answers the start.

import { DeleteRecordsApi } from "../../protocol/generated/delete-records.ts";
import { ErrorCode, errorCodeOf, KafkaError } from "../../protocol/errors.ts";
import { AssertionError } from "../../util/assert.ts";
import type { BrokerContext } from "../context.ts";
import { defineHandler } from "../handler.ts";

const HIGH_WATERMARK = -1n;

async function deleteBefore(broker: BrokerContext, topic: string, partition: number, offset: bigint): Promise<bigint> {
  const log = broker.cluster.partitionLog(topic, partition);
  if (!log) throw new KafkaError(broker.cluster.unavailableCode(topic, partition));
  if (!broker.cluster.topicConfig(topic).values["cleanup.policy"].includes("delete")) {
    throw new KafkaError(ErrorCode.POLICY_VIOLATION,
      `Records of partition ${topic}-${partition} can not be deleted due to the configured policy`);
  }
  const highWatermark = log.highWatermark;
  const target = offset === HIGH_WATERMARK ? highWatermark : offset;
  if (target < 0n || target > highWatermark) {
    throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE,
      `cannot delete records of ${topic}-${partition} before ${offset}: high watermark is ${highWatermark}`);
  }
  if (target <= log.logStartOffset) return log.logStartOffset;
  return await log.deleteRecordsBefore(target);
}

export default defineHandler({
  api: DeleteRecordsApi,
  minVersion: 0,
  maxVersion: 2,
  async handle(request, ctx) {
    const topics = [];
    for (const topic of request.topics) {
      const partitions = [];
      for (const partition of topic.partitions) {
        try {
          const lowWatermark = await deleteBefore(ctx.broker, topic.name, partition.partitionIndex, partition.offset);
          partitions.push({ partitionIndex: partition.partitionIndex, lowWatermark, errorCode: ErrorCode.NONE });
        } catch (error) {
          if (error instanceof AssertionError) throw error;
          if (!(error instanceof KafkaError)) ctx.broker.log.warn("DeleteRecords failed", { topic: topic.name, error: String(error) });
          partitions.push({ partitionIndex: partition.partitionIndex, lowWatermark: -1n, errorCode: errorCodeOf(error) });
        }
      }
      topics.push({ name: topic.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
});
