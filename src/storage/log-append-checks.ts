// What a leader's append checks beyond the batch structure (protocol/record-batch/validate.ts), per
// topic config, as Kafka's LogValidator does: control batches from clients, keyless records in
// compacted topics, timestamps outside message.timestamp.before/after.max.ms. Each throws a
// KafkaError naming the refused records; nothing is written then.

import type { TopicConfig } from "../config/index.ts";
import { LONG_MAX } from "../config/index.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { decodeRecords, isControl, recordsInflatedBytesMaxFor, splitBatches, type ValidatedBatch } from "../protocol/record-batch.ts";

/** A config long at or above Kafka's Long.MAX_VALUE means "never". */
export function isNever(value: number): boolean {
  return value >= LONG_MAX;
}

/**
 * Clients may not write control batches (attributes bit 5: transaction markers): Kafka's
 * LogValidator refuses them with INVALID_RECORD. Accepted, they were acknowledged and then
 * invisible to consumers (which skip control batches).
 */
export function refuseControlBatches(topicPartition: string, validated: readonly ValidatedBatch[]): void {
  for (const { header } of validated) {
    if (isControl(header.attributes)) {
      throw new KafkaError(ErrorCode.INVALID_RECORD, `Clients are not allowed to write control records in topic partition ${topicPartition}.`);
    }
  }
}

/**
 * A compacted topic refuses records without a key with INVALID_RECORD naming each of them (index
 * in its batch), as Kafka's LogValidator does: compaction keeps the latest record per key, so a
 * keyless record has no meaning there. Decodes the batches of compacted topics only.
 */
export function checkKeys(topic: string, config: TopicConfig, bytes: Uint8Array, validated: readonly ValidatedBatch[]): void {
  if (!config["cleanup.policy"].includes("compact")) return;
  const inflatedBytesMax = recordsInflatedBytesMaxFor(config["max.message.bytes"]);
  for (const { position, header } of validated) {
    const [view] = splitBatches(bytes.subarray(position, position + header.sizeBytes), { verifyCrc: false });
    if (isControl(view!.header.attributes)) continue;
    const recordErrors = decodeRecords(view!, { inflatedBytesMax }).flatMap((record, batchIndex) =>
      record.key === null ? [{ batchIndex, message: `compacted topic ${topic} cannot accept a record without a key` }] : []);
    if (recordErrors.length > 0) {
      throw new KafkaError(ErrorCode.INVALID_RECORD, `compacted topic ${topic} cannot accept records without a key`, recordErrors);
    }
  }
}

/**
 * message.timestamp.before/after.max.ms (CreateTime topics): a batch whose base or max timestamp
 * is out of range is refused with INVALID_TIMESTAMP naming each refused record (index in its
 * batch), as Kafka's RecordValidationException does (Produce v8+ recordErrors). Only the failing
 * batch is decoded, so the check costs two comparisons per batch when timestamps are in range.
 */
export function checkTimestamps(config: TopicConfig, nowMs: number, bytes: Uint8Array, validated: readonly ValidatedBatch[]): void {
  if (config["message.timestamp.type"] !== "CreateTime") return;
  const beforeMs = config["message.timestamp.before.max.ms"];
  const afterMs = config["message.timestamp.after.max.ms"];
  if (isNever(beforeMs) && isNever(afterMs)) return;
  const now = BigInt(nowMs);
  const earliest = isNever(beforeMs) ? null : now - BigInt(beforeMs);
  const latest = isNever(afterMs) ? null : now + BigInt(afterMs);
  const outOfRange = (timestamp: bigint) => timestamp >= 0n && ((earliest !== null && timestamp < earliest) || (latest !== null && timestamp > latest));
  for (const { position, header } of validated) {
    if (!outOfRange(header.baseTimestamp) && !outOfRange(header.maxTimestamp)) continue;
    const batch = bytes.subarray(position, position + header.sizeBytes);
    const [view] = splitBatches(batch, { verifyCrc: false });
    const records = decodeRecords(view!, { inflatedBytesMax: recordsInflatedBytesMaxFor(config["max.message.bytes"]) });
    const range = `[${earliest ?? "-inf"}, ${latest ?? "+inf"}] (message.timestamp.before.max.ms=${beforeMs}, message.timestamp.after.max.ms=${afterMs})`;
    const recordErrors = records.flatMap((record, batchIndex) =>
      outOfRange(record.timestamp) ? [{ batchIndex, message: `timestamp ${record.timestamp} of record ${batchIndex} is out of range ${range}` }] : []);
    throw new KafkaError(ErrorCode.INVALID_TIMESTAMP, "one or more records have been rejected due to invalid timestamp", recordErrors);
  }
}
