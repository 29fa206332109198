// Rewriting stored batches, for the log cleaner: visit an uncompressed batch's records in place
// (forEachRecordView), keep a subset of them (filteredBatch), and inflate a compressed batch into an
// uncompressed one and back (inflateBatch, deflateBatch).

import { assert } from "../../util/assert.ts";
import { compress, decompress } from "../compression.ts";
import { computeBatchCrc, type CrcSource, type RecordBatchHeader } from "./header.ts";
import { Attribute, Field, batchHeaderBytes, logOverheadBytes } from "./layout.ts";
import { forEachRecordFields, type RecordFields } from "./records.ts";

/**
 * Visits the records of an uncompressed batch without decoding them into objects (one reused
 * RecordFields; positions are inside `batch`); false when the batch is compressed (nothing
 * visited). Throws ProtocolDecodeError on records that do not fit the batch.
 */
export function forEachRecordView(batch: Uint8Array, header: RecordBatchHeader, visit: (record: RecordFields) => void): boolean {
  if ((header.attributes & Attribute.compressionMask) !== 0) return false;
  forEachRecordFields(batch, batchHeaderBytes, header.sizeBytes, header.recordsCount, visit);
  return true;
}

/**
 * The batch with only the records in `keep` (byte ranges from forEachRecordView, in order), as
 * Kafka's cleaner does for v2 batches: the header is kept as it was (base offset, lastOffsetDelta,
 * timestamps, producer fields: the batch still spans the same offsets), the surviving records are
 * copied byte for byte (their deltas stay valid), recordsCount and the CRC are updated.
 */
export function filteredBatch(batch: Uint8Array, keep: readonly { start: number; end: number }[], crc?: CrcSource): Uint8Array {
  assert(keep.length > 0, "a filtered batch keeps at least one record");
  let size = batchHeaderBytes;
  for (const range of keep) size += range.end - range.start;
  const out = new Uint8Array(size);
  out.set(batch.subarray(0, batchHeaderBytes));
  let position = batchHeaderBytes;
  for (const range of keep) {
    out.set(batch.subarray(range.start, range.end), position);
    position += range.end - range.start;
  }
  const view = new DataView(out.buffer);
  view.setInt32(Field.batchLength, size - logOverheadBytes);
  view.setInt32(Field.recordsCount, keep.length);
  view.setUint32(Field.crc, computeBatchCrc(out, crc));
  return out;
}

/**
 * A compressed batch's records inflated into an uncompressed batch of the same header (compression
 * bits cleared, lengths adjusted; the CRC is left stale: only forEachRecordView/filteredBatch read
 * it), or the batch itself when it is not compressed. Output is capped at `inflatedBytesMax`.
 */
export function inflateBatch(batch: Uint8Array, header: RecordBatchHeader, inflatedBytesMax: number): { batch: Uint8Array; header: RecordBatchHeader; codec: number } {
  const codec = header.attributes & Attribute.compressionMask;
  if (codec === 0) return { batch, header, codec };
  const records = decompress(codec, batch.subarray(batchHeaderBytes, header.sizeBytes), inflatedBytesMax);
  const plain = new Uint8Array(batchHeaderBytes + records.length);
  plain.set(batch.subarray(0, batchHeaderBytes));
  plain.set(records, batchHeaderBytes);
  const view = new DataView(plain.buffer);
  view.setInt16(Field.attributes, header.attributes & ~Attribute.compressionMask);
  view.setInt32(Field.batchLength, plain.length - logOverheadBytes);
  return { batch: plain, header: { ...header, attributes: header.attributes & ~Attribute.compressionMask, batchLength: plain.length - logOverheadBytes, sizeBytes: plain.length }, codec };
}

/** Compresses an uncompressed batch's records with `codec` (the inverse of inflateBatch), new CRC. */
export function deflateBatch(plain: Uint8Array, codec: number, attributes: number, crc?: CrcSource): Uint8Array {
  if (codec === 0) return plain;
  const records = compress(codec, plain.subarray(batchHeaderBytes));
  const out = new Uint8Array(batchHeaderBytes + records.length);
  out.set(plain.subarray(0, batchHeaderBytes));
  out.set(records, batchHeaderBytes);
  const view = new DataView(out.buffer);
  view.setInt16(Field.attributes, attributes);
  view.setInt32(Field.batchLength, out.length - logOverheadBytes);
  view.setUint32(Field.crc, computeBatchCrc(out, crc));
  return out;
}

