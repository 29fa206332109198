// ListOffsets on the leader (Kafka's Partition.fetchOffsetForTimestamp): which offset a timestamp
// or a special timestamp (-1 latest, -2 earliest, -3 max timestamp, -4 earliest local, -5 earliest
// tiered) names, with the leader epoch of that offset. Only offsets a consumer may read count:
// below the high watermark (the last stable offset for read_committed).
//
// The storage finds the first batch whose max timestamp qualifies; Kafka answers the first RECORD
// at or after the timestamp, so the batch is looked into (inflated when compressed).

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { decodeRecords, splitBatches } from "../protocol/record-batch.ts";
import type { PartitionLog } from "../storage/types.ts";

export const LATEST_TIMESTAMP = -1n;
export const EARLIEST_TIMESTAMP = -2n;
export const MAX_TIMESTAMP = -3n;
export const EARLIEST_LOCAL_TIMESTAMP = -4n;
export const EARLIEST_TIERED_TIMESTAMP = -5n;

export interface TimestampAndOffset {
  /** -1 when the lookup names no record (LATEST and EARLIEST always name an offset). */
  offset: bigint;
  timestamp: bigint;
  /** Leader epoch of `offset` (-1 when unknown). */
  leaderEpoch: number;
}

const notFound: TimestampAndOffset = { offset: -1n, timestamp: -1n, leaderEpoch: -1 };

function firstRecordAtOrAfter(log: PartitionLog, batchOffset: bigint, timestamp: bigint, bound: bigint): { offset: bigint; timestamp: bigint } | null {
  const read = log.read(batchOffset, 1, bound);
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

/** `found` refined to its first matching record, if it is readable below `bound`. */
function exactRecord(log: PartitionLog, found: { offset: bigint; timestamp: bigint }, target: bigint, bound: bigint): TimestampAndOffset {
  if (found.offset >= bound) return notFound;
  const exact = found.offset >= log.logStartOffset ? firstRecordAtOrAfter(log, found.offset, target, bound) : null;
  const answer = exact ?? found;
  return { offset: answer.offset, timestamp: answer.timestamp, leaderEpoch: log.epochForOffset(answer.offset) };
}

/** Throws KafkaError INVALID_REQUEST for an unknown negative timestamp. */
export function offsetForTimestamp(log: PartitionLog, timestamp: bigint, bound: bigint): TimestampAndOffset {
  switch (timestamp) {
    case LATEST_TIMESTAMP:
      return { offset: bound, timestamp: -1n, leaderEpoch: log.latestEpoch };
    case EARLIEST_TIMESTAMP:
    case EARLIEST_LOCAL_TIMESTAMP:
    case EARLIEST_TIERED_TIMESTAMP:
      return { offset: log.logStartOffset, timestamp: -1n, leaderEpoch: log.epochForOffset(log.logStartOffset) };
    case MAX_TIMESTAMP: {
      // The storage names the batch holding the largest timestamp; Kafka (3.8+) answers the first
      // record in it that holds that timestamp.
      const found = log.maxTimestampOffset();
      return found ? exactRecord(log, found, found.timestamp, bound) : notFound;
    }
    default: {
      if (timestamp < 0n) throw new KafkaError(ErrorCode.INVALID_REQUEST, `unknown special timestamp ${timestamp}`);
      const found = log.offsetForTimestamp(timestamp);
      return found ? exactRecord(log, found, timestamp, bound) : notFound;
    }
  }
}
