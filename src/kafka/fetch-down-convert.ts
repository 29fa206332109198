// Fetch v0-3 for consumers of the old message formats: a partition's stored RecordBatch v2 data,
// down-converted (protocol/legacy-message-set/down-convert.ts) to magic 0 (Fetch v0-1) or magic 1
// (Fetch v2-3), as Kafka 3.x does. Only those versions come here: the v4+ path sends the log's
// bytes as they are and never touches this file.
//
// Limits, per Kafka's rules for those versions:
//   - v0-2 have no response-wide max_bytes (we still bound the whole answer by fetch.max.bytes, to
//     bound memory); each partition gets at most partition_max_bytes of converted messages, whole
//     ones, and when not even the first fits, its first partition_max_bytes bytes (a partial
//     message: the client reports the record too large or retries with a larger size).
//   - v3 has max_bytes: the first message of the response goes whole even when larger (KIP-74),
//     later partitions get only what fits.
// Memory: the log read asks for the partition's budget of v2 bytes (the first batch whole); each
// compressed batch is inflated within a cap derived from max.message.bytes; the converted copy is
// at most the budget (or the one first message). The log's views are released at once.
// message.downconversion.enable=false (topic config; broker default log.message.downconversion.enable)
// refuses the partition with UNSUPPORTED_VERSION, as Kafka answers.

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { downConvert, type LegacyMagic } from "../protocol/legacy-message-set/index.ts";
import { recordsInflatedBytesMaxFor } from "../protocol/record-batch.ts";
import type { Partition } from "../replication/index.ts";
import { assert } from "../util/assert.ts";

export interface DownConvertedRead {
  records: Uint8Array;
  highWatermark: bigint;
  logStartOffset: bigint;
}

/** The message format a Fetch version reads: magic 0 for v0-1, magic 1 for v2-3. */
export function magicForFetchVersion(version: number): LegacyMagic {
  assert(version >= 0 && version <= 3, "only Fetch v0-3 down-convert");
  return version < 2 ? 0 : 1;
}

/**
 * Reads and down-converts one partition for Fetch v0-3 (see the header). `first`: nothing is in
 * the response yet (KIP-74, v3). Throws KafkaError (the partition's error).
 */
export function readDownConverted(replica: Partition, version: number, fetchOffset: bigint, budget: number, isolation: number, first: boolean): DownConvertedRead {
  const config = replica.topicConfig;
  if (!config["message.downconversion.enable"]) {
    throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, `${replica.topic}: message.downconversion.enable is false; fetch with v4+ (RecordBatch v2)`);
  }
  const read = replica.readRecords(fetchOffset, budget, isolation);
  try {
    const converted = downConvert(read.chunks, {
      magic: magicForFetchVersion(version),
      fetchOffset,
      maxBytes: budget,
      oversizeFirst: version < 3 ? "partial" : first ? "whole" : "omit",
      inflatedBytesMax: recordsInflatedBytesMaxFor(config["max.message.bytes"]),
    });
    return { records: converted.bytes, highWatermark: read.highWatermark, logStartOffset: read.logStartOffset };
  } finally {
    read.release();
  }
}
