// When a partition log rolls its active segment (Kafka's rules): segment.bytes, segment.ms minus
// the segment's share of segment.jitter.ms, a full offset or time index, or an offset beyond the
// segment's int32 range.

import type { TopicConfig } from "../config/index.ts";
import { assert } from "../util/assert.ts";
import { isNever } from "./log-append-checks.ts";
import { offsetIndexEntryBytes, timeIndexEntryBytes } from "./segment-index.ts";
import type { Segment } from "./segment.ts";

const int32MaxBig = BigInt(0x7fffffff);

/** Why `segment` must roll before `incomingBytes` ending at `lastOffset` go in, or null. */
export function rollReason(segment: Segment, config: TopicConfig, rollJitterMs: number, nowMs: number, incomingBytes: number, lastOffset: bigint): string | null {
  if (segment.isEmpty) return null;
  const segmentMs = config["segment.ms"] - rollJitterMs;
  const indexBytesMax = config["segment.index.bytes"];
  return segment.sizeBytes + incomingBytes > config["segment.bytes"] ? "segment.bytes"
    : !isNever(config["segment.ms"]) && nowMs - segment.rollBaseMs >= segmentMs ? "segment.ms"
    : (segment.offsetIndex.entries + 1) * offsetIndexEntryBytes > indexBytesMax ? "offset index full"
    : (segment.timeIndex.entries + 1) * timeIndexEntryBytes > indexBytesMax ? "time index full"
    : lastOffset - segment.baseOffset > int32MaxBig ? "relative offset overflow"
    : null;
}

/**
 * segment.jitter.ms as Kafka applies it: each active segment rolls a random share of the jitter
 * early, at most segment.ms (so that partitions created together do not all roll at once, and a
 * jitter above segment.ms never means a roll on every append).
 */
export function pickRollJitter(config: TopicConfig, random: () => number): number {
  const jitterMs = Math.min(config["segment.jitter.ms"], config["segment.ms"]);
  const draw = random();
  assert(draw >= 0 && draw < 1, "random() must be in [0, 1)");
  const picked = jitterMs > 0 && !isNever(jitterMs) ? Math.floor(draw * jitterMs) : 0;
  assert(picked >= 0 && picked <= config["segment.ms"], "roll jitter within segment.ms");
  return picked;
}
