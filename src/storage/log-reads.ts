// Reads of a partition log's segments: the batches from an offset (zero-copy views of mapped
// segments, CRC checked on a batch's first read), the first record reaching a timestamp
// (ListOffsets by time), and the record with the largest timestamp. The log checks the offset
// range and reports failures; these walk the segments.

import { decodeRecords, lastOffsetOf, splitBatches, type RecordBatchHeader } from "../protocol/record-batch.ts";
import { assert } from "../util/assert.ts";
import type { Logger } from "../util/logger.ts";
import type { Segment } from "./segment.ts";
import type { TimestampOffset } from "./types.ts";

/** The index of the segment holding `offset` (the last whose base offset is <= it). */
export function segmentIndexFor(segments: readonly Segment[], offset: bigint): number {
  let low = 0;
  let high = segments.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >>> 1;
    if (segments[middle]!.baseOffset <= offset) low = middle;
    else high = middle - 1;
  }
  return low;
}

export interface ReadRange {
  chunks: Uint8Array[];
  releases: (() => void)[];
  bytes: number;
  /** The offset after the last batch read (`offset` when nothing was). */
  nextOffset: bigint;
}

/**
 * Whole batches from the one holding `offset`, below `limit`, at most `maxBytes` (but at least one
 * batch): one view per segment touched. On a throw nothing stays held.
 */
export function readRange(segments: readonly Segment[], offset: bigint, maxBytes: number, limit: bigint): ReadRange {
  const chunks: Uint8Array[] = [];
  const releases: (() => void)[] = [];
  let bytes = 0;
  let cursor = offset;
  try {
    for (let index = segmentIndexFor(segments, offset); index < segments.length && cursor < limit; index++) {
      const segment = segments[index]!;
      const found = segment.findBatch(cursor);
      if (found === null) continue;
      let end = found.position;
      let batch = { sizeBytes: found.header.sizeBytes, lastOffset: lastOffsetOf(found.header) };
      let full = false;
      for (;;) {
        if (batch.lastOffset >= limit || (bytes > 0 && bytes + batch.sizeBytes > maxBytes)) {
          full = true;
          break;
        }
        // First read of a batch not verified since this process opened the log: check its CRC
        // (once). A damaged one ends the read before it, or fails a read that starts at it.
        if (!segment.batchIntact(end, batch.sizeBytes)) {
          if (end === found.position) segment.findBatch(cursor); // throws CORRUPT_MESSAGE for it now
          full = true;
          break;
        }
        end += batch.sizeBytes;
        bytes += batch.sizeBytes;
        cursor = batch.lastOffset + 1n;
        if (end >= segment.sizeBytes || bytes >= maxBytes) break;
        // A damaged header ends this read before it; the read that starts there gets the error.
        const next = segment.extentAt(end, batch.lastOffset);
        if (next === null) {
          full = true;
          break;
        }
        batch = next;
      }
      if (end > found.position) {
        const part = segment.bytesAt(found.position, end - found.position);
        chunks.push(part.bytes);
        releases.push(part.release);
      }
      if (full || bytes >= maxBytes) break;
    }
  } catch (error) {
    for (const release of releases) release();
    throw error;
  }
  return { chunks, releases, bytes, nextOffset: cursor };
}

/**
 * Kafka's answer to ListOffsets by time: the first record at or after `logStartOffset` whose
 * timestamp is >= `timestampMs`, with that record's timestamp. The indexes find the first batch
 * whose max timestamp reaches the target; only that batch (or the next few, when its matching
 * records lie below the log start offset) is decoded — records of one batch may carry different
 * timestamps, out of order too.
 */
export function offsetForTimestamp(segments: readonly Segment[], logStartOffset: bigint, timestampMs: bigint, inflatedBytesMax: number, logger: Logger): TimestampOffset | null {
  for (const segment of segments) {
    if (segment.nextOffset <= logStartOffset || segment.maxTimestamp < timestampMs) continue;
    let minOffset = logStartOffset;
    for (;;) {
      const found = segment.findTimestamp(timestampMs, minOffset);
      if (found === null) break;
      const exact = firstRecordReaching(segment, found.position, found.header, timestampMs, logStartOffset, inflatedBytesMax, logger);
      if (exact !== null) return exact;
      minOffset = lastOffsetOf(found.header) + 1n;
    }
  }
  return null;
}

/** The first record of a stored batch with offset >= minOffset and timestamp >= timestampMs. */
function firstRecordReaching(
  segment: Segment, position: number, header: RecordBatchHeader, timestampMs: bigint, minOffset: bigint, inflatedBytesMax: number, logger: Logger,
): TimestampOffset | null {
  assert(header.maxTimestamp >= timestampMs, "the batch reaches the target timestamp");
  const part = segment.bytesAt(position, header.sizeBytes);
  try {
    const [view] = splitBatches(part.bytes, { verifyCrc: false });
    for (const record of decodeRecords(view!, { inflatedBytesMax })) {
      if (record.offset >= minOffset && record.timestamp >= timestampMs) return { offset: record.offset, timestamp: record.timestamp };
    }
    return null;
  } catch (error) {
    // Stored batches were checked at append and at recovery; should one not decode now (a bad
    // disk), answer at batch granularity rather than fail the request.
    logger.warn("could not decode a stored batch for offsetForTimestamp", { baseOffset: String(header.baseOffset), error: String(error) });
    const offset = header.baseOffset > minOffset ? header.baseOffset : minOffset;
    return { offset, timestamp: header.maxTimestamp };
  } finally {
    part.release();
  }
}

/** The record with the largest timestamp (ListOffsets MAX_TIMESTAMP), from the segments' indexes. */
export function maxTimestampOffset(segments: readonly Segment[]): TimestampOffset | null {
  let best: TimestampOffset | null = null;
  for (const segment of segments) {
    if (segment.maxTimestamp < 0n) continue;
    if (best === null || segment.maxTimestamp > best.timestamp) {
      best = { offset: segment.offsetOfMaxTimestamp, timestamp: segment.maxTimestamp };
    }
  }
  return best;
}
