// Which whole segments leave a partition log from the front: by retention.ms (a segment's newest
// timestamp), retention.bytes, and below the log start offset (DeleteRecords). Never the active
// segment. The log removes them (their files go once no sync uses them).

import type { TopicConfig } from "../config/index.ts";
import { isNever } from "./log-append-checks.ts";
import type { Segment } from "./segment.ts";

/** How many segments from the front retention.ms and retention.bytes delete now. */
export function retentionCount(segments: readonly Segment[], config: TopicConfig, nowMs: number, totalBytes: number): number {
  const retentionMs = config["retention.ms"];
  const retentionBytes = config["retention.bytes"];
  let count = 0;
  if (retentionMs >= 0 && !isNever(retentionMs)) {
    while (count < segments.length - 1) {
      const segment = segments[count]!;
      if (segment.maxTimestamp < 0n || nowMs - Number(segment.maxTimestamp) <= retentionMs) break;
      count++;
    }
  }
  if (retentionBytes >= 0 && !isNever(retentionBytes)) {
    let excess = totalBytes - retentionBytes;
    for (let index = 0; index < count; index++) excess -= segments[index]!.sizeBytes;
    while (count < segments.length - 1 && excess - segments[count]!.sizeBytes >= 0) {
      excess -= segments[count]!.sizeBytes;
      count++;
    }
  }
  return count;
}

/**
 * How many segments from the front lie entirely below `logStartOffset`. A segment that ends below
 * it but whose next segment starts above it keeps the gap: the next one becomes the first, and the
 * log start offset stays where it was set.
 */
export function countBelowStart(segments: readonly Segment[], logStartOffset: bigint): number {
  let count = 0;
  while (count < segments.length - 1 && segments[count]!.nextOffset <= logStartOffset) count++;
  return count;
}
