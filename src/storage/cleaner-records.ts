// Records inside a RecordBatch v2, for the two places that must look inside batches: the log
// cleaner (compaction keeps the latest record per key) and the group coordinator's offsets store
// (__consumer_offsets records). Storage otherwise never decodes records.
//
// Record layout (inside the batch, after the 61-byte header; varints are zig-zag):
//   length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
//   keyLength varint (-1 = null), key, valueLength varint (-1 = null: a tombstone), value,
//   headerCount varint, headers (keyLength varint, key, valueLength varint, value)
//
// Only uncompressed batches are decoded here; `decodeBatchRecords` returns null for a compressed
// one (the cleaner then keeps that batch whole: correct, only less compact).

import type { NativeApi } from "../native/types.ts";
import { Reader, Writer } from "../protocol/primitives.ts";
import { assert } from "../util/assert.ts";
import { Attribute, Field, batchHeaderBytes, crcStartOffset, logOverheadBytes, readBatchHeader, type BatchHeader } from "./batch-header.ts";

export interface LogRecord {
  offset: bigint;
  timestamp: bigint;
  key: Uint8Array | null;
  value: Uint8Array | null;
  /** The raw header section (count + headers), copied through unchanged. */
  headers: Uint8Array;
}

/** The records of an uncompressed batch (views into `batch`), or null when it is compressed. */
export function decodeBatchRecords(batch: Uint8Array, header: BatchHeader = readBatchHeader(batch)): LogRecord[] | null {
  if ((header.attributes & Attribute.compressionMask) !== 0) return null;
  assert(batch.length >= header.sizeBytes, "decodeBatchRecords needs the whole batch");
  const reader = new Reader(batch, batchHeaderBytes, header.sizeBytes);
  const records: LogRecord[] = [];
  for (let index = 0; index < header.recordsCount; index++) {
    const length = reader.varint();
    const end = reader.position + length;
    reader.int8();
    const timestampDelta = reader.varlong();
    const offsetDelta = reader.varint();
    const keyLength = reader.varint();
    const key = keyLength < 0 ? null : reader.rawView(keyLength);
    const valueLength = reader.varint();
    const value = valueLength < 0 ? null : reader.rawView(valueLength);
    const headers = reader.rawView(end - reader.position);
    records.push({ offset: header.baseOffset + BigInt(offsetDelta), timestamp: header.baseTimestamp + timestampDelta, key, value, headers });
  }
  return records;
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

/**
 * An uncompressed RecordBatch v2 holding `records` with their own offsets (gaps allowed): the base
 * offset is the first record's. The CRC is computed with the native CRC-32C.
 */
export function encodeBatch(native: NativeApi, records: readonly LogRecord[], template: BatchTemplate = plainBatch): Uint8Array {
  assert(records.length > 0, "a batch holds at least one record");
  const baseOffset = records[0]!.offset;
  let baseTimestamp = records[0]!.timestamp;
  let maxTimestamp = records[0]!.timestamp;
  for (const record of records) {
    if (record.timestamp < baseTimestamp) baseTimestamp = record.timestamp;
    if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp;
  }
  const body = new Writer(256);
  for (const record of records) {
    const inner = new Writer(64);
    inner.int8(0);
    inner.varlong(record.timestamp - baseTimestamp);
    inner.varint(Number(record.offset - baseOffset));
    writeVarBytes(inner, record.key);
    writeVarBytes(inner, record.value);
    inner.raw(record.headers.length > 0 ? record.headers : emptyHeaders);
    const innerBytes = inner.finish();
    body.varint(innerBytes.length);
    body.raw(innerBytes);
  }
  const recordBytes = body.finish();
  const size = batchHeaderBytes + recordBytes.length;
  const batch = new Uint8Array(size);
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
  batch.set(recordBytes, batchHeaderBytes);
  view.setUint32(Field.crc, native.crc32c(batch.subarray(crcStartOffset)));
  return batch;
}

function writeVarBytes(writer: Writer, bytes: Uint8Array | null): void {
  if (bytes === null) {
    writer.varint(-1);
    return;
  }
  writer.varint(bytes.length);
  writer.raw(bytes);
}

/** Walks the whole batches in `bytes` (as a log read returns them). */
export function* batchesIn(bytes: Uint8Array): Generator<{ header: BatchHeader; bytes: Uint8Array }> {
  let position = 0;
  while (position + batchHeaderBytes <= bytes.length) {
    const header = readBatchHeader(bytes, position);
    if (header.sizeBytes < batchHeaderBytes || position + header.sizeBytes > bytes.length) break;
    yield { header, bytes: bytes.subarray(position, position + header.sizeBytes) };
    position += header.sizeBytes;
  }
}
