// Test-only RecordBatch v2 builder and checker (imported by test/ and bench/ only).
//
// Batches are built the way a Kafka client builds them (baseOffset 0, CRC-32C over attributes …
// end), with payloads that are a pure function of (seed, batch number), so a checker that only
// knows the batch number can regenerate the exact bytes and compare them byte-for-byte after a
// crash. The parser here is deliberately independent of src/storage/: it is the oracle the crash
// tests hold the storage code against.
//
// RecordBatch v2 header (61 bytes, big-endian):
//
//   0  baseOffset int64          ← stamped by the broker (outside the CRC)
//   8  batchLength int32         bytes after this field
//  12  partitionLeaderEpoch int32 ← stamped by the broker (outside the CRC)
//  16  magic int8 (= 2)
//  17  crc uint32                CRC-32C of bytes 21 … end
//  21  attributes int16
//  23  lastOffsetDelta int32
//  27  baseTimestamp int64
//  35  maxTimestamp int64
//  43  producerId int64
//  51  producerEpoch int16
//  53  baseSequence int32
//  57  recordCount int32
//  61  records …

import { assert } from "../util/assert.ts";
import { crc32cSoftware } from "../native/fallback.ts";

export const batchHeaderBytes = 61;
export const batchLogOverheadBytes = 12; // baseOffset + batchLength
export const crcStartByte = 21;

/** CRC-32C used by the builders; defaults to the pure-TS one, tests may swap in the native one. */
let crc32c: (data: Uint8Array) => number = (data) => crc32cSoftware(data);

export function useCrc32c(implementation: (data: Uint8Array) => number): void {
  crc32c = implementation;
}

export interface BatchSpec {
  /** Identifies the batch: its payload bytes are a function of (seed, batchNumber). */
  batchNumber: number;
  seed?: number;
  recordCount: number;
  /** Bytes of each record's value. */
  valueBytes: number;
  baseTimestampMs?: bigint;
}

/** A small, fast PRNG (mulberry32): deterministic payloads and reproducible random choices. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function zigzagVarintBytes(value: number): number {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  let bytes = 1;
  while (zigzag >= 0x80) {
    zigzag = Math.floor(zigzag / 128);
    bytes++;
  }
  return bytes;
}

function writeZigzagVarint(view: Uint8Array, at: number, value: number): number {
  assert(Number.isSafeInteger(value) && Math.abs(value) < 2 ** 31, `varint out of range: ${value}`);
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  while (zigzag >= 0x80) {
    view[at++] = (zigzag & 0x7f) | 0x80;
    zigzag = Math.floor(zigzag / 128);
  }
  view[at++] = zigzag;
  return at;
}

/** Bytes of one record body (without its length prefix): value `valueBytes` long, key null. */
function recordBodyBytes(offsetDelta: number, valueBytes: number): number {
  return (
    1 + // attributes
    zigzagVarintBytes(offsetDelta) + // timestampDelta (same as offsetDelta here)
    zigzagVarintBytes(offsetDelta) + // offsetDelta
    zigzagVarintBytes(-1) + // key length (null)
    zigzagVarintBytes(valueBytes) +
    valueBytes +
    zigzagVarintBytes(0) // header count
  );
}

/** Bytes of one record including its length prefix. */
function recordBytes(offsetDelta: number, valueBytes: number): number {
  const body = recordBodyBytes(offsetDelta, valueBytes);
  return zigzagVarintBytes(body) + body;
}

/** Default base timestamp of batch n: 1000 ms apart, so batches never overlap in time. */
export function batchTimestampMs(batchNumber: number): bigint {
  return 1_700_000_000_000n + BigInt(batchNumber) * 1000n;
}

/** Builds one uncompressed RecordBatch v2 as a producer would send it (baseOffset 0). */
export function buildBatch(spec: BatchSpec): Uint8Array {
  const { batchNumber, recordCount, valueBytes } = spec;
  const seed = spec.seed ?? 1;
  assert(recordCount >= 1 && recordCount <= 100_000, `recordCount out of range: ${recordCount}`);
  assert(valueBytes >= 8, "valueBytes must be >= 8 (the value starts with the batch number)");
  let total = batchHeaderBytes;
  for (let delta = 0; delta < recordCount; delta++) total += recordBytes(delta, valueBytes);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  const baseTimestamp = spec.baseTimestampMs ?? batchTimestampMs(batchNumber);
  view.setBigInt64(0, 0n);
  view.setInt32(8, total - batchLogOverheadBytes);
  view.setInt32(12, -1);
  view.setInt8(16, 2);
  view.setInt16(21, 0);
  view.setInt32(23, recordCount - 1);
  view.setBigInt64(27, baseTimestamp);
  view.setBigInt64(35, baseTimestamp + BigInt(recordCount - 1));
  view.setBigInt64(43, -1n);
  view.setInt16(51, -1);
  view.setInt32(53, -1);
  view.setInt32(57, recordCount);
  const random = prng((seed * 0x9e3779b1) ^ batchNumber);
  let at = batchHeaderBytes;
  for (let delta = 0; delta < recordCount; delta++) {
    at = writeZigzagVarint(bytes, at, recordBodyBytes(delta, valueBytes));
    at = writeRecordBody(bytes, view, at, delta, valueBytes, batchNumber, random);
  }
  assert(at === total, `built ${at} bytes, expected ${total}`);
  view.setUint32(17, crc32c(bytes.subarray(crcStartByte)));
  return bytes;
}

