// What a partition leader knows of each follower (Kafka's Replica state on the leader): its log end
// offset (its last valid fetch offset) and when it was last caught up, which decides ISR shrinking.

import { assert } from "../../util/assert.ts";

export interface FollowerProgress {
  /** Last valid fetch offset in this leader epoch; -1 until the first one. */
  readonly logEndOffset: bigint;
  readonly lastFetchTimeMs: number;
  /** Last time the follower had everything the leader had (replica.lag.time.max.ms counts from it). */
  readonly lastCaughtUpTimeMs: number;
  /** The leader's log end offset at the follower's previous fetch. */
  readonly leaderEndAtLastFetch: bigint;
}

/**
 * A leader starts its epoch knowing no follower's offset. ISR members get `nowMs` as their caught-up
 * time so they are not shrunk before they had a chance to fetch; others get -∞ (Kafka does the same).
 */
export function initialProgress(inIsr: boolean, nowMs: number): FollowerProgress {
  return { logEndOffset: -1n, lastFetchTimeMs: -1, lastCaughtUpTimeMs: inIsr ? nowMs : Number.NEGATIVE_INFINITY, leaderEndAtLastFetch: -1n };
}

/**
 * A valid fetch at `fetchOffset` when the leader's log ends at `leaderEndOffset`. The follower was
 * caught up now if it asked for the leader's end; it was caught up at its previous fetch if it now
 * asks for at least what the leader had then (it has received all of that since).
 */
export function progressAfterFetch(progress: FollowerProgress, fetchOffset: bigint, leaderEndOffset: bigint, nowMs: number): FollowerProgress {
  assert(fetchOffset <= leaderEndOffset, () => `a valid fetch offset ${fetchOffset} is within the leader's log (end ${leaderEndOffset})`);
  let lastCaughtUpTimeMs = progress.lastCaughtUpTimeMs;
  if (fetchOffset >= leaderEndOffset) lastCaughtUpTimeMs = nowMs;
  else if (fetchOffset >= progress.leaderEndAtLastFetch && progress.lastFetchTimeMs >= 0) lastCaughtUpTimeMs = Math.max(lastCaughtUpTimeMs, progress.lastFetchTimeMs);
  const logEndOffset = fetchOffset > progress.logEndOffset ? fetchOffset : progress.logEndOffset;
  return { logEndOffset, lastFetchTimeMs: nowMs, lastCaughtUpTimeMs, leaderEndAtLastFetch: leaderEndOffset };
}
