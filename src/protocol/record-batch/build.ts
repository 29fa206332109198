// Building RecordBatch v2 batches: buildRecordBatch from record inputs (clients, tests, benchmarks,
// the HTTP API) and encodeBatch from LogRecords with their own offsets (the cleaner, the metadata
// log, the offsets store).

import { assert } from "../../util/assert.ts";
import { CompressionType, compress } from "../compression.ts";
import { Writer } from "../primitives.ts";
import type { LogRecord } from "./batches.ts";
import { computeBatchCrc, type CrcSource } from "./header.ts";
import { Attribute, Field, batchHeaderBytes, logOverheadBytes, recordBatchMagic } from "./layout.ts";

const textEncoder = new TextEncoder();


export interface RecordInput {
  key?: Uint8Array | string | null;
  value?: Uint8Array | string | null;
  headers?: readonly { key: string; value?: Uint8Array | string | null }[];
  /** Milliseconds since the epoch; defaults to the batch's base timestamp. */
  timestamp?: bigint | number;
  /** Defaults to the record's index in the batch. */
  offsetDelta?: number;
}

export interface BatchInput {
  records: readonly RecordInput[];
  baseOffset?: bigint;
  partitionLeaderEpoch?: number;
  compression?: number;
  logAppendTime?: boolean;
  transactional?: boolean;
  control?: boolean;
  /** Defaults to the first record's timestamp, else the current time. */
  baseTimestamp?: bigint | number;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  crc?: CrcSource;
}

function toBytes(value: Uint8Array | string | null | undefined): Uint8Array | null {
  if (value === undefined || value === null) return null;
  return typeof value === "string" ? textEncoder.encode(value) : value;
}

/** Bytes of a key or value (strings at most 3 bytes per UTF-16 unit in UTF-8), for sizing buffers. */
function byteLengthOf(value: Uint8Array | string | null | undefined): number {
  if (value === undefined || value === null) return 0;
  return typeof value === "string" ? value.length * 3 : value.length;
}

function writeVarBytes(writer: Writer, bytes: Uint8Array | null): void {
  if (bytes === null) {
    writer.varint(-1);
    return;
  }
  writer.varint(bytes.length);
  writer.raw(bytes);
}

/** Bytes of a zig-zag varint (or varlong within the safe integer range). */
function sizeOfVarint(value: number): number {
  let raw = value >= 0 ? value * 2 : -value * 2 - 1;
  let size = 1;
  while (raw >= 128) {
    raw = Math.floor(raw / 128);
    size++;
  }
  return size;
}

function sizeOfVarBytes(bytes: Uint8Array | null): number {
  return bytes === null ? 1 : sizeOfVarint(bytes.length) + bytes.length;
}

/** Writes one record (length prefix first, computed from the field sizes). */
function writeRecord(writer: Writer, record: RecordInput, timestampDelta: number, offsetDelta: number): void {
  const key = toBytes(record.key);
  const value = toBytes(record.value);
  const headers = (record.headers ?? []).map((header) => ({ key: textEncoder.encode(header.key), value: toBytes(header.value) }));
  let size = 1 + sizeOfVarint(timestampDelta) + sizeOfVarint(offsetDelta) + sizeOfVarBytes(key) + sizeOfVarBytes(value);
  size += sizeOfVarint(headers.length);
  for (const header of headers) size += sizeOfVarBytes(header.key) + sizeOfVarBytes(header.value);
  const start = writer.length;
  writer.varint(size);
  const bodyStart = writer.length;
  writer.int8(0); // record attributes: unused by Kafka
  writer.varlongNumber(timestampDelta);
  writer.varint(offsetDelta);
  writeVarBytes(writer, key);
  writeVarBytes(writer, value);
  writer.varint(headers.length);
  for (const header of headers) {
    writeVarBytes(writer, header.key);
    writeVarBytes(writer, header.value);
  }
  assert(writer.length - bodyStart === size, "record size computed wrong");
  assert(bodyStart > start, "record length prefix missing");
}

