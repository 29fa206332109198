// Builds RecordBatch v2 bytes for storage tests (uncompressed records, correct CRC-32C), without
// depending on the protocol layer's record-batch code.

import type { NativeApi } from "../../src/native/types.ts";

export interface TestRecord {
  key?: Uint8Array | string | null;
  value: Uint8Array | string | null;
  timestampMs?: bigint;
}

export interface BatchOptions {
  baseTimestamp?: bigint;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  attributes?: number;
}

const encoder = new TextEncoder();

function bytesOf(value: Uint8Array | string | null | undefined): Uint8Array | null {
  if (value === null || value === undefined) return null;
  return typeof value === "string" ? encoder.encode(value) : value;
}

function pushVarlong(out: number[], value: bigint): void {
  let zigzag = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  while (zigzag >= 0x80n) {
    out.push(Number((zigzag & 0x7fn) | 0x80n));
    zigzag >>= 7n;
  }
  out.push(Number(zigzag));
}

function pushVarint(out: number[], value: number): void {
  pushVarlong(out, BigInt(value));
}

function encodeRecord(record: TestRecord, offsetDelta: number, baseTimestamp: bigint): number[] {
  const body: number[] = [0];
  pushVarlong(body, (record.timestampMs ?? baseTimestamp) - baseTimestamp);
  pushVarint(body, offsetDelta);
  for (const field of [bytesOf(record.key), bytesOf(record.value)]) {
    if (field === null) pushVarint(body, -1);
    else {
      pushVarint(body, field.length);
      for (const byte of field) body.push(byte);
    }
  }
  pushVarint(body, 0);
  const out: number[] = [];
  pushVarint(out, body.length);
  return out.concat(body);
}

/** One RecordBatch v2 (baseOffset 0, leader epoch 0), CRC computed with `native.crc32c`. */
export function buildBatch(native: NativeApi, records: TestRecord[], options: BatchOptions = {}): Uint8Array {
  const baseTimestamp = options.baseTimestamp ?? records[0]?.timestampMs ?? 1_700_000_000_000n;
  let maxTimestamp = -1n;
  const recordBytes: number[] = [];
  records.forEach((record, index) => {
    const timestamp = record.timestampMs ?? baseTimestamp;
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    for (const byte of encodeRecord(record, index, baseTimestamp)) recordBytes.push(byte);
  });
  const size = 61 + recordBytes.length;
  const batch = new Uint8Array(size);
  const view = new DataView(batch.buffer);
  view.setBigInt64(0, 0n);
  view.setInt32(8, size - 12);
  view.setInt32(12, 0);
  view.setInt8(16, 2);
  view.setInt16(21, options.attributes ?? 0);
  view.setInt32(23, records.length - 1);
  view.setBigInt64(27, baseTimestamp);
  view.setBigInt64(35, maxTimestamp);
  view.setBigInt64(43, options.producerId ?? -1n);
  view.setInt16(51, options.producerEpoch ?? -1);
  view.setInt32(53, options.baseSequence ?? -1);
  view.setInt32(57, records.length);
  batch.set(recordBytes, 61);
  view.setUint32(17, native.crc32c(batch.subarray(21)));
  return batch;
}

/** A batch of `count` records whose values are `prefix-i`, padded to roughly `valueBytes` each. */
export function simpleBatch(native: NativeApi, count: number, options: BatchOptions & { prefix?: string; valueBytes?: number; timestampMs?: bigint } = {}): Uint8Array {
  const records: TestRecord[] = [];
  for (let index = 0; index < count; index++) {
    const text = `${options.prefix ?? "value"}-${index}`;
    records.push({ key: `k${index}`, value: text.padEnd(options.valueBytes ?? text.length, "."), timestampMs: options.timestampMs });
  }
  return buildBatch(native, records, options);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Split concatenated batches into [baseOffset, batch bytes] pairs. */
export function splitBatches(bytes: Uint8Array): { baseOffset: bigint; lastOffset: bigint; bytes: Uint8Array }[] {
  const out: { baseOffset: bigint; lastOffset: bigint; bytes: Uint8Array }[] = [];
  let at = 0;
  while (at < bytes.length) {
    const view = new DataView(bytes.buffer, bytes.byteOffset + at);
    const size = view.getInt32(8) + 12;
    const baseOffset = view.getBigInt64(0);
    out.push({ baseOffset, lastOffset: baseOffset + BigInt(view.getInt32(23)), bytes: bytes.subarray(at, at + size) });
    at += size;
  }
  return out;
}
