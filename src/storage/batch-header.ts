// The fixed 61-byte header of a RecordBatch v2, read and stamped in place. Storage never
// decodes records: everything it needs (offsets, timestamps, producer fields, CRC) is here. A
// produced batch's records are only walked (record-walk.ts: lengths and offset deltas) before it
// is accepted, so that the header's count and offsets are known to describe what is inside.
//
//   0  baseOffset            int64   stamped by the log (outside the CRC)
//   8  batchLength           int32   bytes after this field (total size = batchLength + 12)
//  12  partitionLeaderEpoch  int32   stamped by the log (outside the CRC)
//  16  magic                 int8    2
//  17  crc                   uint32  CRC-32C of bytes 21 … end
//  21  attributes            int16   bits 0-2 compression, 3 timestampType, 4 transactional, 5 control
//  23  lastOffsetDelta       int32
//  27  baseTimestamp         int64
//  35  maxTimestamp          int64
//  43  producerId            int64
//  51  producerEpoch         int16
//  53  baseSequence          int32
//  57  recordsCount          int32
//  61  records…

import type { NativeApi } from "../native/types.ts";
import { CompressionType, decompress } from "../protocol/compression.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { recordBytesMin, walkRecords } from "./record-walk.ts";
import { assert } from "../util/assert.ts";
import type { BatchProducerInfo } from "./types.ts";

export const batchHeaderBytes = 61;
/** baseOffset + batchLength: the bytes not counted by batchLength. */
export const logOverheadBytes = 12;
export const crcStartOffset = 21;

export const Field = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordsCount: 57,
} as const;

export const Attribute = {
  compressionMask: 0x07,
  timestampTypeLogAppendTime: 0x08,
  transactional: 0x10,
  control: 0x20,
} as const;

export interface BatchHeader {
  baseOffset: bigint;
  /** Total bytes of the batch, batchLength + 12. */
  sizeBytes: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
}

// Header fields are read and written byte by byte (big-endian), and 64-bit ones through one shared
// 8-byte scratch DataView: a DataView over a fresh request buffer costs ~0.6 µs in Bun (it makes
// JavaScriptCore materialize the ArrayBuffer; see src/protocol/primitives.ts), and the append path
// used to make three per batch (parse, stamp base offset, stamp leader epoch).
const scratchBytes = new Uint8Array(8);
const scratchView = new DataView(scratchBytes.buffer);

function int32At(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
}

function int16At(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16)) >> 16;
}

function int64At(bytes: Uint8Array, at: number): bigint {
  for (let index = 0; index < 8; index++) scratchBytes[index] = bytes[at + index]!;
  return scratchView.getBigInt64(0);
}

function setInt32At(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = value >>> 16;
  bytes[at + 2] = value >>> 8;
  bytes[at + 3] = value;
}

function setInt64At(bytes: Uint8Array, at: number, value: bigint): void {
  scratchView.setBigInt64(0, value);
  for (let index = 0; index < 8; index++) bytes[at + index] = scratchBytes[index]!;
}

/** Parse the header at `position` (the caller checked that 61 bytes are there). */
export function readBatchHeader(bytes: Uint8Array, position = 0): BatchHeader {
  assert(position >= 0 && position + batchHeaderBytes <= bytes.length, "readBatchHeader needs 61 bytes");
  return {
    baseOffset: int64At(bytes, position + Field.baseOffset),
    sizeBytes: int32At(bytes, position + Field.batchLength) + logOverheadBytes,
    partitionLeaderEpoch: int32At(bytes, position + Field.partitionLeaderEpoch),
    magic: (bytes[position + Field.magic]! << 24) >> 24,
    crc: int32At(bytes, position + Field.crc) >>> 0,
    attributes: int16At(bytes, position + Field.attributes),
    lastOffsetDelta: int32At(bytes, position + Field.lastOffsetDelta),
    baseTimestamp: int64At(bytes, position + Field.baseTimestamp),
    maxTimestamp: int64At(bytes, position + Field.maxTimestamp),
    producerId: int64At(bytes, position + Field.producerId),
    producerEpoch: int16At(bytes, position + Field.producerEpoch),
    baseSequence: int32At(bytes, position + Field.baseSequence),
    recordsCount: int32At(bytes, position + Field.recordsCount),
  };
}

export function lastOffsetOf(header: BatchHeader): bigint {
  return header.baseOffset + BigInt(header.lastOffsetDelta);
}

