// The records inside a RecordBatch v2 (uncompressed bytes: the batch itself, or the inflated records
// of a compressed one). ONE reader, readRecordFields, finds a record's fields without copying or
// allocating; everything else is built on it: the structural walk every produced batch gets before
// it is appended (walkRecords), the cleaner's visit (forEachRecordView), and the two decoders
// (decodeRecords: keys, values and parsed headers for clients and the HTTP API; decodeLogRecords:
// raw header bytes for the cleaner, the metadata log and the offsets store).
//
// Record layout (varints are zig-zag; Kafka's DefaultRecord):
//   length varint            bytes of the record after this field
//   attributes int8
//   timestampDelta varlong
//   offsetDelta varint
//   keyLength varint, key    (-1 = null)
//   valueLength varint, value (-1 = null: a tombstone)
//   headerCount varint, then per header: keyLength varint (>= 0), key, valueLength varint, value
//
// What the reader checks, as Kafka's DefaultRecord.readFrom does: the record lies wholly inside the
// bytes, every field inside the record, the fields end exactly at its declared length, header keys
// are not null. walkRecords adds Kafka's batch checks (exactly `count` records, no bytes after the
// last) and one of ours: offsetDelta == index. Kafka does not check offset deltas in uncompressed
// batches (and rewrites a compressed batch whose inner offsets are not 0, 1, 2 …); every client
// writes them so, and a record's offset (baseOffset + offsetDelta) is then unique and inside the
// batch's [baseOffset, baseOffset + lastOffsetDelta] range, which readers and the cleaner rely on.
// Compacted batches keep their records' deltas, so only produced batches are held to it.

import { assert } from "../../util/assert.ts";
import { ProtocolDecodeError } from "../errors.ts";

/** The smallest record: length, attributes, timestampDelta, offsetDelta, key, value, headerCount. */
export const recordBytesMin = 7;

/** Where a record's fields lie (positions in the bytes given to readRecordFields). */
export interface RecordFields {
  /** Byte range of the whole record, length prefix included. */
  start: number;
  end: number;
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  /** Key bytes [keyStart, keyStart + keyLength); keyLength -1 for a null key. */
  keyStart: number;
  keyLength: number;
  /** Value bytes; valueLength -1 for a null value (a tombstone). */
  valueStart: number;
  valueLength: number;
  /** Position of the header count varint: [headersStart, end) is the raw header section. */
  headersStart: number;
  headerCount: number;
}

export function newRecordFields(): RecordFields {
  return { start: 0, end: 0, attributes: 0, timestampDelta: 0, offsetDelta: 0, keyStart: 0, keyLength: -1, valueStart: 0, valueLength: -1, headersStart: 0, headerCount: 0 };
}

// The value of the last varint read (module state keeps the reader allocation-free).
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

/**
 * Reads a zig-zag varlong (at most 10 bytes) as a number (exact within ±2^53: timestamp deltas);
 * returns the position after it, or -1.
 */
