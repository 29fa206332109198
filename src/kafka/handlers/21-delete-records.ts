// DeleteRecords (key 21), versions 0-2 (flexible from 2). Moves a partition's log start offset
// forward to `offset` (-1 means the high watermark), through its leader replica
// (src/replication/partition.ts); whole segments below it are deleted by storage. Answers the new
// low watermark (log start offset).
//
//   logStartOffset ........ offset ........ highWatermark
//   deleteRecordsBefore(offset): records below `offset` are no longer readable
//
// Errors as Kafka: UNKNOWN_TOPIC_OR_PARTITION; NOT_LEADER_OR_FOLLOWER on a node that does not lead
// the partition; OFFSET_OUT_OF_RANGE for an offset beyond the high watermark or negative other than
// -1; POLICY_VIOLATION when cleanup.policy lacks "delete" (compacted topics). An offset below the
// current start changes nothing and answers the start.

import { DeleteRecordsApi } from "../../protocol/generated/delete-records.ts";
import { ErrorCode, errorCodeOf, KafkaError } from "../../protocol/errors.ts";
import { AssertionError } from "../../util/assert.ts";
import { defineHandler } from "../handler.ts";
import { AclOperation } from "../../security/acl.ts";
import { authorizeTopic } from "../security.ts";

export default defineHandler({
  api: DeleteRecordsApi,
  minVersion: 0,
  maxVersion: 2,
  async handle(request, ctx) {
    const topics = [];
    for (const topic of request.topics) {
      const partitions = [];
      const deletable = authorizeTopic(ctx, AclOperation.DELETE, topic.name);
      for (const partition of topic.partitions) {
        if (!deletable) {
          partitions.push({ partitionIndex: partition.partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
          continue;
        }
        try {
          const replica = ctx.broker.replicas.leaderPartition(topic.name, partition.partitionIndex);
          const lowWatermark = await replica.deleteRecordsOnLeader(partition.offset);
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