export function producerInfoOf(header: BatchHeader): BatchProducerInfo {
  return {
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    lastOffsetDelta: header.lastOffsetDelta,
    recordCount: header.recordsCount,
    baseOffset: header.baseOffset,
    maxTimestamp: header.maxTimestamp,
    isTransactional: (header.attributes & Attribute.transactional) !== 0,
    isControl: (header.attributes & Attribute.control) !== 0,
  };
}

/** Total size of the batch at `position` from its length field (bytes 8..12 must be present). */
export function batchSizeAt(bytes: Uint8Array, position: number): number {
  return int32At(bytes, position + Field.batchLength) + logOverheadBytes;
}

export function stampBaseOffset(bytes: Uint8Array, position: number, baseOffset: bigint): void {
  setInt64At(bytes, position + Field.baseOffset, baseOffset);
}

export function stampLeaderEpoch(bytes: Uint8Array, position: number, epoch: number): void {
  setInt32At(bytes, position + Field.partitionLeaderEpoch, epoch);
}

/** CRC-32C over bytes 21 … end of the batch at `position` of `size` bytes. */
export function computeBatchCrc(native: NativeApi, bytes: Uint8Array, position: number, size: number): number {
  return native.crc32c(bytes.subarray(position + crcStartOffset, position + size));
}

/** LogAppendTime: write maxTimestamp and the timestampType bit, then recompute the CRC. */
export function stampLogAppendTime(native: NativeApi, bytes: Uint8Array, position: number, size: number, timeMs: bigint): void {
  setInt64At(bytes, position + Field.maxTimestamp, timeMs);
  bytes[position + Field.attributes + 1] = bytes[position + Field.attributes + 1]! | Attribute.timestampTypeLogAppendTime;
  setInt32At(bytes, position + Field.crc, computeBatchCrc(native, bytes, position, size));
}

/**
 * Why a batch found in a segment file is not acceptable, or null when it is whole and its CRC
 * matches. Used by recovery (a torn or zero-filled tail) and by readers that re-check batches.
 * `available` is how many bytes of the file remain from `position`.
 */
export function checkStoredBatch(native: NativeApi, bytes: Uint8Array, position: number, available: number): string | null {
  if (available < batchHeaderBytes) return `${available} bytes left, less than a batch header`;
  const size = int32At(bytes, position + Field.batchLength) + logOverheadBytes;
  if (size < batchHeaderBytes) return `batch length ${size - logOverheadBytes} is too small`;
  if (size > available) return `batch of ${size} bytes but only ${available} left`;
  const magic = (bytes[position + Field.magic]! << 24) >> 24;
  if (magic !== 2) return `magic ${magic}`;
  if (int32At(bytes, position + Field.lastOffsetDelta) < 0) return "negative lastOffsetDelta";
  const expected = int32At(bytes, position + Field.crc) >>> 0;
  const actual = computeBatchCrc(native, bytes, position, size);
  if (expected !== actual) return `CRC mismatch (stored ${expected}, computed ${actual})`;
  return null;
}

export interface ValidatedBatch {
  position: number;
  header: BatchHeader;
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
function validateRecords(bytes: Uint8Array, position: number, header: BatchHeader, batchIndex: number, inflatedBytesMax: number): void {
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
 * 0 … n-1 (lastOffsetDelta = n - 1) that fill the batch exactly (see record-walk.ts; compressed
 * records are inflated to be walked). Throws KafkaError; the caller writes nothing then.
 *
 * Error codes follow Kafka: CORRUPT_MESSAGE for a damaged batch (length, magic, CRC) or damaged
 * compressed data, MESSAGE_TOO_LARGE above max.message.bytes, INVALID_RECORD for a count or
 * records that do not match the header (Kafka's InvalidRecordException),
 * UNSUPPORTED_COMPRESSION_TYPE for an unknown codec.
 */
export function validateIncomingBatches(native: NativeApi, bytes: Uint8Array, limits: ValidationLimits): ValidatedBatch[] {
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
    const crc = computeBatchCrc(native, bytes, position, header.sizeBytes);
    if (crc !== header.crc) {
      throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `CRC-32C mismatch at batch ${batches.length}: header says ${header.crc}, bytes give ${crc}`);
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
export function validateReplicatedBatches(native: NativeApi, bytes: Uint8Array, logEndOffset: bigint): ValidatedBatch[] {
  if (bytes.length === 0) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, "no record batch to append");
  const batches: ValidatedBatch[] = [];
  let nextOffset = logEndOffset;
  let position = 0;
  while (position < bytes.length) {
    const problem = checkStoredBatch(native, bytes, position, bytes.length - position);
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
