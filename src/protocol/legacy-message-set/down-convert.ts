// Down-conversion of stored RecordBatch v2 data into the message format an old Fetch can read:
// magic 0 for Fetch v0-1, magic 1 for Fetch v2-3 (Kafka's RecordsUtil.downConvert). Each
// uncompressed batch becomes plain messages; each compressed batch becomes ONE wrapper message
// compressed with the same codec (compression preserved; lz4 on magic 0 with Kafka 0.8's header
// checksum, see lz4-framing.ts). Control batches are left out (old clients cannot read them);
// record headers are dropped (the old formats have none); records before the fetch offset are left
// out. Magic 1 keeps timestamps and the timestamp type; magic 0 has neither.
//
// Bounded: conversion stops at `maxBytes` of output, whole messages only — except when not even the
// first message fits: then Fetch v3 gets it whole when it is the response's first data (KIP-74) or
// nothing, and Fetch v0-2 get its first `maxBytes` bytes, a partial message, which is what Kafka
// answered those versions (the client then reports the message too large or retries with a larger
// fetch size). A compressed batch too
// big to be the first wrapper is first split into smaller wrappers (halving its records) so that an
// old client with a small fetch size still makes progress. Compressed batches are inflated within
// `inflatedBytesMax`. zstd cannot be expressed before magic 2: UNSUPPORTED_COMPRESSION_TYPE, as
// Kafka answers Fetch < v10 on zstd data.

import { assert } from "../../util/assert.ts";
import { CompressionType, compress } from "../compression.ts";
import { ErrorCode, KafkaError } from "../errors.ts";
import { batchesIn, decodeRecords, type KafkaRecord } from "../record-batch/batches.ts";
import { lastOffsetOf } from "../record-batch/header.ts";
import { compressionOf, isControl, isLogAppendTime } from "../record-batch/layout.ts";
import { entrySizeOf, timestampTypeBit, writeMessage, type LegacyMagic } from "./format.ts";
import { withBrokenLz4HeaderChecksum } from "./lz4-framing.ts";

export interface DownConvertOptions {
  readonly magic: LegacyMagic;
  readonly fetchOffset: bigint;
  /** Bytes the converted set may take (see the header for the first message). */
  readonly maxBytes: number;
  /**
   * When not even the first message fits: "whole" sends it anyway (Fetch v3, the response's first
   * data, KIP-74), "partial" sends its first maxBytes bytes (Fetch v0-2), "omit" sends nothing
   * (Fetch v3, a later partition).
   */
  readonly oversizeFirst: "whole" | "partial" | "omit";
  /** Cap on one compressed batch's inflated records. */
  readonly inflatedBytesMax: number;
}

export interface DownConverted {
  readonly bytes: Uint8Array;
  /** Records converted (inner messages counted). */
  readonly records: number;
}

/** Plain messages for `records`, with their absolute offsets. */
function plainMessages(records: readonly KafkaRecord[], magic: LegacyMagic, attributes: number): Uint8Array {
  let size = 0;
  for (const record of records) size += entrySizeOf(magic, record.key, record.value);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let position = 0;
  for (const record of records) position = writeMessage(out, view, position, record.offset, magic, attributes, record.timestamp, record.key, record.value);
  assert(position === size, "plain messages fill their buffer");
  return out;
}

/** One wrapper message holding `records` compressed with `codec`. */
function wrapperMessage(records: readonly KafkaRecord[], magic: LegacyMagic, codec: number, logAppendTime: boolean, logAppendTimeMs: bigint): Uint8Array {
  assert(records.length > 0, "a wrapper holds at least one message");
  const first = records[0]!.offset;
  const last = records[records.length - 1]!.offset;
  const innerAttributes = magic === 1 && logAppendTime ? timestampTypeBit : 0;
  // Magic 1 inner offsets are relative to the first; magic 0 inner offsets are absolute.
  const relative = magic === 1 ? records.map((record) => ({ ...record, offset: record.offset - first })) : records;
  let compressed = compress(codec, plainMessages(relative, magic, innerAttributes));
  if (magic === 0 && codec === CompressionType.lz4) compressed = withBrokenLz4HeaderChecksum(compressed);
  let timestamp = -1n;
  if (magic === 1) {
    if (logAppendTime) timestamp = logAppendTimeMs;
    else for (const record of records) if (record.timestamp > timestamp) timestamp = record.timestamp;
  }
  const out = new Uint8Array(entrySizeOf(magic, null, compressed));
  writeMessage(out, new DataView(out.buffer), 0, last, magic, codec | innerAttributes, timestamp, null, compressed);
  return out;
}

