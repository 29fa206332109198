// The parsed header of a RecordBatch v2 (layout.ts has the field table), its CRC, and the stamps
// the leader writes into a produced batch (base offset, leader epoch, log-append time).

import { native as defaultNative } from "../../native/index.ts";
import { assert } from "../../util/assert.ts";
import { ErrorCode, KafkaError } from "../errors.ts";
import {
  Attribute,
  Field,
  batchHeaderBytes,
  crcStartOffset,
  int16At,
  int32At,
  int64At,
  int8At,
  logOverheadBytes,
  recordBatchMagic,
  setInt32At,
  setInt64At,
} from "./layout.ts";

/** What computes CRC-32C: the native helper (or its TypeScript fallback); tests inject their own. */
export interface CrcSource {
  crc32c(data: Uint8Array, crc?: number): number;
}

export const defaultCrcSource: CrcSource = defaultNative;

export interface RecordBatchHeader {
  baseOffset: bigint;
  /** The length field: bytes after it. */
  batchLength: number;
  /** Total bytes of the batch, batchLength + 12. */
  sizeBytes: number;
  partitionLeaderEpoch: number;
  magic: number;
  /** Unsigned. */
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

export function corruptBatch(message: string): KafkaError {
  return new KafkaError(ErrorCode.CORRUPT_MESSAGE, message);
}

/**
 * The header at `position`, read as it is: no field is checked (the caller checked that 61 bytes
 * are there; parseBatchHeader checks magic and length).
 */
export function readBatchHeader(bytes: Uint8Array, position = 0): RecordBatchHeader {
  assert(position >= 0 && position + batchHeaderBytes <= bytes.length, "readBatchHeader needs 61 bytes");
  const batchLength = int32At(bytes, position + Field.batchLength);
  return {
    baseOffset: int64At(bytes, position + Field.baseOffset),
    batchLength,
    sizeBytes: batchLength + logOverheadBytes,
    partitionLeaderEpoch: int32At(bytes, position + Field.partitionLeaderEpoch),
    magic: int8At(bytes, position + Field.magic),
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

/**
 * The header at `position`, checked: 61 bytes present, magic 2, a length that covers the header
 * (KafkaError CORRUPT_MESSAGE otherwise). Not the CRC, and not that the batch fits in `bytes`.
 */
export function parseBatchHeader(bytes: Uint8Array, position = 0): RecordBatchHeader {
  if (bytes.length - position < batchHeaderBytes) throw corruptBatch("record batch shorter than its 61-byte header");
  const magic = int8At(bytes, position + Field.magic);
  if (magic !== recordBatchMagic) throw corruptBatch(`record batch magic ${magic}, only magic 2 is supported`);
  const header = readBatchHeader(bytes, position);
  if (header.batchLength < batchHeaderBytes - logOverheadBytes) throw corruptBatch(`record batch length ${header.batchLength} below the header size`);
  return header;
}

export function lastOffsetOf(header: RecordBatchHeader): bigint {
  return header.baseOffset + BigInt(header.lastOffsetDelta);
}

/** CRC-32C over bytes 21 … end of the batch at `position` of `size` bytes (unsigned). */
export function batchCrcAt(bytes: Uint8Array, position: number, size: number, crc: CrcSource = defaultCrcSource): number {
  assert(size >= batchHeaderBytes && position + size <= bytes.length, "a CRC needs the whole batch");
  return crc.crc32c(bytes.subarray(position + crcStartOffset, position + size)) >>> 0;
}

/** The CRC-32C of a whole batch as Kafka computes it (attributes … end). */
export function computeBatchCrc(batch: Uint8Array, crc: CrcSource = defaultCrcSource): number {
  return batchCrcAt(batch, 0, batch.length, crc);
}

/** True when the CRC stored in the batch matches its bytes. */
export function verifyBatchCrc(batch: Uint8Array, crc: CrcSource = defaultCrcSource): boolean {
  return computeBatchCrc(batch, crc) === int32At(batch, Field.crc) >>> 0;
}

export function stampBaseOffset(bytes: Uint8Array, position: number, baseOffset: bigint): void {
  setInt64At(bytes, position + Field.baseOffset, baseOffset);
}

export function stampLeaderEpoch(bytes: Uint8Array, position: number, epoch: number): void {
  setInt32At(bytes, position + Field.partitionLeaderEpoch, epoch);
}

/** Rewrites the CRC field from the batch's bytes. */
export function stampCrc(bytes: Uint8Array, position: number, size: number, crc: CrcSource = defaultCrcSource): void {
  setInt32At(bytes, position + Field.crc, batchCrcAt(bytes, position, size, crc));
}

/** LogAppendTime: write maxTimestamp and the timestampType bit, then recompute the CRC. */
export function stampLogAppendTime(crc: CrcSource, bytes: Uint8Array, position: number, size: number, timeMs: bigint): void {
  setInt64At(bytes, position + Field.maxTimestamp, timeMs);
  bytes[position + Field.attributes + 1] = bytes[position + Field.attributes + 1]! | Attribute.logAppendTime;
  stampCrc(bytes, position, size, crc);
}
