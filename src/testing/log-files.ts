// Test-only reader of a partition directory's segment files, independent of src/storage/: the
// oracle crash and bad-input tests hold the storage code against. It knows only Kafka's on-disk
// layout (segments named by 20-digit base offset, `.log` files holding RecordBatch v2 batches back
// to back) and reports every batch it can parse, and where and why it stopped.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { batchCrcValid, batchHeaderBytes, batchLogOverheadBytes, readBatchHeader } from "./record-batches.ts";

export interface ScannedBatch {
  segment: string;
  position: number;
  baseOffset: bigint;
  lastOffset: bigint;
  bytes: Uint8Array;
}

export type StopReason = "end" | "zeros" | "short-header" | "bad-length" | "bad-magic" | "bad-crc" | "past-end";

export interface SegmentScan {
  name: string;
  baseOffset: bigint;
  sizeBytes: number;
  batches: ScannedBatch[];
  /** Bytes of valid batches from the start of the file. */
  validBytes: number;
  /** Why scanning stopped at `validBytes`: "end" (clean), "zeros" (only zero bytes follow), … */
  stop: StopReason;
}

export function segmentNames(directory: string): string[] {
  return readdirSync(directory)
    .filter((name) => /^\d{20}\.log$/.test(name))
    .sort();
}

function allZero(bytes: Uint8Array, from: number): boolean {
  for (let index = from; index < bytes.length; index++) if (bytes[index] !== 0) return false;
  return true;
}

export function scanSegment(directory: string, name: string): SegmentScan {
  const bytes = new Uint8Array(readFileSync(join(directory, name)));
  const baseOffset = BigInt(name.slice(0, 20));
  const batches: ScannedBatch[] = [];
  let position = 0;
  let stop: StopReason = "end";
  while (position < bytes.length) {
    if (allZero(bytes, position)) {
      stop = "zeros";
      break;
    }
    if (position + batchHeaderBytes > bytes.length) {
      stop = "short-header";
      break;
    }
    const header = readBatchHeader(bytes, position);
    if (header.batchLength < batchHeaderBytes - batchLogOverheadBytes) {
      stop = "bad-length";
      break;
    }
    if (position + header.sizeBytes > bytes.length) {
      stop = "past-end";
      break;
    }
    if (header.magic !== 2) {
      stop = "bad-magic";
      break;
    }
    const batch = bytes.subarray(position, position + header.sizeBytes);
    if (!batchCrcValid(batch)) {
      stop = "bad-crc";
      break;
    }
    batches.push({
      segment: name,
      position,
      baseOffset: header.baseOffset,
      lastOffset: header.baseOffset + BigInt(header.lastOffsetDelta),
      bytes: batch,
    });
    position += header.sizeBytes;
  }
  return { name, baseOffset, sizeBytes: bytes.length, batches, validBytes: position, stop };
}

export interface LogScan {
  segments: SegmentScan[];
  /** Every valid batch of every segment, in file order. */
  batches: ScannedBatch[];
  /** Problems that make the on-disk log not clean (garbage, offset gaps, overlaps). */
  problems: string[];
}

/**
 * Scans every segment. A clean log: every segment ends with "end" (or "zeros" for the active,
 * last segment, whose reserved tail may be zero-filled), offsets are consecutive across batches
 * and segments, and each segment's first batch starts at the segment's base offset.
 */
export function scanLog(directory: string): LogScan {
  const segments = segmentNames(directory).map((name) => scanSegment(directory, name));
  const batches = segments.flatMap((segment) => segment.batches);
  const problems: string[] = [];
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    const acceptable = segment.stop === "end" || (last && segment.stop === "zeros");
    if (!acceptable) problems.push(`${segment.name}: stops at byte ${segment.validBytes} of ${segment.sizeBytes}: ${segment.stop}`);
    const first = segment.batches[0];
    if (first && first.baseOffset < segment.baseOffset) {
      problems.push(`${segment.name}: first batch offset ${first.baseOffset} below the segment base offset`);
    }
  });
  for (let index = 1; index < batches.length; index++) {
    const previous = batches[index - 1]!;
    const batch = batches[index]!;
    if (batch.baseOffset !== previous.lastOffset + 1n) {
      problems.push(`offset gap/overlap: batch at ${batch.segment}:${batch.position} has base ${batch.baseOffset}, previous ended at ${previous.lastOffset}`);
    }
  }
  return { segments, batches, problems };
}
