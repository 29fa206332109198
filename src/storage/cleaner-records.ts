// Records inside a RecordBatch v2, for the two places that must look inside batches: the log
// cleaner (compaction keeps the latest record per key) and the group coordinator's offsets store
// (__consumer_offsets records). Storage otherwise never decodes records.
//
// Record layout (inside the batch, after the 61-byte header; varints are zig-zag):
//   length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
//   keyLength varint (-1 = null), key, valueLength varint (-1 = null: a tombstone), value,
//   headerCount varint, headers (keyLength varint, key, valueLength varint, value)
//
// `decodeBatchRecords` and `forEachRecordView` read uncompressed batches; the cleaner inflates
// compressed ones first (inflateBatch) and compresses the filtered result again (deflateBatch).

import type { NativeApi } from "../native/types.ts";
import { compress, decompress } from "../protocol/compression.ts";
import { Reader } from "../protocol/primitives.ts";
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

/** A record's place inside its batch, as the cleaner's fast path sees it (no copies, no bigint). */
export interface RecordView {
  /** Byte range of the whole record (length prefix included) inside the batch. */
  start: number;
  end: number;
  offsetDelta: number;
  /** Key bytes [keyStart, keyStart + keyLength); keyLength -1 for a null key. */
  keyStart: number;
  keyLength: number;
  /** True for a tombstone (null value). */
  valueIsNull: boolean;
}

function readZigZag(bytes: Uint8Array, cursor: { position: number }): number {
  let unsigned = 0;
  let multiplier = 1;
  for (let shift = 0; shift < 10; shift++) {
    const byte = bytes[cursor.position++];
    if (byte === undefined) throw new Error("truncated varint in a record");
    unsigned += (byte & 127) * multiplier;
    if ((byte & 128) === 0) return unsigned % 2 === 0 ? unsigned / 2 : -(unsigned + 1) / 2;
    multiplier *= 128;
  }
  throw new Error("varint too long in a record");
}

/**
 * Visits the records of an uncompressed batch without decoding them into objects; false when the
 * batch is compressed (nothing visited). Throws on records that do not fit the batch.
 */
export function forEachRecordView(batch: Uint8Array, header: BatchHeader, visit: (record: RecordView) => void): boolean {
  if ((header.attributes & Attribute.compressionMask) !== 0) return false;
  const cursor = { position: batchHeaderBytes };
  const view: RecordView = { start: 0, end: 0, offsetDelta: 0, keyStart: 0, keyLength: -1, valueIsNull: false };
  for (let index = 0; index < header.recordsCount; index++) {
    view.start = cursor.position;
    const length = readZigZag(batch, cursor);
    view.end = cursor.position + length;
    if (length < 0 || view.end > header.sizeBytes) throw new Error(`record ${index} overruns its batch`);
    cursor.position += 1; // attributes
    readZigZag(batch, cursor); // timestamp delta
    view.offsetDelta = readZigZag(batch, cursor);
    view.keyLength = readZigZag(batch, cursor);
    view.keyStart = cursor.position;
    if (view.keyLength > 0) cursor.position += view.keyLength;
    const valueLength = readZigZag(batch, cursor);
    view.valueIsNull = valueLength < 0;
    visit(view);
    cursor.position = view.end;
  }
  return true;
}

/**
 * The batch with only the records in `keep` (byte ranges from forEachRecordView, in order), as
 * Kafka's cleaner does for v2 batches: the header is kept as it was (base offset, lastOffsetDelta,
 * timestamps, producer fields: the batch still spans the same offsets), the surviving records are
 * copied byte for byte (their deltas stay valid), recordsCount and the CRC are updated.
 */
export function filteredBatch(native: NativeApi, batch: Uint8Array, keep: readonly { start: number; end: number }[]): Uint8Array {
  assert(keep.length > 0, "a filtered batch keeps at least one record");
  let size = batchHeaderBytes;
  for (const range of keep) size += range.end - range.start;
  const out = new Uint8Array(size);
  out.set(batch.subarray(0, batchHeaderBytes));
  let position = batchHeaderBytes;
  for (const range of keep) {
    out.set(batch.subarray(range.start, range.end), position);
    position += range.end - range.start;
  }
  const view = new DataView(out.buffer);
  view.setInt32(Field.batchLength, size - logOverheadBytes);
  view.setInt32(Field.recordsCount, keep.length);
  view.setUint32(Field.crc, native.crc32c(out.subarray(crcStartOffset)));
  return out;
}

/**
 * A compressed batch's records inflated into an uncompressed batch of the same header (compression
 * bits cleared, lengths adjusted; the CRC is left stale: only forEachRecordView/filteredBatch read
 * it), or the batch itself when it is not compressed. Output is capped at `inflatedBytesMax`.
 */
export function inflateBatch(batch: Uint8Array, header: BatchHeader, inflatedBytesMax: number): { batch: Uint8Array; header: BatchHeader; codec: number } {
  const codec = header.attributes & Attribute.compressionMask;
  if (codec === 0) return { batch, header, codec };
  const records = decompress(codec, batch.subarray(batchHeaderBytes, header.sizeBytes), inflatedBytesMax);
  const plain = new Uint8Array(batchHeaderBytes + records.length);
  plain.set(batch.subarray(0, batchHeaderBytes));
  plain.set(records, batchHeaderBytes);
  const view = new DataView(plain.buffer);
  view.setInt16(Field.attributes, header.attributes & ~Attribute.compressionMask);
  view.setInt32(Field.batchLength, plain.length - logOverheadBytes);
  return { batch: plain, header: { ...header, attributes: header.attributes & ~Attribute.compressionMask, sizeBytes: plain.length }, codec };
}

/** Compresses an uncompressed batch's records with `codec` (the inverse of inflateBatch), new CRC. */
export function deflateBatch(native: NativeApi, plain: Uint8Array, codec: number, attributes: number): Uint8Array {
  if (codec === 0) return plain;
  const records = compress(codec, plain.subarray(batchHeaderBytes));
  const out = new Uint8Array(batchHeaderBytes + records.length);
  out.set(plain.subarray(0, batchHeaderBytes));
  out.set(records, batchHeaderBytes);
  const view = new DataView(out.buffer);
  view.setInt16(Field.attributes, attributes);
  view.setInt32(Field.batchLength, out.length - logOverheadBytes);
  view.setUint32(Field.crc, native.crc32c(out.subarray(crcStartOffset)));
  return out;
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
export function encodeBatch(native: NativeApi, records: readonly LogRecord[], template: BatchTemplate = plainBatch): Uint8Array {
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
  view.setUint32(Field.crc, native.crc32c(batch.subarray(crcStartOffset)));
  return batch;
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
