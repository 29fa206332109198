// Damage in a segment file that recovery keeps rather than cuts, and how it is found.
//
// A log file may be damaged two ways, and recovery must tell them apart:
//  - a crash artifact: the unflushed end of the log after an unclean shutdown (a torn last write, a
//    zero-filled or short tail). Only data written after the last recovery checkpoint can look
//    like this, nothing valid follows it, and it is cut (Kafka's recovery does the same);
//  - damage to data that was flushed (a flipped bit, a zero-filled page, garbage, a file shortened
//    by hand) or that is followed by valid batches (a torn write is never followed by data). It is
//    never cut and never makes recovery delete other data: the bytes stay, the range is recorded
//    here, logged at ERROR with file and position, and reads of its offsets answer
//    CORRUPT_MESSAGE while every other offset of the partition is served.
//
//   segment file:  | valid batches | damaged range      | valid batches (resynchronised) |
//                  0               position             endPosition                      size
//   offsets:        base ...        fromOffset … toOffset-1   toOffset ...
//
// After a damaged range the scan resynchronises: it looks for the next position where a whole,
// CRC-valid batch starts whose offsets continue the log (above the last good offset, inside the
// segment's range). A damaged segment gets no index files (recovery removes stale ones), so it is
// rescanned, and its damage reported again, at every start until it leaves the log (retention,
// DeleteRecords past it, topic deletion).

import type { NativeApi } from "../native/types.ts";
import { assert } from "../util/assert.ts";
import { batchHeaderBytes, checkStoredBatch, logOverheadBytes, readBatchHeader } from "../protocol/record-batch.ts";
import type { StorageFs } from "./fs.ts";

export interface DamagedRange {
  /** Bytes [position, endPosition) of the .log cannot be read as batches. */
  position: number;
  endPosition: number;
  /** Offsets [fromOffset, toOffset) lie in those bytes (their exact batches are unknown). */
  fromOffset: bigint;
  toOffset: bigint;
  /** What the scan found there (e.g. "CRC mismatch …"). */
  reason: string;
}

/** The damaged range holding `offset`, or undefined. */
export function damageAt(damage: readonly DamagedRange[], offset: bigint): DamagedRange | undefined {
  for (const range of damage) if (offset >= range.fromOffset && offset < range.toOffset) return range;
  return undefined;
}

/** The damaged range starting at byte `position`, or undefined (the read path stops there). */
export function damageStartingAt(damage: readonly DamagedRange[], position: number): DamagedRange | undefined {
  for (const range of damage) if (range.position === position) return range;
  return undefined;
}

/**
 * What a bad region looks like: only zeros to the end of the file ("zeros"); a batch cut short,
 * fewer bytes than a header left, or a batch followed by (or ending in) zeros to the end of the file
 * ("short": a write torn by a power loss, inside space that was reserved and so reads as zeros) —
 * the shapes a crash leaves — or anything else ("corrupt": a whole batch with a wrong CRC or magic
 * at the very end of the file, garbage), which a crash does not leave.
 */
export type ProblemShape = "zeros" | "short" | "corrupt";

/** Reads `length` bytes at `position` of the file (a view of a mapping or a fresh buffer). */
export type ReadAt = (position: number, length: number) => Uint8Array;

export function readerFor(fs: StorageFs, fd: number, mapped: Uint8Array | undefined): ReadAt {
  if (mapped) return (position, length) => mapped.subarray(position, position + length);
  return (position, length) => {
    const bytes = new Uint8Array(length);
    const count = fs.pread(fd, bytes, position);
    return count === length ? bytes : bytes.subarray(0, count);
  };
}

const windowBytes = 1 << 20;

export function shapeOfProblem(read: ReadAt, position: number, fileSize: number): ProblemShape {
  assert(position < fileSize, "a problem lies inside the file");
  let allZero = true;
  for (let at = position; at < fileSize && allZero; at += windowBytes) {
    const bytes = read(at, Math.min(windowBytes, fileSize - at));
    for (let index = 0; index < bytes.length; index++) {
      if (bytes[index] !== 0) {
        allZero = false;
        break;
      }
    }
  }
  if (allZero) return "zeros";
  const available = fileSize - position;
  if (available < batchHeaderBytes) return "short";
  const head = read(position, 12);
  const size = ((head[8]! << 24) | (head[9]! << 16) | (head[10]! << 8) | head[11]!) + logOverheadBytes;
  if (size > available || size < batchHeaderBytes) return size > available ? "short" : "corrupt";
  // Torn inside reserved space (the power went out before the reservation's trim was synced):
  // the bytes after the batch, to the end of the file, are zeros, or the batch's own end is (16
  // bytes and more: every record ends with a zero header count, so one zero byte says nothing).
  const batchEnd = position + size;
  const lastNonZero = lastNonZeroByte(read, position, fileSize);
  if (lastNonZero < batchEnd - 16) return "short";
  if (batchEnd < fileSize && lastNonZero < batchEnd) return "short";
  return "corrupt";
}

/** Position of the last non-zero byte in [from, end), or from - 1 when there is none. */
function lastNonZeroByte(read: ReadAt, from: number, end: number): number {
  for (let windowEnd = end; windowEnd > from; windowEnd -= windowBytes) {
    const windowStart = Math.max(from, windowEnd - windowBytes);
    const bytes = read(windowStart, windowEnd - windowStart);
    for (let index = bytes.length - 1; index >= 0; index--) if (bytes[index] !== 0) return windowStart + index;
  }
  return from - 1;
}

export interface ResyncBounds {
  /** A batch found must start at or above this offset (the last good offset + 1). */
  minOffset: bigint;
  /** …and end below this one (the next segment's base offset; the int32 range for the last). */
  offsetEnd: bigint;
}

/**
 * The first position after `from` where a whole, CRC-valid batch starts whose offsets lie in the
 * bounds, or null. Cheap on zeros and garbage: a candidate needs magic byte 2 at +16, a length that
 * fits and a base offset in range before its CRC is computed.
 */
export function findResyncPosition(read: ReadAt, native: NativeApi, from: number, fileSize: number, bounds: ResyncBounds): number | null {
  for (let windowStart = from; windowStart + batchHeaderBytes <= fileSize; windowStart += windowBytes) {
    const windowEnd = Math.min(fileSize, windowStart + windowBytes + batchHeaderBytes);
    const window = read(windowStart, windowEnd - windowStart);
    const last = Math.min(window.length - batchHeaderBytes, windowBytes - 1);
    for (let at = windowStart === from ? 1 : 0; at <= last; at++) {
      if (window[at + 16] !== 2) continue;
      const position = windowStart + at;
      const header = readBatchHeader(window, at);
      if (header.sizeBytes < batchHeaderBytes || position + header.sizeBytes > fileSize) continue;
      if (header.lastOffsetDelta < 0 || header.baseOffset < bounds.minOffset) continue;
      if (header.baseOffset + BigInt(header.lastOffsetDelta) >= bounds.offsetEnd) continue;
      const batch = read(position, header.sizeBytes);
      if (checkStoredBatch(native, batch, 0, batch.length) === null) return position;
    }
  }
  return null;
}
