// Checks of whole RecordBatch v2 batches: a producer's (validateIncomingBatches: everything Kafka's
// LogValidator refuses, records walked), a leader's replicated to a follower
// (validateReplicatedBatches) and one found in a segment file (checkStoredBatch: recovery and
// readers). Errors use Kafka's codes; nothing here writes anything.

import { CompressionType, decompress } from "../compression.ts";
import { ErrorCode, KafkaError } from "../errors.ts";
import { assert } from "../../util/assert.ts";
import { batchCrcAt, lastOffsetOf, readBatchHeader, type CrcSource, type RecordBatchHeader } from "./header.ts";
import { Attribute, Field, batchHeaderBytes, int32At, int8At, logOverheadBytes } from "./layout.ts";
import { recordBytesMin, walkRecords } from "./records.ts";

/**
 * Why a batch found in a segment file is not acceptable, or null when it is whole and its CRC
 * matches. Used by recovery (a torn or zero-filled tail) and by readers that re-check batches.
 * `available` is how many bytes of the file remain from `position`.
 */
export function checkStoredBatch(crc: CrcSource, bytes: Uint8Array, position: number, available: number): string | null {
  if (available < batchHeaderBytes) return `${available} bytes left, less than a batch header`;
  const size = int32At(bytes, position + Field.batchLength) + logOverheadBytes;
  if (size < batchHeaderBytes) return `batch length ${size - logOverheadBytes} is too small`;
  if (size > available) return `batch of ${size} bytes but only ${available} left`;
  const magic = int8At(bytes, position + Field.magic);
  if (magic !== 2) return `magic ${magic}`;
  if (int32At(bytes, position + Field.lastOffsetDelta) < 0) return "negative lastOffsetDelta";
  const expected = int32At(bytes, position + Field.crc) >>> 0;
  const actual = batchCrcAt(bytes, position, size, crc);
  if (expected !== actual) return `CRC mismatch (stored ${expected}, computed ${actual})`;
  return null;
}

export interface ValidatedBatch {
  position: number;
  header: RecordBatchHeader;
}

export interface ValidationLimits {
  maxMessageBytes: number;
  /** Cap on the inflated records of a compressed batch; default recordsInflatedBytesMaxFor(maxMessageBytes). */
  recordsInflatedBytesMax?: number;
}

/** Compressed batches may inflate to this many times max.message.bytes… */
export const recordsInflatedFactor = 64;
/** …but never less than this (a small max.message.bytes must not refuse ordinary compression ratios)… */
export const recordsInflatedBytesFloor = 64 * 1024 * 1024;
/** …nor more than this (one inflated batch is held in memory at a time). */
export const recordsInflatedBytesCeiling = 1024 * 1024 * 1024;

/**
 * The most bytes a compressed batch's records may inflate to. Kafka has no such limit (it streams
 * the records through the decompressor), and no config key for one; we must inflate the whole
 * records section to walk it, so a 200 KiB gzip bomb must not make us allocate gigabytes. The cap
 * is derived from max.message.bytes: 64 × max.message.bytes, clamped to [64 MiB, 1 GiB]. With the
 * default max.message.bytes (1 MiB) that is 64 MiB: above any ratio real data reaches within a
 * producer's batch (clients cap a batch's uncompressed size near 1 MiB by default), well below
 * what hurts the broker. A batch above it is refused with CORRUPT_MESSAGE.
 */
export function recordsInflatedBytesMaxFor(maxMessageBytes: number): number {
  const derived = Math.max(maxMessageBytes, 0) * recordsInflatedFactor;
  return Math.min(Math.max(derived, recordsInflatedBytesFloor), recordsInflatedBytesCeiling);
}

function invalidRecord(batchIndex: number, message: string): KafkaError {
  return new KafkaError(ErrorCode.INVALID_RECORD, `batch ${batchIndex}: ${message}`);
}

/**
 * Check the records inside one batch whose header and CRC are valid: an uncompressed batch is
 * walked in place; a compressed one is inflated (capped) and its records walked. Throws
 * KafkaError: INVALID_RECORD for malformed records (as Kafka's record iterator does),
 * CORRUPT_MESSAGE when the compressed data is damaged or inflates past the cap,
 * UNSUPPORTED_COMPRESSION_TYPE for codec 5-7.
 */
