// A small hand-written Kafka wire codec for the bench's own load generator: only its hot path
// (Produce v3/v7, Fetch v4, RecordBatch v2, written straight into one frame). It is kept
// separate from src/protocol on purpose: a bug in the broker's codecs must not cancel out in the
// bench's measurement of them. Everything else the bench says to a broker (connections,
// pipelining, CreateTopics, Metadata, group APIs) goes through the shared client (src/client/).
//
// All requests use request header v1 (non-flexible): int16 api key, int16 api version,
// int32 correlation id, nullable string client id. Frames carry an int32 size prefix.

import { assert } from "../../src/util/assert.ts";
import type { Crc32c } from "./crc32c.ts";

export const apiKey = { produce: 0, fetch: 1 } as const;
export const compressionCodec = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionName = keyof typeof compressionCodec;

/** A growable big-endian writer. */
export class WireWriter {
  bytes: Uint8Array;
  view: DataView;
  length = 0;

  constructor(capacity = 256) {
    this.bytes = new Uint8Array(capacity);
    this.view = new DataView(this.bytes.buffer);
  }

  ensure(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < this.length + extra) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }
  int8(value: number): this {
    this.ensure(1);
    this.view.setInt8(this.length, value);
    this.length += 1;
    return this;
  }
  int16(value: number): this {
    this.ensure(2);
    this.view.setInt16(this.length, value);
    this.length += 2;
    return this;
  }
  int32(value: number): this {
    this.ensure(4);
    this.view.setInt32(this.length, value);
    this.length += 4;
    return this;
  }
  int64(value: bigint): this {
    this.ensure(8);
    this.view.setBigInt64(this.length, value);
    this.length += 8;
    return this;
  }
  string(value: string | null): this {
    if (value === null) return this.int16(-1);
    const encoded = new TextEncoder().encode(value);
    this.int16(encoded.length);
    return this.raw(encoded);
  }
  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }
  /** The written bytes with the int32 size prefix filled in (the writer must start with a placeholder). */
  frame(): Uint8Array {
    this.view.setInt32(0, this.length - 4);
    return this.bytes.subarray(0, this.length);
  }
}

/** A bounds-checked big-endian reader; running past the end throws (a malformed response). */
export class WireReader {
  offset = 0;
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(count: number): void {
    if (this.offset + count > this.bytes.length) throw new Error(`response truncated at ${this.offset} (+${count} of ${this.bytes.length})`);
  }
  int8(): number {
    this.need(1);
    return this.view.getInt8(this.offset++);
  }
  int16(): number {
    this.need(2);
    const value = this.view.getInt16(this.offset);
    this.offset += 2;
    return value;
  }
  int32(): number {
    this.need(4);
    const value = this.view.getInt32(this.offset);
    this.offset += 4;
    return value;
  }
  int64(): bigint {
    this.need(8);
    const value = this.view.getBigInt64(this.offset);
    this.offset += 8;
    return value;
  }
  string(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    this.need(length);
    const value = new TextDecoder().decode(this.bytes.subarray(this.offset, this.offset + length));
    this.offset += length;
    return value;
  }
  bytesField(): Uint8Array | null {
    const length = this.int32();
    if (length < 0) return null;
    this.need(length);
    const value = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
  array<T>(read: () => T): T[] {
    const count = this.int32();
    if (count < 0) return [];
    const items: T[] = [];
    for (let index = 0; index < count; index++) items.push(read());
    return items;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      this.need(1);
      const byte = this.bytes[this.offset++]!;
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) throw new Error("varint too long");
    }
    return (result >>> 1) ^ -(result & 1);
  }
  varlong(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      this.need(1);
      const byte = this.bytes[this.offset++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
      shift += 7n;
      if (shift > 63n) throw new Error("varlong too long");
    }
    return (result >> 1n) ^ -(result & 1n);
  }
}

export function requestHeader(key: number, version: number, correlationId: number, clientId: string): WireWriter {
  return new WireWriter(128).int32(0).int16(key).int16(version).int32(correlationId).string(clientId);
}

function writeVarint(bytes: Uint8Array, offset: number, value: number): number {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
  while (zigzag >= 0x80) {
    bytes[offset++] = (zigzag & 0x7f) | 0x80;
    zigzag >>>= 7;
  }
  bytes[offset++] = zigzag;
  return offset;
}

function varintSize(value: number): number {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
  let size = 1;
  while (zigzag >= 0x80) {
    zigzag >>>= 7;
    size += 1;
  }
  return size;
}