/** Builds one RecordBatch v2 (CRC included) from records: for tests, benchmarks and the HTTP API. */
export function buildRecordBatch(input: BatchInput): Uint8Array {
  const records = input.records;
  assert(records.length > 0, "a record batch holds at least one record");
  const firstTimestamp = records[0]!.timestamp;
  const baseTimestamp = BigInt(input.baseTimestamp ?? firstTimestamp ?? Date.now());
  let maxTimestamp = -1n;
  let lastOffsetDelta = 0;
  // Sized for the records up front: growing a 1 KiB writer to a 512 KiB batch copied it ten times.
  let estimate = 64;
  for (const record of records) {
    estimate += 24 + byteLengthOf(record.key) + byteLengthOf(record.value);
    for (const header of record.headers ?? []) estimate += 16 + header.key.length * 3 + byteLengthOf(header.value);
  }
  const compression = input.compression ?? CompressionType.none;
  // Uncompressed, the records are written right after room for the header, and the header is
  // filled in place: no second buffer and no copy of the whole batch.
  const inPlace = compression === CompressionType.none;
  const body = new Writer(estimate + (inPlace ? batchHeaderBytes : 0));
  if (inPlace) body.raw(new Uint8Array(batchHeaderBytes));
  records.forEach((record, index) => {
    const timestamp = BigInt(record.timestamp ?? baseTimestamp);
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const offsetDelta = record.offsetDelta ?? index;
    assert(offsetDelta >= lastOffsetDelta || index === 0, "offset deltas must increase");
    lastOffsetDelta = offsetDelta;
    writeRecord(body, record, Number(timestamp - baseTimestamp), offsetDelta);
  });
  let batch: Uint8Array;
  if (inPlace) {
    batch = body.finish();
  } else {
    const recordsBytes = compress(compression, body.finish());
    batch = new Uint8Array(batchHeaderBytes + recordsBytes.length);
    batch.set(recordsBytes, batchHeaderBytes);
  }

  let attributes = compression;
  if (input.logAppendTime) attributes |= Attribute.logAppendTime;
  if (input.transactional) attributes |= Attribute.transactional;
  if (input.control) attributes |= Attribute.control;

  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  view.setBigInt64(0, input.baseOffset ?? 0n);
  view.setInt32(8, batch.length - logOverheadBytes);
  view.setInt32(12, input.partitionLeaderEpoch ?? -1);
  view.setInt8(16, recordBatchMagic);
  view.setInt16(21, attributes);
  view.setInt32(23, lastOffsetDelta);
  view.setBigInt64(27, baseTimestamp);
  view.setBigInt64(35, maxTimestamp);
  view.setBigInt64(43, input.producerId ?? -1n);
  view.setInt16(51, input.producerEpoch ?? -1);
  view.setInt32(53, input.baseSequence ?? -1);
  view.setInt32(57, records.length);
  view.setUint32(17, computeBatchCrc(batch, input.crc));
  return batch;
}

const emptyHeaders = new Uint8Array([0]);

export interface BatchTemplate {
  attributes: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  partitionLeaderEpoch: number;
  /** Kept as it was (Kafka preserves a cleaned batch's max timestamp). */
  maxTimestamp?: bigint;
}

export const plainBatch: BatchTemplate = { attributes: 0, producerId: -1n, producerEpoch: -1, baseSequence: -1, partitionLeaderEpoch: 0 };

/** Bytes of a zig-zag varint (|value| < 2^52: timestamps deltas and lengths always are). */
function zigZagSize(value: number): number {
  let unsigned = value >= 0 ? value * 2 : -value * 2 - 1;
  let size = 1;
  while (unsigned >= 128) {
    unsigned = Math.floor(unsigned / 128);
    size++;
  }
  return size;
}