function validateRecords(bytes: Uint8Array, position: number, header: RecordBatchHeader, batchIndex: number, inflatedBytesMax: number): void {
  const codec = header.attributes & Attribute.compressionMask;
  const recordsStart = position + batchHeaderBytes;
  const recordsEnd = position + header.sizeBytes;
  let problem: string | null;
  if (codec === CompressionType.none) {
    problem = walkRecords(bytes, recordsStart, recordsEnd, header.recordsCount);
  } else {
    if (codec > CompressionType.zstd) {
      throw new KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `batch ${batchIndex}: compression codec ${codec}`);
    }
    // A count that could not fit even at the cap is refused without inflating anything.
    if (header.recordsCount > inflatedBytesMax / recordBytesMin) {
      throw invalidRecord(batchIndex, `${header.recordsCount} records cannot fit in ${inflatedBytesMax} inflated bytes`);
    }
    const inflated = decompress(codec, bytes.subarray(recordsStart, recordsEnd), inflatedBytesMax);
    problem = walkRecords(inflated, 0, inflated.length, header.recordsCount);
  }
  if (problem !== null) throw invalidRecord(batchIndex, problem);
}

/**
 * Validate the batches of a produce request before anything is written: each must be a whole
 * RecordBatch v2 with a matching CRC-32C, within max.message.bytes, with 1 … n records numbered
 * 0 … n-1 (lastOffsetDelta = n - 1) that fill the batch exactly (see records.ts; compressed
 * records are inflated to be walked). Throws KafkaError; the caller writes nothing then.
 *
 * Error codes follow Kafka: CORRUPT_MESSAGE for a damaged batch (length, magic, CRC) or damaged
 * compressed data, MESSAGE_TOO_LARGE above max.message.bytes, INVALID_RECORD for a count or
 * records that do not match the header (Kafka's InvalidRecordException),
 * UNSUPPORTED_COMPRESSION_TYPE for an unknown codec.
 */
export function validateIncomingBatches(crc: CrcSource, bytes: Uint8Array, limits: ValidationLimits): ValidatedBatch[] {
  const batches: ValidatedBatch[] = [];
  const inflatedBytesMax = limits.recordsInflatedBytesMax ?? recordsInflatedBytesMaxFor(limits.maxMessageBytes);
  let position = 0;
  if (bytes.length === 0) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, "no record batch in the request");
  while (position < bytes.length) {
    const available = bytes.length - position;
    if (available < batchHeaderBytes) {
      throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `${available} trailing bytes, less than a batch header`);
    }
    const header = readBatchHeader(bytes, position);
    if (header.magic !== 2) {
      throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `record batch magic ${header.magic}, only magic 2 is supported`);
    }
    if (header.sizeBytes < batchHeaderBytes || header.sizeBytes > available) {
      throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `batch length ${header.sizeBytes - logOverheadBytes} does not fit the ${available} bytes left`);
    }
    if (header.sizeBytes > limits.maxMessageBytes) {
      throw new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, `batch of ${header.sizeBytes} bytes exceeds max.message.bytes ${limits.maxMessageBytes}`);
    }
    const computed = batchCrcAt(bytes, position, header.sizeBytes, crc);
    if (computed !== header.crc) {
      throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `CRC-32C mismatch at batch ${batches.length}: header says ${header.crc}, bytes give ${computed}`);
    }
    if (header.recordsCount <= 0) {
      throw invalidRecord(batches.length, `invalid record count ${header.recordsCount}`);
    }
    if (header.lastOffsetDelta !== header.recordsCount - 1) {
      throw invalidRecord(batches.length, `lastOffsetDelta ${header.lastOffsetDelta} does not match ${header.recordsCount} records`);
    }
    validateRecords(bytes, position, header, batches.length, inflatedBytesMax);
    batches.push({ position, header });
    position += header.sizeBytes;
  }
  return batches;
}

/**
 * Check batches replicated from a leader before a follower appends them as they are (offsets and
 * leader epochs already stamped): each whole, magic 2, CRC-32C matching (CORRUPT_MESSAGE
 * otherwise); offsets increasing, the first at or after the log end (OFFSET_OUT_OF_RANGE
 * otherwise). Gaps between batches are allowed: a compacted leader log has them. Not checked: the
 * records inside and max.message.bytes, which the leader checked when it accepted them.
 */
export function validateReplicatedBatches(crc: CrcSource, bytes: Uint8Array, logEndOffset: bigint): ValidatedBatch[] {
  if (bytes.length === 0) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, "no record batch to append");
  const batches: ValidatedBatch[] = [];
  let nextOffset = logEndOffset;
  let position = 0;
  while (position < bytes.length) {
    const problem = checkStoredBatch(crc, bytes, position, bytes.length - position);
    if (problem !== null) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `replicated batch ${batches.length}: ${problem}`);
    const header = readBatchHeader(bytes, position);
    if (header.baseOffset < nextOffset) {
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE,
        `replicated batch ${batches.length} starts at ${header.baseOffset}, before ${nextOffset} (${batches.length === 0 ? "the log end" : "the previous batch's end"})`);
    }
    batches.push({ position, header });
    nextOffset = lastOffsetOf(header) + 1n;
    position += header.sizeBytes;
  }
  assert(position === bytes.length, "replicated batches fill the bytes");
  return batches;
}