// RecordBatch v2 layout (offsets in bytes):
//   0 baseOffset int64 | 8 batchLength int32 | 12 partitionLeaderEpoch int32 | 16 magic int8 = 2
//   17 crc uint32 (CRC-32C of bytes 21 … end) | 21 attributes int16 | 23 lastOffsetDelta int32
//   27 baseTimestamp int64 | 35 maxTimestamp int64 | 43 producerId int64 | 51 producerEpoch int16
//   53 baseSequence int32 | 57 records count int32 | 61 records …
export const batchHeaderBytes = 61;

export interface BatchSpec {
  /** Record value bytes (the first 8 are overwritten with the record index as float64). */
  valueBytes: number;
  /** Index of the first record; record k carries `firstIndex + k`. */
  firstIndex: number;
  count: number;
  timestampMs: number;
  compression: CompressionName;
}

/** Size of the uncompressed records section of a batch built by `writeRecordBatch`. */
function recordsSectionBytes(valueBytes: number, count: number): number {
  const bodyBytes = 1 + 1 + 1 + 1 + varintSize(valueBytes) + valueBytes + 1; // attrs, tsDelta 0, offsetDelta, key -1, value, headers 0
  let total = 0;
  for (let k = 0; k < count; k++) {
    const size = bodyBytes - 1 + varintSize(k);
    total += varintSize(size) + size;
  }
  return total;
}

function writeRecords(target: Uint8Array, view: DataView, start: number, spec: BatchSpec, payload: Uint8Array): number {
  const bodyBytes = 1 + 1 + 1 + 1 + varintSize(spec.valueBytes) + spec.valueBytes + 1;
  const value = payload.subarray(0, spec.valueBytes);
  let offset = start;
  for (let k = 0; k < spec.count; k++) {
    offset = writeVarint(target, offset, bodyBytes - 1 + varintSize(k));
    target[offset++] = 0; // attributes
    target[offset++] = 0; // timestamp delta 0 (varint)
    offset = writeVarint(target, offset, k);
    target[offset++] = 1; // key length -1 (zigzag)
    offset = writeVarint(target, offset, spec.valueBytes);
    target.set(value, offset);
    view.setFloat64(offset, spec.firstIndex + k);
    offset += spec.valueBytes;
    target[offset++] = 0; // no headers
  }
  return offset;
}

function writeBatchHeader(view: DataView, at: number, batchBytes: number, spec: BatchSpec): void {
  const timestamp = BigInt(Math.floor(spec.timestampMs));
  view.setBigInt64(at, 0n);
  view.setInt32(at + 8, batchBytes - 12);
  view.setInt32(at + 12, -1);
  view.setInt8(at + 16, 2);
  view.setInt16(at + 21, compressionCodec[spec.compression]);
  view.setInt32(at + 23, spec.count - 1);
  view.setBigInt64(at + 27, timestamp);
  view.setBigInt64(at + 35, timestamp);
  view.setBigInt64(at + 43, -1n);
  view.setInt16(at + 51, -1);
  view.setInt32(at + 53, -1);
  view.setInt32(at + 57, spec.count);
}

/** Bytes of the batch `writeRecordBatch` would write (uncompressed batches only). */
export function recordBatchBytes(spec: BatchSpec): number {
  assert(spec.compression === "none", "size of a compressed batch is known only after compressing");
  return batchHeaderBytes + recordsSectionBytes(spec.valueBytes, spec.count);
}

/**
 * Writes an uncompressed RecordBatch v2 of `count` records (no keys, no headers) into
 * `target` at `at`; returns the end offset. Each value is `payload` (random bytes, so that
 * compression is not flattered) with the record's bench index as a float64 in its first 8
 * bytes, which the consumer reads back for end-to-end latency.
 */
export function writeRecordBatch(target: Uint8Array, view: DataView, at: number, spec: BatchSpec, payload: Uint8Array, crc32c: Crc32c): number {
  assert(spec.count > 0 && spec.valueBytes >= 8 && payload.length >= spec.valueBytes, "bad batch spec");
  const end = writeRecords(target, view, at + batchHeaderBytes, spec, payload);
  writeBatchHeader(view, at, end - at, spec);
  view.setUint32(at + 17, crc32c(target.subarray(at + 21, end)));
  return end;
}

/** Builds a RecordBatch v2 on its own (compressed if the spec says so). */
export function buildRecordBatch(spec: BatchSpec, payload: Uint8Array, crc32c: Crc32c): Uint8Array {
  if (spec.compression === "none") {
    const batch = new Uint8Array(recordBatchBytes(spec));
    const end = writeRecordBatch(batch, new DataView(batch.buffer), 0, spec, payload, crc32c);
    assert(end === batch.length, "batch size arithmetic");
    return batch;
  }
  const records = new Uint8Array(recordsSectionBytes(spec.valueBytes, spec.count));
  writeRecords(records, new DataView(records.buffer), 0, spec, payload);
  const body = compress(records, spec.compression);
  const batch = new Uint8Array(batchHeaderBytes + body.length);
  const view = new DataView(batch.buffer);
  batch.set(body, batchHeaderBytes);
  writeBatchHeader(view, 0, batch.length, spec);
  view.setUint32(17, crc32c(batch.subarray(21)));
  return batch;
}

