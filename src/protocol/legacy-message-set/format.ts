// The message formats before RecordBatch v2 (Kafka's "message sets"), magic 0 (Kafka 0.8-0.9) and
// magic 1 (0.10, timestamps). A message set is a plain sequence of entries:
//
//   offset        int64   (magic 0/1 inner messages of a wrapper: see below)
//   message_size  int32   bytes that follow
//   crc           uint32  CRC-32 (IEEE) of everything after it: magic … value
//   magic         int8    0 or 1
//   attributes    int8    bits 0-2 codec (0 none, 1 gzip, 2 snappy, 3 lz4), bit 3 (magic 1)
//                         timestamp type (0 CreateTime, 1 LogAppendTime)
//   timestamp     int64   magic 1 only
//   key           int32 length (-1 null) + bytes
//   value         int32 length (-1 null) + bytes
//
// A compressed set is one "wrapper" message whose value is the compressed inner message set. In
// magic 1 the inner offsets are relative (0 … n-1) and the wrapper carries the absolute offset of
// the last inner message; in magic 0 the inner offsets are absolute and the wrapper repeats the
// last one.

import { ErrorCode, KafkaError } from "../errors.ts";

/** offset + message_size. */
export const entryOverheadBytes = 12;
/** crc, magic, attributes, key and value lengths: the smallest magic 0 message body. */
export const messageBodyMinBytes = [14, 22] as const;
export const timestampTypeBit = 0x08;
export const codecMask = 0x07;

export type LegacyMagic = 0 | 1;

/** One message as read from a set: views of the input (or of the inflated wrapper value). */
export interface LegacyMessage {
  offset: bigint;
  magic: LegacyMagic;
  attributes: number;
  /** -1n for magic 0. */
  timestamp: bigint;
  key: Uint8Array | null;
  value: Uint8Array | null;
  /** Bytes of the entry (offset and size included). */
  sizeBytes: number;
}

export function corruptMessage(message: string): KafkaError {
  return new KafkaError(ErrorCode.CORRUPT_MESSAGE, message);
}

export function invalidRecord(message: string): KafkaError {
  return new KafkaError(ErrorCode.INVALID_RECORD, message);
}

/** CRC-32 (IEEE 802.3), the checksum of magic 0 and 1 messages (v2 uses CRC-32C). */
export function crc32(bytes: Uint8Array): number {
  return Bun.hash.crc32(bytes) >>> 0;
}

/** Bytes of the whole entry for a message with this key and value. */
export function entrySizeOf(magic: LegacyMagic, key: Uint8Array | null, value: Uint8Array | null): number {
  return entryOverheadBytes + messageBodyMinBytes[magic] + (key?.length ?? 0) + (value?.length ?? 0);
}

/**
 * Reads one entry at `position` of `bytes`, checking its size against what is left, its magic and
 * its CRC-32; throws KafkaError(CORRUPT_MESSAGE) on anything malformed. Key and value are views.
 */
export function readMessage(bytes: Uint8Array, position: number): LegacyMessage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const available = bytes.length - position;
  if (available < entryOverheadBytes) throw corruptMessage(`${available} trailing bytes are not a whole message`);
  const offset = view.getBigInt64(position);
  const size = view.getInt32(position + 8);
  if (size < messageBodyMinBytes[0] || size > available - entryOverheadBytes) {
    throw corruptMessage(`message at offset ${offset} declares ${size} bytes, ${available - entryOverheadBytes} remain`);
  }
  const start = position + entryOverheadBytes;
  const end = start + size;
  const magic = bytes[start + 4]!;
  if (magic !== 0 && magic !== 1) throw corruptMessage(`message at offset ${offset} has magic ${magic}`);
  if (size < messageBodyMinBytes[magic]) throw corruptMessage(`magic ${magic} message of ${size} bytes is too short`);
  const expected = view.getUint32(start);
  const actual = crc32(bytes.subarray(start + 4, end));
  if (expected !== actual) throw corruptMessage(`message at offset ${offset} fails its CRC-32 (stored ${expected}, computed ${actual})`);
  const attributes = bytes[start + 5]!;
  let cursor = start + 6;
  let timestamp = -1n;
  if (magic === 1) {
    timestamp = view.getBigInt64(cursor);
    cursor += 8;
  }
  const readBytes = (what: string): Uint8Array | null => {
    if (cursor + 4 > end) throw corruptMessage(`message at offset ${offset}: ${what} length past the end`);
    const length = view.getInt32(cursor);
    cursor += 4;
    if (length === -1) return null;
    if (length < 0 || length > end - cursor) throw corruptMessage(`message at offset ${offset}: ${what} of ${length} bytes does not fit`);
    const out = bytes.subarray(cursor, cursor + length);
    cursor += length;
    return out;
  };
  const key = readBytes("key");
  const value = readBytes("value");
  if (cursor !== end) throw corruptMessage(`message at offset ${offset}: ${end - cursor} bytes after the value`);
  return { offset, magic, attributes, timestamp, key, value, sizeBytes: entryOverheadBytes + size };
}

function writeBytes(out: Uint8Array, view: DataView, cursor: number, bytes: Uint8Array | null): number {
  if (bytes === null) {
    view.setInt32(cursor, -1);
    return cursor + 4;
  }
  view.setInt32(cursor, bytes.length);
  out.set(bytes, cursor + 4);
  return cursor + 4 + bytes.length;
}

/**
 * Writes one entry at `position` (room checked by the caller), CRC included; returns the end.
 * `view` is a DataView of all of `out` (made once per buffer: this runs per record converted).
 */
export function writeMessage(
  out: Uint8Array, view: DataView, position: number, offset: bigint, magic: LegacyMagic, attributes: number, timestamp: bigint,
  key: Uint8Array | null, value: Uint8Array | null,
): number {
  const size = entrySizeOf(magic, key, value);
  view.setBigInt64(position, offset);
  view.setInt32(position + 8, size - entryOverheadBytes);
  const bodyStart = position + entryOverheadBytes;
  out[bodyStart + 4] = magic;
  out[bodyStart + 5] = attributes;
  let cursor = bodyStart + 6;
  if (magic === 1) {
    view.setBigInt64(cursor, timestamp);
    cursor += 8;
  }
  cursor = writeBytes(out, view, cursor, key);
  cursor = writeBytes(out, view, cursor, value);
  view.setUint32(bodyStart, crc32(out.subarray(bodyStart + 4, cursor)));
  return cursor;
}
