// ListOffsets (key 2), v0-v10. Per partition: timestamp -2 (earliest) → log start offset, -1
// (latest) → high watermark (= last stable offset: no transactions), -3 (max timestamp, v7+) → the
// first record with the largest timestamp (looked up inside its batch), -4 (earliest local, v8+) and -5 (earliest tiered, v9+) → log
// start offset (all data is local), a timestamp ≥ 0 → the first record whose timestamp is at or
// after it (found by batch in the time index, then by record inside that batch; offset -1 when none). v0 answers in its old layout (a list of offsets).
// Leader epoch is 0 (single node, no elections). Does not: check currentLeaderEpoch fencing.

import { ErrorCode, errorCodeOf, KafkaError } from "../../protocol/errors.ts";
import {
  ListOffsetsApi,
  type ListOffsetsRequestListOffsetsPartition,
  type ListOffsetsResponseListOffsetsPartitionResponse,
} from "../../protocol/generated/index.ts";
import type { Init } from "../../protocol/primitives.ts";
import { decodeRecords, splitBatches } from "../../protocol/record-batch.ts";
import type { PartitionLog } from "../../storage/types.ts";
import { defineHandler } from "../handler.ts";

const LATEST = -1n;
const EARLIEST = -2n;
const MAX_TIMESTAMP = -3n;
const EARLIEST_LOCAL = -4n;
const EARLIEST_TIERED = -5n;

type PartitionResponse = Init<ListOffsetsResponseListOffsetsPartitionResponse>;

/**
 * The storage finds the first batch whose max timestamp qualifies; Kafka answers the first RECORD
 * at or after the timestamp, so look inside that batch (inflating it when compressed).
 */
function firstRecordAtOrAfter(log: PartitionLog, batchOffset: bigint, timestamp: bigint): { offset: bigint; timestamp: bigint } | null {
  const read = log.read(batchOffset, 1);
  try {
    for (const chunk of read.chunks) {
      for (const batch of splitBatches(chunk, { verifyCrc: false })) {
        if (batch.header.maxTimestamp < timestamp) continue;
        for (const record of decodeRecords(batch)) {
          if (record.offset >= batchOffset && record.timestamp >= timestamp) return { offset: record.offset, timestamp: record.timestamp };
        }
      }
    }
    return null;
  } finally {
    read.release();
  }
}

function lookUp(log: PartitionLog, wanted: ListOffsetsRequestListOffsetsPartition, version: number): PartitionResponse {
  const index = wanted.partitionIndex;
  const answer = (offset: bigint, timestamp: bigint, leaderEpoch: number): PartitionResponse =>
    version === 0
      ? { partitionIndex: index, errorCode: ErrorCode.NONE, oldStyleOffsets: offset >= 0n ? [offset] : [] }
      : { partitionIndex: index, errorCode: ErrorCode.NONE, timestamp, offset, leaderEpoch: version >= 4 ? leaderEpoch : -1 };
  switch (wanted.timestamp) {
    case LATEST:
      return answer(log.highWatermark, -1n, 0);
    case EARLIEST:
    case EARLIEST_LOCAL:
    case EARLIEST_TIERED:
      return answer(log.logStartOffset, -1n, 0);
    case MAX_TIMESTAMP: {
      // The storage names the batch holding the largest timestamp; Kafka (3.8+) answers the first
      // record in it that holds that timestamp.
      const found = log.maxTimestampOffset();
      if (!found) return answer(-1n, -1n, -1);
      const exact = found.offset >= log.logStartOffset ? firstRecordAtOrAfter(log, found.offset, found.timestamp) : null;
      return exact ? answer(exact.offset, exact.timestamp, 0) : answer(found.offset, found.timestamp, 0);
    }
    default: {
      if (wanted.timestamp < 0n) {
        return { partitionIndex: index, errorCode: ErrorCode.INVALID_REQUEST, timestamp: -1n, offset: -1n };
      }
      const found = log.offsetForTimestamp(wanted.timestamp);
      if (!found) return answer(-1n, -1n, -1);
      const exact = firstRecordAtOrAfter(log, found.offset, wanted.timestamp);
      return exact ? answer(exact.offset, exact.timestamp, 0) : answer(found.offset, found.timestamp, 0);
    }
  }
}

export default defineHandler({
  api: ListOffsetsApi,
  minVersion: 0,
  maxVersion: ListOffsetsApi.maxVersion,
  handle(request, ctx) {
    const cluster = ctx.broker.cluster;
    const failed = (partitionIndex: number, errorCode: number): PartitionResponse =>
      ctx.version === 0 ? { partitionIndex, errorCode, oldStyleOffsets: [] } : { partitionIndex, errorCode, timestamp: -1n, offset: -1n };
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((wanted) => {
          const log = cluster.partitionLog(topic.name, wanted.partitionIndex);
          if (!log) return failed(wanted.partitionIndex, cluster.unavailableCode(topic.name, wanted.partitionIndex));
          try {
            return lookUp(log, wanted, ctx.version);
          } catch (error) {
            if (!(error instanceof KafkaError)) throw error;
            return failed(wanted.partitionIndex, errorCodeOf(error));
          }
        }),
      })),
    };
  },
});