function compress(records: Uint8Array, codec: CompressionName): Uint8Array {
  switch (codec) {
    case "none":
      return records;
    case "gzip":
      return Bun.gzipSync(records as Uint8Array<ArrayBuffer>);
    case "zstd":
      return Bun.zstdCompressSync(records);
    default:
      throw new Error(`the bench producer supports compression none, gzip, zstd (not ${codec})`);
  }
}

function decompress(body: Uint8Array, codec: number): Uint8Array {
  if (codec === compressionCodec.none) return body;
  if (codec === compressionCodec.gzip) return Bun.gunzipSync(body as Uint8Array<ArrayBuffer>);
  if (codec === compressionCodec.zstd) return Bun.zstdDecompressSync(body);
  throw new Error(`the bench consumer cannot decompress codec ${codec}`);
}

export interface ProducePartition {
  partition: number;
  batch: Uint8Array;
}

/** Produce v3 … v8 share one request layout (v3 added the transactional id). */
export function produceRequest(version: number, correlationId: number, clientId: string, acks: number, timeoutMs: number, topic: string, partitions: readonly ProducePartition[]): Uint8Array {
  assert(version >= 3 && version <= 8, `produce version ${version} not encoded by the bench`);
  const writer = requestHeader(apiKey.produce, version, correlationId, clientId);
  writer.string(null).int16(acks).int32(timeoutMs).int32(1).string(topic).int32(partitions.length);
  for (const entry of partitions) writer.int32(entry.partition).int32(entry.batch.length).raw(entry.batch);
  return writer.frame();
}

const encodedStrings = new Map<string, Uint8Array>();
function encodedString(value: string): Uint8Array {
  let encoded = encodedStrings.get(value);
  if (!encoded) {
    encoded = new TextEncoder().encode(value);
    encodedStrings.set(value, encoded);
  }
  return encoded;
}

/**
 * One Produce request (v3 … v8) carrying one partition's batch, built in a single allocation:
 * the batch is written in place, so the generator does no copying beyond the record values.
 * (Kafka clients may put several partitions in one request; the bench sends one per request
 * and pipelines requests instead.)
 */
export function produceFrame(version: number, correlationId: number, clientId: string, acks: number, timeoutMs: number, topic: string, partition: number, spec: BatchSpec, payload: Uint8Array, crc32c: Crc32c): Uint8Array {
  if (spec.compression !== "none") {
    return produceRequest(version, correlationId, clientId, acks, timeoutMs, topic, [{ partition, batch: buildRecordBatch(spec, payload, crc32c) }]);
  }
  assert(version >= 3 && version <= 8, `produce version ${version} not encoded by the bench`);
  const client = encodedString(clientId);
  const topicBytes = encodedString(topic);
  const batchBytes = recordBatchBytes(spec);
  const headerBytes = 4 + 2 + 2 + 4 + 2 + client.length;
  const bodyBytes = 2 + 2 + 4 + 4 + 2 + topicBytes.length + 4 + 4 + 4;
  const frame = new Uint8Array(headerBytes + bodyBytes + batchBytes);
  const view = new DataView(frame.buffer);
  let at = 0;
  view.setInt32(at, frame.length - 4);
  view.setInt16(at + 4, apiKey.produce);
  view.setInt16(at + 6, version);
  view.setInt32(at + 8, correlationId);
  view.setInt16(at + 12, client.length);
  frame.set(client, at + 14);
  at = headerBytes;
  view.setInt16(at, -1); // transactional id
  view.setInt16(at + 2, acks);
  view.setInt32(at + 4, timeoutMs);
  view.setInt32(at + 8, 1);
  view.setInt16(at + 12, topicBytes.length);
  frame.set(topicBytes, at + 14);
  at += 14 + topicBytes.length;
  view.setInt32(at, 1);
  view.setInt32(at + 4, partition);
  view.setInt32(at + 8, batchBytes);
  at += 12;
  const end = writeRecordBatch(frame, view, at, spec, payload, crc32c);
  assert(end === frame.length, "produce frame size arithmetic");
  return frame;
}

export interface PartitionResult {
  partition: number;
  errorCode: number;
  baseOffset: bigint;
}

