// RecordBatch v2 (magic 2): the unit producers send, the log stores and consumers fetch.
//
//   offset  field                 type     notes
//   0       baseOffset            int64    stamped by the broker, outside the CRC
//   8       batchLength           int32    bytes after this field (whole batch = batchLength + 12)
//   12      partitionLeaderEpoch  int32    stamped by the broker, outside the CRC
//   16      magic                 int8     2
//   17      crc                   uint32   CRC-32C of bytes 21 … end of batch
//   21      attributes            int16    bits 0-2 compression, 3 timestamp type (1 = log append
//                                          time), 4 transactional, 5 control
//   23      lastOffsetDelta       int32
//   27      baseTimestamp         int64
//   35      maxTimestamp          int64
//   43      producerId            int64
//   51      producerEpoch         int16
//   53      baseSequence          int32
//   57      recordsCount          int32
//   61      records …             (compressed as one block when attributes say so)
//
// A record: length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
// key (varint length, -1 = null), value (same), headers count varint, then per header a key
// (varint length + UTF-8, never null) and a value (varint length, -1 = null). All zig-zag varints.
//
// Keys, values and header values are views (no copy) of the batch bytes, or of the inflated
// records when the batch is compressed.

import { native } from "../native/index.ts";
import { assert } from "../util/assert.ts";
import { CompressionType, compress, decompress } from "./compression.ts";
import { ErrorCode, KafkaError, ProtocolDecodeError } from "./errors.ts";
import { Reader, Writer } from "./primitives.ts";

export const recordBatchHeaderBytes = 61;
/** baseOffset + batchLength: the bytes batchLength does not count. */
export const recordBatchLogOverheadBytes = 12;
/** The CRC covers the bytes from `attributes` to the end. */
export const recordBatchCrcStart = 21;
export const recordBatchMagic = 2;

export const BatchAttribute = {
  compressionMask: 0x07,
  logAppendTime: 0x08,
  transactional: 0x10,
  control: 0x20,
} as const;

/** Inflated records above this are refused unless the caller gives its own limit. */
export const recordsInflatedBytesMaxDefault = 64 * 1024 * 1024;

export type Crc32c = (data: Uint8Array, crc?: number) => number;

const defaultCrc32c: Crc32c = (data, crc) => native.crc32c(data, crc);

export interface RecordBatchHeader {
  baseOffset: bigint;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  /** Unsigned. */
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
}

/** One batch inside a `records` blob: its parsed header and views of its bytes. */
export interface RecordBatchView {
  readonly header: RecordBatchHeader;
  /** The whole batch (61-byte header + records), a view of the input. */
  readonly bytes: Uint8Array;
  /** The records section (compressed when the attributes say so), a view of the input. */
  readonly recordsBytes: Uint8Array;
}

export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

export interface KafkaRecord {
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  /** baseOffset + offsetDelta. */
  offset: bigint;
  /** baseTimestamp + timestampDelta, or the batch's maxTimestamp under log-append time. */
  timestamp: bigint;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
}

export function compressionOf(attributes: number): number {
  return attributes & BatchAttribute.compressionMask;
}

export function isTransactional(attributes: number): boolean {
  return (attributes & BatchAttribute.transactional) !== 0;
}

export function isControl(attributes: number): boolean {
  return (attributes & BatchAttribute.control) !== 0;
}

export function isLogAppendTime(attributes: number): boolean {
  return (attributes & BatchAttribute.logAppendTime) !== 0;
}

function corrupt(message: string): KafkaError {
  return new KafkaError(ErrorCode.CORRUPT_MESSAGE, message);
}

/**
 * Parses the 61-byte header of the batch at `offset`. Checks magic and that batchLength covers at
 * least the header; not the CRC (see verifyBatchCrc) and not that the batch fits in `bytes`.
 */
export function readBatchHeader(bytes: Uint8Array, offset = 0): RecordBatchHeader {
  if (bytes.length - offset < recordBatchHeaderBytes) throw corrupt("record batch shorter than its 61-byte header");
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, recordBatchHeaderBytes);
  const magic = view.getInt8(16);
  if (magic !== recordBatchMagic) throw corrupt(`record batch magic ${magic}, only magic 2 is supported`);
  const batchLength = view.getInt32(8);
  if (batchLength < recordBatchHeaderBytes - recordBatchLogOverheadBytes) throw corrupt(`record batch length ${batchLength} below the header size`);
  return {
    baseOffset: view.getBigInt64(0),
    batchLength,
    partitionLeaderEpoch: view.getInt32(12),
    magic,
    crc: view.getUint32(17),
    attributes: view.getInt16(21),
    lastOffsetDelta: view.getInt32(23),
    baseTimestamp: view.getBigInt64(27),
    maxTimestamp: view.getBigInt64(35),
    producerId: view.getBigInt64(43),
    producerEpoch: view.getInt16(51),
    baseSequence: view.getInt32(53),
    recordsCount: view.getInt32(57),
  };
}

/** The CRC-32C of a whole batch as Kafka computes it (attributes … end). */
export function computeBatchCrc(batch: Uint8Array, crc32c: Crc32c = defaultCrc32c): number {
  assert(batch.length >= recordBatchHeaderBytes, "computeBatchCrc needs a whole batch");
  return crc32c(batch.subarray(recordBatchCrcStart)) >>> 0;
}

/** True when the CRC stored in the batch matches its bytes. */
export function verifyBatchCrc(batch: Uint8Array, crc32c: Crc32c = defaultCrc32c): boolean {
  const stored = new DataView(batch.buffer, batch.byteOffset, batch.byteLength).getUint32(17);
  return computeBatchCrc(batch, crc32c) === stored;
}

