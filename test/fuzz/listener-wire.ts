// Record-batch helpers for the listener fuzz and the protocol-level compat tests: re-encoding a
// batch with another records section (compressed, or deliberately inconsistent) and cutting a
// Fetch response's records into batches without validating them. The raw wire connection these
// tests use lives in test/helpers/raw-wire.ts; well-formed exchanges use the shared client.

import { batchHeaderBytes, crcStartByte } from "../../src/testing/record-batches.ts";
import { crc32cSoftware } from "../../src/native/fallback.ts";

/** Kafka's compression codec ids (batch attributes bits 0-2). */
export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

/**
 * Re-encodes an uncompressed batch (as built by src/testing/record-batches.ts) with its records
 * section replaced by `compressedRecords` and the codec bits set; CRC recomputed.
 */
export function withRecordsSection(batch: Uint8Array, codec: number, recordsSection: Uint8Array): Uint8Array {
  const out = new Uint8Array(batchHeaderBytes + recordsSection.length);
  out.set(batch.subarray(0, batchHeaderBytes));
  out.set(recordsSection, batchHeaderBytes);
  const view = new DataView(out.buffer);
  view.setInt32(8, out.length - 12);
  view.setInt16(21, (view.getInt16(21) & ~7) | codec);
  view.setUint32(17, crc32cSoftware(out.subarray(crcStartByte)));
  return out;
}

/** A gzip-compressed copy of an uncompressed batch. */
export function gzipBatch(batch: Uint8Array): Uint8Array {
  return withRecordsSection(batch, Compression.gzip, Bun.gzipSync(batch.slice(batchHeaderBytes)));
}

/** Splits a Fetch response's records bytes into whole batches (a trailing partial batch is dropped). */
export function splitBatches(records: Uint8Array | null): Uint8Array[] {
  const batches: Uint8Array[] = [];
  if (!records) return batches;
  let at = 0;
  while (at + 12 <= records.length) {
    const size = new DataView(records.buffer, records.byteOffset + at).getInt32(8) + 12;
    if (at + size > records.length) break;
    batches.push(records.subarray(at, at + size));
    at += size;
  }
  return batches;
}