/** `body` starts after the response header (the correlation id). */
export function decodeProduceResponse(version: number, body: Uint8Array): PartitionResult[] {
  const reader = new WireReader(body);
  const results: PartitionResult[] = [];
  reader.array(() => {
    reader.string();
    reader.array(() => {
      const partition = reader.int32();
      const errorCode = reader.int16();
      const baseOffset = reader.int64();
      if (version >= 2) reader.int64(); // log append time
      if (version >= 5) reader.int64(); // log start offset
      if (version >= 8) {
        reader.array(() => (reader.int32(), reader.string()));
        reader.string();
      }
      results.push({ partition, errorCode, baseOffset });
    });
  });
  return results;
}

export interface FetchPartitionRequest {
  partition: number;
  offset: bigint;
  maxBytes: number;
}

export function fetchRequestV4(correlationId: number, clientId: string, topic: string, partitions: readonly FetchPartitionRequest[], maxWaitMs: number, minBytes: number, maxBytes: number): Uint8Array {
  const writer = requestHeader(apiKey.fetch, 4, correlationId, clientId);
  writer.int32(-1).int32(maxWaitMs).int32(minBytes).int32(maxBytes).int8(0);
  writer.int32(1).string(topic).int32(partitions.length);
  for (const entry of partitions) writer.int32(entry.partition).int64(entry.offset).int32(entry.maxBytes);
  return writer.frame();
}

export interface FetchPartitionResult {
  partition: number;
  errorCode: number;
  highWatermark: bigint;
  records: Uint8Array | null;
}

export function decodeFetchResponseV4(body: Uint8Array): FetchPartitionResult[] {
  const reader = new WireReader(body);
  reader.int32(); // throttle
  const results: FetchPartitionResult[] = [];
  reader.array(() => {
    reader.string();
    reader.array(() => {
      const partition = reader.int32();
      const errorCode = reader.int16();
      const highWatermark = reader.int64();
      reader.int64(); // last stable offset
      reader.array(() => (reader.int64(), reader.int64()));
      const records = reader.bytesField();
      results.push({ partition, errorCode, highWatermark, records });
    });
  });
  return results;
}

export interface BatchVisit {
  baseOffset: bigint;
  lastOffsetDelta: number;
  recordCount: number;
  bytes: number;
}

/**
 * Walks the whole batches in a Fetch `records` field (a trailing partial batch is ignored, as
 * clients do). With `onValueIndex`, decodes each record and reports the float64 bench index
 * from the first 8 bytes of its value; without it, only batch headers are read.
 */
export function walkBatches(records: Uint8Array, onBatch: (visit: BatchVisit) => void, onValueIndex?: (index: number) => void): number {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let offset = 0;
  let whole = 0;
  while (offset + batchHeaderBytes <= records.length) {
    const batchLength = view.getInt32(offset + 8);
    const end = offset + 12 + batchLength;
    if (batchLength < batchHeaderBytes - 12 || end > records.length) break;
    const magic = view.getInt8(offset + 16);
    if (magic !== 2) throw new Error(`unexpected magic ${magic} at ${offset}`);
    const visit = {
      baseOffset: view.getBigInt64(offset),
      lastOffsetDelta: view.getInt32(offset + 23),
      recordCount: view.getInt32(offset + 57),
      bytes: end - offset,
    };
    onBatch(visit);
    if (onValueIndex) {
      const codec = view.getInt16(offset + 21) & 0x7;
      const body = decompress(records.subarray(offset + batchHeaderBytes, end), codec);
      readValueIndexes(body, visit.recordCount, onValueIndex);
    }
    offset = end;
    whole += 1;
  }
  return whole;
}

/**
 * Reads the float64 bench index at the start of each record's value. Plain number arithmetic
 * (no BigInt for the varlong timestamp delta, which is only skipped): the end-to-end consumer
 * calls this for every record it receives.
 */
function readValueIndexes(body: Uint8Array, count: number, onValueIndex: (index: number) => void): void {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let offset = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (offset >= body.length) throw new Error("record truncated");
      const byte = body[offset++]!;
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return (result >>> 1) ^ -(result & 1);
      shift += 7;
      if (shift > 28) throw new Error("varint too long");
    }
  };
  for (let k = 0; k < count; k++) {
    const length = varint();
    const start = offset;
    offset += 1; // attributes
    while (offset < body.length && (body[offset]! & 0x80) !== 0) offset += 1; // timestamp delta (varlong)
    offset += 1;
    varint(); // offset delta
    const keyLength = varint();
    if (keyLength > 0) offset += keyLength;
    const valueLength = varint();
    if (valueLength >= 8 && offset + 8 <= body.length) onValueIndex(view.getFloat64(offset));
    offset = start + length;
  }
}