export interface SplitOptions {
  /**
   * Accept (and drop) a truncated last batch, as a consumer must: a Fetch response may cut the last
   * batch at the partition's byte limit. A producer's batches must be whole (the default).
   */
  readonly allowTruncatedTail?: boolean;
  /** Check each batch's CRC (default true). */
  readonly verifyCrc?: boolean;
  readonly crc32c?: Crc32c;
}

/** The batches in a `records` blob, in order, validated (lengths, magic, CRC). Views, no copy. */
export function splitBatches(records: Uint8Array, options: SplitOptions = {}): RecordBatchView[] {
  const batches: RecordBatchView[] = [];
  const check = options.verifyCrc ?? true;
  const crc32c = options.crc32c ?? defaultCrc32c;
  let position = 0;
  while (position < records.length) {
    const remaining = records.length - position;
    if (remaining < recordBatchHeaderBytes) {
      if (options.allowTruncatedTail) break;
      throw corrupt(`${remaining} trailing bytes are not a whole record batch`);
    }
    const header = readBatchHeader(records, position);
    const size = header.batchLength + recordBatchLogOverheadBytes;
    if (size > remaining) {
      if (options.allowTruncatedTail) break;
      throw corrupt(`record batch of ${size} bytes but only ${remaining} remain`);
    }
    const bytes = records.subarray(position, position + size);
    if (check && computeBatchCrc(bytes, crc32c) !== header.crc) {
      throw corrupt(`record batch at base offset ${header.baseOffset} fails its CRC`);
    }
    batches.push({ header, bytes, recordsBytes: bytes.subarray(recordBatchHeaderBytes) });
    position += size;
  }
  return batches;
}

function readVarBytes(reader: Reader): Uint8Array | null {
  const length = reader.varint();
  if (length < 0) {
    if (length !== -1) throw new ProtocolDecodeError(`bad record field length ${length}`);
    return null;
  }
  return reader.rawView(length);
}

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

/** Decodes one record at the reader's position (which must hold the whole record). */
function readRecord(reader: Reader, header: RecordBatchHeader, logAppendTime: boolean): KafkaRecord {
  const length = reader.varint();
  if (length < 0 || length > reader.remaining) throw new ProtocolDecodeError(`record length ${length} past the end`);
  // Fields are read from the same reader; a record whose fields overrun its length is caught by
  // the position check below (the overrun stays inside the records bytes, never past them).
  const end = reader.position + length;
  const attributes = reader.int8();
  const timestampDelta = reader.varlongNumber();
  const offsetDelta = reader.varint();
  const key = readVarBytes(reader);
  const value = readVarBytes(reader);
  const headersCount = reader.varint();
  if (headersCount < 0 || headersCount > end - reader.position) throw new ProtocolDecodeError(`bad record header count ${headersCount}`);
  const headers: RecordHeader[] = [];
  for (let index = 0; index < headersCount; index++) {
    const keyBytes = readVarBytes(reader);
    if (keyBytes === null) throw new ProtocolDecodeError("record header key is null");
    headers.push({ key: textDecoder.decode(keyBytes), value: readVarBytes(reader) });
  }
  if (reader.position !== end) throw new ProtocolDecodeError("record length does not match its fields");
  return {
    attributes,
    timestampDelta,
    offsetDelta,
    offset: header.baseOffset + BigInt(offsetDelta),
    timestamp: logAppendTime ? header.maxTimestamp : header.baseTimestamp + BigInt(timestampDelta),
    key,
    value,
    headers,
  };
}

export interface DecodeRecordsOptions {
  /** Cap on the inflated size of a compressed batch (default recordsInflatedBytesMaxDefault). */
  readonly inflatedBytesMax?: number;
}

/**
 * Decodes the records of a batch (inflating them first when compressed). Throws
 * KafkaError(CORRUPT_MESSAGE) or ProtocolDecodeError when the records do not match the header.
 */
export function decodeRecords(batch: RecordBatchView, options: DecodeRecordsOptions = {}): KafkaRecord[] {
  const { header } = batch;
  const codec = compressionOf(header.attributes);
  const inflatedBytesMax = options.inflatedBytesMax ?? recordsInflatedBytesMaxDefault;
  const data = codec === CompressionType.none ? batch.recordsBytes : decompress(codec, batch.recordsBytes, inflatedBytesMax);
  if (header.recordsCount < 0 || header.recordsCount > data.length) {
    throw corrupt(`record count ${header.recordsCount} impossible in ${data.length} bytes`);
  }
  const reader = new Reader(data);
  const logAppendTime = isLogAppendTime(header.attributes);
  const records: KafkaRecord[] = [];
  for (let index = 0; index < header.recordsCount; index++) records.push(readRecord(reader, header, logAppendTime));
  if (reader.remaining !== 0) throw corrupt(`${reader.remaining} bytes after the last record of the batch`);
  return records;
}

// ------------------------------------------------------------------------------------- building

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
  crc32c?: Crc32c;
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
  const body = new Writer(estimate + (inPlace ? recordBatchHeaderBytes : 0));
  if (inPlace) body.raw(new Uint8Array(recordBatchHeaderBytes));
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
    batch = new Uint8Array(recordBatchHeaderBytes + recordsBytes.length);
    batch.set(recordsBytes, recordBatchHeaderBytes);
  }

  let attributes = compression;
  if (input.logAppendTime) attributes |= BatchAttribute.logAppendTime;
  if (input.transactional) attributes |= BatchAttribute.transactional;
  if (input.control) attributes |= BatchAttribute.control;

  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  view.setBigInt64(0, input.baseOffset ?? 0n);
  view.setInt32(8, batch.length - recordBatchLogOverheadBytes);
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
  view.setUint32(17, computeBatchCrc(batch, input.crc32c ?? defaultCrc32c));
  return batch;
}