function readVarlong(bytes: Uint8Array, position: number, limit: number): number {
  if (position < limit) {
    const first = bytes[position]!;
    if (first < 0x80) {
      varint.value = (first >>> 1) ^ -(first & 1);
      return position + 1;
    }
  }
  let raw = 0;
  let multiplier = 1;
  for (let index = 0; index < 10; index++) {
    if (position >= limit) return -1;
    const byte = bytes[position++]!;
    raw += (byte & 0x7f) * multiplier;
    if (byte < 0x80) {
      varint.value = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      return position;
    }
    multiplier *= 128;
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
function skipHeaders(bytes: Uint8Array, position: number, limit: number, fields: RecordFields): number {
  position = readVarint(bytes, position, limit);
  if (position < 0) return -1;
  const count = varint.value;
  // Each header takes at least 2 bytes (two 1-byte lengths), so a larger count cannot fit.
  if (count < 0 || count > (limit - position) >> 1) return -1;
  fields.headerCount = count;
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

const invalidStructure = "invalid record structure";

/**
 * Reads the record at `position` (never past `limit`) into `fields`. Returns null when it is well
 * formed (see the file comment), else why not. Never throws and allocates nothing: the produce
 * path runs it on every record.
 */
export function readRecordFields(bytes: Uint8Array, position: number, limit: number, fields: RecordFields): string | null {
  fields.start = position;
  let at = readVarint(bytes, position, limit);
  if (at < 0) return "truncated length";
  const length = varint.value;
  if (length < recordBytesMin - 1 || length > limit - at) return `length ${length} does not fit the ${limit - at} bytes left`;
  const end = at + length;
  fields.end = end;
  fields.attributes = bytes[at]!;
  at = readVarlong(bytes, at + 1, end);
  if (at < 0) return invalidStructure;
  fields.timestampDelta = varint.value;
  at = readVarint(bytes, at, end);
  if (at < 0) return invalidStructure;
  fields.offsetDelta = varint.value;
  at = readVarint(bytes, at, end);
  if (at < 0 || varint.value < -1 || varint.value > end - at) return invalidStructure;
  fields.keyLength = varint.value;
  fields.keyStart = at;
  if (varint.value > 0) at += varint.value;
  at = readVarint(bytes, at, end);
  if (at < 0 || varint.value < -1 || varint.value > end - at) return invalidStructure;
  fields.valueLength = varint.value;
  fields.valueStart = at;
  if (varint.value > 0) at += varint.value;
  fields.headersStart = at;
  at = skipHeaders(bytes, at, end, fields);
  if (at < 0) return invalidStructure;
  if (at !== end) return `fields end ${end - at} bytes before its length ${length}`;
  return null;
}

const walkFields = newRecordFields();

/**
 * Walks `count` records in `bytes[start, end)`, as every produced batch is before it is accepted.
 * Returns null when they are well formed with offsetDelta == index (see the file comment), else
 * why not. Does not throw, so the hot path has no try/catch and no allocation.
 */
export function walkRecords(bytes: Uint8Array, start: number, end: number, count: number): string | null {
  assert(start >= 0 && start <= end && end <= bytes.length, "walkRecords range inside the bytes");
  if (count < 1) return `record count ${count}`;
  // A cheap bound first: a lying count (millions of records in a small batch) is refused without
  // walking anything.
  if (count > (end - start) / recordBytesMin) return `${count} records cannot fit in ${end - start} bytes`;
  let position = start;
  for (let index = 0; index < count; index++) {
    const problem = readRecordFields(bytes, position, end, walkFields);
    if (problem !== null) return `record ${index}: ${problem}`;
    if (walkFields.offsetDelta !== index) return `record ${index} has offsetDelta ${walkFields.offsetDelta}`;
    position = walkFields.end;
  }
  if (position !== end) return `${end - position} bytes after the last of ${count} records`;
  return null;
}

/**
 * Visits `count` records of `bytes[start, end)` without decoding them into objects (one reused
 * RecordFields). Throws ProtocolDecodeError on a malformed record.
 */
export function forEachRecordFields(bytes: Uint8Array, start: number, end: number, count: number, visit: (record: RecordFields) => void): void {
  const fields = newRecordFields();
  let position = start;
  for (let index = 0; index < count; index++) {
    const problem = readRecordFields(bytes, position, end, fields);
    if (problem !== null) throw new ProtocolDecodeError(`record ${index}: ${problem}`);
    visit(fields);
    position = fields.end;
  }
}

export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

const textDecoder = new TextDecoder();

/** The headers of a record whose fields were read (they are known to be well formed). */
export function recordHeadersOf(bytes: Uint8Array, fields: RecordFields): RecordHeader[] {
  const headers: RecordHeader[] = [];
  if (fields.headerCount === 0) return headers;
  let at = readVarint(bytes, fields.headersStart, fields.end);
  for (let index = 0; index < fields.headerCount; index++) {
    at = readVarint(bytes, at, fields.end);
    const key = textDecoder.decode(bytes.subarray(at, at + varint.value));
    at = readVarint(bytes, at + varint.value, fields.end);
    const valueLength = varint.value;
    const value = valueLength < 0 ? null : bytes.subarray(at, at + valueLength);
    if (valueLength > 0) at += valueLength;
    headers.push({ key, value });
  }
  return headers;
}

export function keyOf(bytes: Uint8Array, fields: RecordFields): Uint8Array | null {
  return fields.keyLength < 0 ? null : bytes.subarray(fields.keyStart, fields.keyStart + fields.keyLength);
}

export function valueOf(bytes: Uint8Array, fields: RecordFields): Uint8Array | null {
  return fields.valueLength < 0 ? null : bytes.subarray(fields.valueStart, fields.valueStart + fields.valueLength);
}
