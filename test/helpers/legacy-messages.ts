// Test-side encoder and decoder of magic 0/1 message sets, written apart from the broker's codec
// (src/protocol/legacy-message-set/) so that tests check one against the other.

import * as zlib from "node:zlib";

export interface TestMessage {
  offset?: bigint;
  magic: 0 | 1;
  attributes?: number;
  timestamp?: bigint;
  key?: Uint8Array | string | null;
  value?: Uint8Array | string | null;
}

const encoder = new TextEncoder();

function bytesOf(value: Uint8Array | string | null | undefined): Uint8Array | null {
  if (value === undefined || value === null) return null;
  return typeof value === "string" ? encoder.encode(value) : value;
}

/** One message-set entry: offset, size, CRC-32, magic, attributes, [timestamp], key, value. */
export function encodeMessage(message: TestMessage): Uint8Array {
  const key = bytesOf(message.key);
  const value = bytesOf(message.value);
  const body = 4 + 1 + 1 + (message.magic === 1 ? 8 : 0) + 4 + (key?.length ?? 0) + 4 + (value?.length ?? 0);
  const out = new Uint8Array(12 + body);
  const view = new DataView(out.buffer);
  view.setBigInt64(0, message.offset ?? 0n);
  view.setInt32(8, body);
  out[16] = message.magic;
  out[17] = message.attributes ?? 0;
  let at = 18;
  if (message.magic === 1) {
    view.setBigInt64(at, message.timestamp ?? 0n);
    at += 8;
  }
  for (const part of [key, value]) {
    view.setInt32(at, part === null ? -1 : part.length);
    at += 4;
    if (part) {
      out.set(part, at);
      at += part.length;
    }
  }
  view.setUint32(12, zlib.crc32(out.subarray(16)) >>> 0);
  return out;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function encodeSet(messages: readonly TestMessage[]): Uint8Array {
  return concatBytes(messages.map(encodeMessage));
}

export interface DecodedMessage {
  offset: bigint;
  magic: number;
  attributes: number;
  timestamp: bigint;
  key: Uint8Array | null;
  value: Uint8Array | null;
  crcOk: boolean;
}

/** Whole messages of a set (a trailing partial one is left out, as old clients do). */
export function decodeSet(bytes: Uint8Array): { messages: DecodedMessage[]; partialBytes: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const messages: DecodedMessage[] = [];
  let at = 0;
  while (at + 12 <= bytes.length) {
    const size = view.getInt32(at + 8);
    if (at + 12 + size > bytes.length) break;
    const start = at + 12;
    const magic = bytes[start + 4]!;
    let cursor = start + 6;
    let timestamp = -1n;
    if (magic === 1) {
      timestamp = view.getBigInt64(cursor);
      cursor += 8;
    }
    const read = (): Uint8Array | null => {
      const length = view.getInt32(cursor);
      cursor += 4;
      if (length < 0) return null;
      const out = bytes.slice(cursor, cursor + length);
      cursor += length;
      return out;
    };
    const key = read();
    const value = read();
    messages.push({
      offset: view.getBigInt64(at), magic, attributes: bytes[start + 5]!, timestamp, key, value,
      crcOk: (zlib.crc32(bytes.subarray(start + 4, start + size)) >>> 0) === view.getUint32(start),
    });
    at += 12 + size;
  }
  return { messages, partialBytes: bytes.length - at };
}

/** The LZ4 frame header checksum over bytes [from, to): xxHash32 >> 8 & 0xff. */
export function lz4HeaderChecksum(frame: Uint8Array, from: number, to: number): number {
  return (Bun.hash.xxHash32(frame.subarray(from, to), 0) >>> 8) & 0xff;
}
