// Batches inside a `records` blob (a Produce request's, a Fetch response's, a log read's), and the
// decoding of their records into objects: splitBatches and decodeRecords for clients, the HTTP API
// and ListOffsets; batchesIn and decodeLogRecords for the broker's own logs (metadata, offsets).
// Keys, values and header values are views (no copy) of the batch bytes, or of the inflated
// records when the batch is compressed.

import { CompressionType, decompress } from "../compression.ts";
import { ProtocolDecodeError } from "../errors.ts";
import { batchCrcAt, corruptBatch, parseBatchHeader, readBatchHeader, type CrcSource, type RecordBatchHeader } from "./header.ts";
import { batchHeaderBytes, compressionOf, isLogAppendTime } from "./layout.ts";
import { forEachRecordFields, keyOf, recordHeadersOf, valueOf, type RecordHeader } from "./records.ts";

/** Inflated records above this are refused unless the caller gives its own limit. */
export const recordsInflatedBytesMaxDefault = 64 * 1024 * 1024;

/** One batch inside a `records` blob: its parsed header and views of its bytes. */
export interface RecordBatchView {
  readonly header: RecordBatchHeader;
  /** The whole batch (61-byte header + records), a view of the input. */
  readonly bytes: Uint8Array;
  /** The records section (compressed when the attributes say so), a view of the input. */
  readonly recordsBytes: Uint8Array;
}

export interface SplitOptions {
  /**
   * Accept (and drop) a truncated last batch, as a consumer must: a Fetch response may cut the last
   * batch at the partition's byte limit. A producer's batches must be whole (the default).
   */
  readonly allowTruncatedTail?: boolean;
  /** Check each batch's CRC (default true). */
  readonly verifyCrc?: boolean;
  readonly crc?: CrcSource;
}

/** The batches in a `records` blob, in order, validated (lengths, magic, CRC). Views, no copy. */
export function splitBatches(records: Uint8Array, options: SplitOptions = {}): RecordBatchView[] {
  const batches: RecordBatchView[] = [];
  const check = options.verifyCrc ?? true;
  let position = 0;
  while (position < records.length) {
    const remaining = records.length - position;
    if (remaining < batchHeaderBytes) {
      if (options.allowTruncatedTail) break;
      throw corruptBatch(`${remaining} trailing bytes are not a whole record batch`);
    }
    const header = parseBatchHeader(records, position);
    const size = header.sizeBytes;
    if (size > remaining) {
      if (options.allowTruncatedTail) break;
      throw corruptBatch(`record batch of ${size} bytes but only ${remaining} remain`);
    }
    if (check && batchCrcAt(records, position, size, options.crc) !== header.crc) {
      throw corruptBatch(`record batch at base offset ${header.baseOffset} fails its CRC`);
    }
    const bytes = records.subarray(position, position + size);
    batches.push({ header, bytes, recordsBytes: bytes.subarray(batchHeaderBytes) });
    position += size;
  }
  return batches;
}

/**
 * The whole batches in `bytes` (as a log read returns them), headers read as they are; stops at
 * the first that does not fit. Callers that need the CRC checked use splitBatches.
 */
export function* batchesIn(bytes: Uint8Array): Generator<RecordBatchView> {
  let position = 0;
  while (position + batchHeaderBytes <= bytes.length) {
    const header = readBatchHeader(bytes, position);
    if (header.sizeBytes < batchHeaderBytes || position + header.sizeBytes > bytes.length) break;
    const batch = bytes.subarray(position, position + header.sizeBytes);
    yield { header, bytes: batch, recordsBytes: batch.subarray(batchHeaderBytes) };
    position += header.sizeBytes;
  }
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

export interface DecodeRecordsOptions {
  /** Cap on the inflated size of a compressed batch (default recordsInflatedBytesMaxDefault). */
  readonly inflatedBytesMax?: number;
}

/** The records section of a batch, inflated when compressed (capped), with its record count checked. */
function plainRecords(batch: RecordBatchView, options: DecodeRecordsOptions): Uint8Array {
  const { header } = batch;
  const codec = compressionOf(header.attributes);
  const inflatedBytesMax = options.inflatedBytesMax ?? recordsInflatedBytesMaxDefault;
  const data = codec === CompressionType.none ? batch.recordsBytes : decompress(codec, batch.recordsBytes, inflatedBytesMax);
  if (header.recordsCount < 0 || header.recordsCount > data.length) {
    throw corruptBatch(`record count ${header.recordsCount} impossible in ${data.length} bytes`);
  }
  return data;
}

/**
 * Decodes the records of a batch (inflating them first when compressed). Throws
 * KafkaError(CORRUPT_MESSAGE) or ProtocolDecodeError when the records do not match the header.
 */
export function decodeRecords(batch: RecordBatchView, options: DecodeRecordsOptions = {}): KafkaRecord[] {
  const { header } = batch;
  const data = plainRecords(batch, options);
  const logAppendTime = isLogAppendTime(header.attributes);
  const records: KafkaRecord[] = [];
  let end = 0;
  forEachRecordFields(data, 0, data.length, header.recordsCount, (fields) => {
    records.push({
      attributes: fields.attributes,
      timestampDelta: fields.timestampDelta,
      offsetDelta: fields.offsetDelta,
      offset: header.baseOffset + BigInt(fields.offsetDelta),
      timestamp: logAppendTime ? header.maxTimestamp : header.baseTimestamp + BigInt(fields.timestampDelta),
      key: keyOf(data, fields),
      value: valueOf(data, fields),
      headers: recordHeadersOf(data, fields),
    });
    end = fields.end;
  });
  if (end !== data.length) throw corruptBatch(`${data.length - end} bytes after the last record of the batch`);
  return records;
}

/** A record of the broker's own logs: header section kept raw (copied through unchanged). */
export interface LogRecord {
  offset: bigint;
  timestamp: bigint;
  key: Uint8Array | null;
  value: Uint8Array | null;
  /** The raw header section (count + headers). */
  headers: Uint8Array;
}

/**
 * The records of an uncompressed batch (views into `batch`), or null when it is compressed. Throws
 * ProtocolDecodeError on malformed records.
 */
export function decodeLogRecords(batch: Uint8Array, header: RecordBatchHeader = readBatchHeader(batch)): LogRecord[] | null {
  if (compressionOf(header.attributes) !== 0) return null;
  if (batch.length < header.sizeBytes) throw new ProtocolDecodeError("decodeLogRecords needs the whole batch");
  const records: LogRecord[] = [];
  forEachRecordFields(batch, batchHeaderBytes, header.sizeBytes, header.recordsCount, (fields) => {
    records.push({
      offset: header.baseOffset + BigInt(fields.offsetDelta),
      timestamp: header.baseTimestamp + BigInt(fields.timestampDelta),
      key: keyOf(batch, fields),
      value: valueOf(batch, fields),
      headers: batch.subarray(fields.headersStart, fields.end),
    });
  });
  return records;
}
