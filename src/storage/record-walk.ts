// A structural walk over the records of a RecordBatch v2 (uncompressed bytes: the batch itself, or
// the inflated records of a compressed one), run on every produced batch before it is appended.
// It decodes no key, value or header into objects; it reads only the varint lengths, so it costs a
// few varint reads per record (~16 records in a 16 KiB batch of 1 KiB records).
//
// Record layout (varints are zig-zag; Kafka's DefaultRecord):
//   length varint            bytes of the record after this field
//   attributes int8
//   timestampDelta varlong
//   offsetDelta varint       must be the record's index (0 … count-1): see below
//   keyLength varint, key    (-1 = null)
//   valueLength varint, value (-1 = null)
//   headerCount varint, then per header: keyLength varint (>= 0), key, valueLength varint, value
//
// What it checks, as Kafka's DefaultRecordBatch iterator and DefaultRecord.readFrom do: exactly
// `count` records, each wholly inside the records section, each record's fields ending exactly at
// its declared length, no bytes left after the last record. Kafka answers INVALID_RECORD for every
// one of these ("Found invalid record structure", "Invalid record size", "Incorrect declared batch
// size, records still remaining"), and so does the caller.
//
// Offset deltas: Kafka does not check them in uncompressed batches (and rewrites a compressed batch
// whose inner offsets are not 0, 1, 2 …). We require offsetDelta == index: every client writes
// that, and a record's offset (baseOffset + offsetDelta) must then be unique and inside the
// batch's [baseOffset, baseOffset + lastOffsetDelta] range, which readers and the cleaner rely on.
//
// Returns null when the records are well formed, else a sentence saying what is wrong. It does not
// throw, so the hot path has no try/catch and no allocation.

import { assert } from "../util/assert.ts";

/** The smallest record: length, attributes, timestampDelta, offsetDelta, key, value, headerCount. */
export const recordBytesMin = 7;

// The value of the last varint read by readVarint (module state keeps the reader allocation-free).
const varint = { value: 0 };

/**
 * Reads a zig-zag varint (int32, at most 5 bytes) at `position`, never at or past `limit`.
 * Returns the position after it (its value in `varint.value`), or -1 when it is truncated or
 * does not fit 32 bits.
 */
function readVarint(bytes: Uint8Array, position: number, limit: number): number {
  // Fast path: most lengths and deltas fit one byte.
  if (position < limit) {
    const first = bytes[position]!;
    if (first < 0x80) {
      varint.value = (first >>> 1) ^ -(first & 1);
      return position + 1;
    }
  }
  let raw = 0;
  for (let shift = 0; shift <= 28; shift += 7) {
    if (position >= limit) return -1;
    const byte = bytes[position++]!;
    if (shift === 28 && byte > 0x0f) return -1;
    raw |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      varint.value = (raw >>> 1) ^ -(raw & 1);
      return position;
    }
  }
  return -1;
}

/** Skips a varlong (at most 10 bytes); returns the position after it, or -1. */
function skipVarlong(bytes: Uint8Array, position: number, limit: number): number {
  for (let index = 0; index < 10; index++) {
    if (position >= limit) return -1;
    if (bytes[position++]! < 0x80) return position;
  }
  return -1;
}

/** Skips a nullable byte field (varint length, -1 = null, then the bytes); position after, or -1. */
function skipNullableBytes(bytes: Uint8Array, position: number, limit: number): number {
  position = readVarint(bytes, position, limit);
  if (position < 0) return -1;
  const length = varint.value;
  if (length === -1) return position;
  if (length < 0 || length > limit - position) return -1;
  return position + length;
}

/** Walks the headers of a record (from its headerCount); returns the position after them, or -1. */
function skipHeaders(bytes: Uint8Array, position: number, limit: number): number {
  position = readVarint(bytes, position, limit);
  if (position < 0) return -1;
  const count = varint.value;
  // Each header takes at least 2 bytes (two 1-byte lengths), so a larger count cannot fit.
  if (count < 0 || count > (limit - position) >> 1) return -1;
  for (let index = 0; index < count; index++) {
    position = readVarint(bytes, position, limit);
    if (position < 0) return -1;
    const keyLength = varint.value;
    if (keyLength < 0 || keyLength > limit - position) return -1;
    position = skipNullableBytes(bytes, position + keyLength, limit);
    if (position < 0) return -1;
  }
  return position;
}

/**
 * Walks `count` records in `bytes[start, end)`. Returns null when they are well formed (see the
 * file comment), else why not.
 */
export function walkRecords(bytes: Uint8Array, start: number, end: number, count: number): string | null {
  assert(start >= 0 && start <= end && end <= bytes.length, "walkRecords range inside the bytes");
  if (count < 1) return `record count ${count}`;
  // A cheap bound first: a lying count (millions of records in a small batch) is refused without
  // walking anything.
  if (count > (end - start) / recordBytesMin) return `${count} records cannot fit in ${end - start} bytes`;
  let position = start;
  for (let index = 0; index < count; index++) {
    position = readVarint(bytes, position, end);
    if (position < 0) return `record ${index}: truncated length`;
    const length = varint.value;
    if (length < recordBytesMin - 1 || length > end - position) {
      return `record ${index}: length ${length} does not fit the ${end - position} bytes left`;
    }
    const recordEnd = position + length;
    // attributes (1 byte), then timestampDelta.
    let at = skipVarlong(bytes, position + 1, recordEnd);
    if (at >= 0) at = readVarint(bytes, at, recordEnd);
    if (at < 0) return `record ${index}: invalid record structure`;
    if (varint.value !== index) return `record ${index} has offsetDelta ${varint.value}`;
    at = skipNullableBytes(bytes, at, recordEnd); // key
    if (at >= 0) at = skipNullableBytes(bytes, at, recordEnd); // value
    if (at >= 0) at = skipHeaders(bytes, at, recordEnd);
    if (at < 0) return `record ${index}: invalid record structure`;
    if (at !== recordEnd) return `record ${index}: fields end ${recordEnd - at} bytes before its length ${length}`;
    position = recordEnd;
  }
  if (position !== end) return `${end - position} bytes after the last of ${count} records`;
  return null;
}