/** The converted set being filled, within its byte limit. */
class Output {
  readonly pieces: Uint8Array[] = [];
  total = 0;
  records = 0;
  constructor(private readonly options: DownConvertOptions) {}

  get room(): number {
    return this.options.maxBytes - this.total;
  }

  /** Adds a piece that fits, or (nothing added yet) the first-message rule. Returns whether it fitted. */
  add(piece: Uint8Array, count: number): boolean {
    if (piece.length <= this.room) {
      this.push(piece, count);
      return true;
    }
    if (this.total === 0) {
      if (this.options.oversizeFirst === "whole") this.push(piece, count);
      else if (this.options.oversizeFirst === "partial" && this.options.maxBytes > 0) this.push(piece.subarray(0, this.options.maxBytes), 0);
    }
    return false;
  }

  private push(piece: Uint8Array, count: number): void {
    this.pieces.push(piece);
    this.total += piece.length;
    this.records += count;
  }

  result(): DownConverted {
    if (this.pieces.length === 1) return { bytes: this.pieces[0]!, records: this.records };
    const bytes = new Uint8Array(this.total);
    let position = 0;
    for (const piece of this.pieces) {
      bytes.set(piece, position);
      position += piece.length;
    }
    return { bytes, records: this.records };
  }
}

/** Plain messages, as many as fit, in one piece. Returns whether all fitted. */
function addPlain(output: Output, records: readonly KafkaRecord[], magic: LegacyMagic, attributes: number): boolean {
  let fitting = 0;
  let bytes = 0;
  for (const record of records) {
    const size = entrySizeOf(magic, record.key, record.value);
    if (bytes + size > output.room) break;
    bytes += size;
    fitting++;
  }
  if (fitting === 0) return output.add(plainMessages(records.slice(0, 1), magic, attributes), 1) && records.length === 1;
  output.add(plainMessages(fitting === records.length ? records : records.slice(0, fitting), magic, attributes), fitting);
  return fitting === records.length;
}

/**
 * Wrappers for one compressed batch: one when it fits; when it does not and nothing is in the
 * output yet, wrappers of halved runs of its records until one fits. Returns whether all fitted.
 */
function addCompressed(output: Output, records: readonly KafkaRecord[], magic: LegacyMagic, codec: number, logAppendTime: boolean, logAppendTimeMs: bigint): boolean {
  let rest = records;
  while (rest.length > 0) {
    let take = rest.length;
    let wrapper = wrapperMessage(rest, magic, codec, logAppendTime, logAppendTimeMs);
    while (output.total === 0 && take > 1 && wrapper.length > output.room) {
      take = Math.ceil(take / 2);
      wrapper = wrapperMessage(rest.slice(0, take), magic, codec, logAppendTime, logAppendTimeMs);
    }
    if (!output.add(wrapper, take)) return false;
    rest = rest.slice(take);
  }
  return true;
}

/** Down-converts the batches of `chunks` (as a log read returns them). Throws KafkaError. */
export function downConvert(chunks: readonly Uint8Array[], options: DownConvertOptions): DownConverted {
  assert(options.maxBytes >= 0, "down-conversion needs a byte limit");
  const output = new Output(options);
  for (const chunk of chunks) {
    for (const view of batchesIn(chunk)) {
      const header = view.header;
      if (isControl(header.attributes) || lastOffsetOf(header) < options.fetchOffset) continue;
      const codec = compressionOf(header.attributes);
      if (codec === CompressionType.zstd) {
        if (output.total > 0) return output.result();
        throw new KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `zstd-compressed data at offset ${header.baseOffset} cannot be down-converted to message format v${options.magic}`);
      }
      const wanted = decodeRecords(view, { inflatedBytesMax: options.inflatedBytesMax }).filter((record) => record.offset >= options.fetchOffset);
      if (wanted.length === 0) continue;
      const logAppendTime = isLogAppendTime(header.attributes);
      const allFitted = codec === CompressionType.none
        ? addPlain(output, wanted, options.magic, options.magic === 1 && logAppendTime ? timestampTypeBit : 0)
        : addCompressed(output, wanted, options.magic, codec, logAppendTime, header.maxTimestamp);
      if (!allFitted || output.room <= 0) return output.result();
    }
  }
  return output.result();
}