function writeZigZag(out: Uint8Array, position: number, value: number): number {
  let unsigned = value >= 0 ? value * 2 : -value * 2 - 1;
  while (unsigned >= 128) {
    out[position++] = (unsigned % 128) | 128;
    unsigned = Math.floor(unsigned / 128);
  }
  out[position++] = unsigned;
  return position;
}

/**
 * An uncompressed RecordBatch v2 holding `records` with their own offsets (gaps allowed): the base
 * offset is the first record's. The CRC is computed with the native CRC-32C. Sizes are computed
 * first and the batch written into one buffer (no per-record allocation: the cleaner calls this
 * for every batch it shrinks).
 */
export function encodeBatch(records: readonly LogRecord[], template: BatchTemplate = plainBatch, crc?: CrcSource): Uint8Array {
  assert(records.length > 0, "a batch holds at least one record");
  const baseOffset = records[0]!.offset;
  let baseTimestamp = records[0]!.timestamp;
  let maxTimestamp = records[0]!.timestamp;
  for (const record of records) {
    if (record.timestamp < baseTimestamp) baseTimestamp = record.timestamp;
    if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp;
  }
  const bodySizes = new Array<number>(records.length);
  let size = batchHeaderBytes;
  records.forEach((record, index) => {
    const timestampDelta = Number(record.timestamp - baseTimestamp);
    const offsetDelta = Number(record.offset - baseOffset);
    assert(Number.isSafeInteger(timestampDelta) && offsetDelta >= 0 && offsetDelta <= 0x7fffffff, "record deltas out of range");
    const headers = record.headers.length > 0 ? record.headers : emptyHeaders;
    const body =
      1 + zigZagSize(timestampDelta) + zigZagSize(offsetDelta) +
      (record.key === null ? 1 : zigZagSize(record.key.length) + record.key.length) +
      (record.value === null ? 1 : zigZagSize(record.value.length) + record.value.length) +
      headers.length;
    bodySizes[index] = body;
    size += zigZagSize(body) + body;
  });
  const batch = new Uint8Array(size);
  let position = batchHeaderBytes;
  records.forEach((record, index) => {
    position = writeZigZag(batch, position, bodySizes[index]!);
    batch[position++] = 0;
    position = writeZigZag(batch, position, Number(record.timestamp - baseTimestamp));
    position = writeZigZag(batch, position, Number(record.offset - baseOffset));
    for (const bytes of [record.key, record.value]) {
      if (bytes === null) {
        position = writeZigZag(batch, position, -1);
      } else {
        position = writeZigZag(batch, position, bytes.length);
        batch.set(bytes, position);
        position += bytes.length;
      }
    }
    const headers = record.headers.length > 0 ? record.headers : emptyHeaders;
    batch.set(headers, position);
    position += headers.length;
  });
  assert(position === size, "encoded batch size mismatch");
  const view = new DataView(batch.buffer);
  view.setBigInt64(Field.baseOffset, baseOffset);
  view.setInt32(Field.batchLength, size - logOverheadBytes);
  view.setInt32(Field.partitionLeaderEpoch, template.partitionLeaderEpoch);
  view.setInt8(Field.magic, 2);
  view.setInt16(Field.attributes, template.attributes & ~Attribute.compressionMask);
  view.setInt32(Field.lastOffsetDelta, Number(records[records.length - 1]!.offset - baseOffset));
  view.setBigInt64(Field.baseTimestamp, baseTimestamp);
  view.setBigInt64(Field.maxTimestamp, template.maxTimestamp ?? maxTimestamp);
  view.setBigInt64(Field.producerId, template.producerId);
  view.setInt16(Field.producerEpoch, template.producerEpoch);
  view.setInt32(Field.baseSequence, template.baseSequence);
  view.setInt32(Field.recordsCount, records.length);
  view.setUint32(Field.crc, computeBatchCrc(batch, crc));
  return batch;
}