function writeRecordBody(
  bytes: Uint8Array,
  view: DataView,
  at: number,
  delta: number,
  valueBytes: number,
  batchNumber: number,
  random: () => number,
): number {
  bytes[at++] = 0; // attributes
  at = writeZigzagVarint(bytes, at, delta); // timestampDelta
  at = writeZigzagVarint(bytes, at, delta); // offsetDelta
  at = writeZigzagVarint(bytes, at, -1); // null key
  at = writeZigzagVarint(bytes, at, valueBytes);
  view.setUint32(at, batchNumber >>> 0);
  view.setUint32(at + 4, delta);
  for (let index = 8; index < valueBytes; index += 4) {
    const word = (random() * 4294967296) >>> 0;
    for (let byte = 0; byte < 4 && index + byte < valueBytes; byte++) bytes[at + index + byte] = (word >>> (byte * 8)) & 0xff;
  }
  at += valueBytes;
  at = writeZigzagVarint(bytes, at, 0); // headers
  return at;
}

/** What a batch header says (read without decoding records). */
export interface RecordBatchHeader {
  baseOffset: bigint;
  batchLength: number;
  /** Whole batch bytes: batchLength + 12. */
  sizeBytes: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  lastOffsetDelta: number;
  recordCount: number;
  maxTimestamp: bigint;
}

export function readBatchHeader(bytes: Uint8Array, at = 0): RecordBatchHeader {
  assert(at + batchHeaderBytes <= bytes.length, "batch header out of range");
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, batchHeaderBytes);
  const batchLength = view.getInt32(8);
  return {
    baseOffset: view.getBigInt64(0),
    batchLength,
    sizeBytes: batchLength + batchLogOverheadBytes,
    partitionLeaderEpoch: view.getInt32(12),
    magic: view.getInt8(16),
    crc: view.getUint32(17),
    lastOffsetDelta: view.getInt32(23),
    recordCount: view.getInt32(57),
    maxTimestamp: view.getBigInt64(35),
  };
}

/** True when the batch's stored CRC matches its bytes. */
export function batchCrcValid(batch: Uint8Array): boolean {
  if (batch.length < batchHeaderBytes) return false;
  const header = readBatchHeader(batch);
  if (header.sizeBytes !== batch.length) return false;
  return crc32c(batch.subarray(crcStartByte)) === header.crc;
}

/** The batch number a builder batch carries in its first record's value. */
export function batchNumberOf(batch: Uint8Array): number {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.length);
  // First record: varint length, attributes, timestampDelta(0), offsetDelta(0), key -1, value length.
  let at = batchHeaderBytes;
  while (batch[at]! & 0x80) at++;
  at++; // record length
  at += 1 + 1 + 1 + 1; // attributes, timestampDelta 0, offsetDelta 0, key length -1
  while (batch[at]! & 0x80) at++;
  at++; // value length
  return view.getUint32(at);
}

/**
 * Compares a batch read back from the log with the one the producer sent: identical except for the
 * two fields the broker stamps (baseOffset, partitionLeaderEpoch). Returns a reason or null.
 */
export function compareWithSent(stored: Uint8Array, sent: Uint8Array, expectedBaseOffset: bigint): string | null {
  if (stored.length !== sent.length) return `length ${stored.length} != sent ${sent.length}`;
  const header = readBatchHeader(stored);
  if (header.baseOffset !== expectedBaseOffset) return `baseOffset ${header.baseOffset} != ${expectedBaseOffset}`;
  for (let index = 8; index < stored.length; index++) {
    if (index >= 12 && index < 16) continue; // partitionLeaderEpoch
    if (stored[index] !== sent[index]) return `byte ${index} differs (${stored[index]} != ${sent[index]})`;
  }
  return null;
}

/** Concatenates batches into one produce payload. */
export function concatBatches(batches: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const batch of batches) total += batch.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const batch of batches) {
    out.set(batch, at);
    at += batch.length;
  }
  return out;
}
