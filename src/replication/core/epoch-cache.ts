// The leader-epoch cache as pure functions over its entries (epoch → start offset, ascending), so
// storage's checkpointed cache and the simulator's in-memory one share the rules (KIP-101/KIP-279).
//
//   epoch 3 ──────────┐ epoch 5 ────────────┐ epoch 6 ──────── log end
//   start 0           │ start 40            │ start 75
//   endOffsetFor(4) = { epoch 3, end 40 }     endOffsetFor(6) = { epoch 6, end = log end }

import { assert } from "../../util/assert.ts";
import type { EpochEndOffset, EpochEntry } from "./types.ts";
import { UNDEFINED_EPOCH_OFFSET } from "./types.ts";

/**
 * The epoch of the last entry, or -1 for an empty cache. It is the `lastFetchedEpoch` a follower
 * fetches with (not its last batch's epoch: see docs/replication.md §5, follower side).
 */
export function latestEpoch(cache: readonly EpochEntry[]): number {
  return cache.length === 0 ? -1 : cache[cache.length - 1]!.epoch;
}

/**
 * Record that `epoch` starts at `startOffset` (a leader taking over, or a follower appending the
 * first batch of a newer epoch). Epochs and start offsets only grow; the same epoch again is a no-op.
 */
export function assignEpoch(cache: readonly EpochEntry[], epoch: number, startOffset: bigint): EpochEntry[] {
  const last = cache[cache.length - 1];
  if (last !== undefined && last.epoch === epoch) return [...cache];
  assert(last === undefined || (epoch > last.epoch && startOffset >= last.startOffset), () => `epoch ${epoch} at ${startOffset} after epoch ${last?.epoch} at ${last?.startOffset}`);
  // An earlier epoch starting at the same offset never wrote anything: the new one replaces it.
  const kept = last !== undefined && last.startOffset === startOffset ? cache.slice(0, -1) : [...cache];
  kept.push({ epoch, startOffset });
  return kept;
}

/** Forget epochs that start at or after `offset` (the log was truncated there). */
export function truncateEpochsFromEnd(cache: readonly EpochEntry[], offset: bigint): EpochEntry[] {
  return cache.filter((entry) => entry.startOffset < offset);
}

/**
 * The largest epoch ≤ `requestedEpoch` and where it ends: the start of the next epoch, or the log
 * end for the latest. UNDEFINED when no epoch that old is known (then only the high watermark is
 * known to be shared).
 */
export function endOffsetForEpoch(cache: readonly EpochEntry[], requestedEpoch: number, logEndOffset: bigint): EpochEndOffset {
  for (let index = cache.length - 1; index >= 0; index--) {
    const entry = cache[index]!;
    if (entry.epoch > requestedEpoch) continue;
    const next = cache[index + 1];
    return { epoch: entry.epoch, endOffset: next === undefined ? logEndOffset : next.startOffset };
  }
  return UNDEFINED_EPOCH_OFFSET;
}

export type FollowerPositionCheck = { readonly kind: "valid" } | { readonly kind: "diverging"; readonly divergingEpoch: EpochEndOffset };

/**
 * The leader's check of a follower fetch (KIP-320): the follower's log matches the leader's below
 * fetchOffset exactly when the leader's `lastFetchedEpoch` ends at or after fetchOffset. Only a
 * valid fetch offset may count as the follower's log end offset.
 */
export function checkFollowerPosition(leaderCache: readonly EpochEntry[], leaderLogEndOffset: bigint, fetchOffset: bigint, lastFetchedEpoch: number): FollowerPositionCheck {
  if (fetchOffset === 0n) return { kind: "valid" };
  const end = endOffsetForEpoch(leaderCache, lastFetchedEpoch, leaderLogEndOffset);
  if (end.epoch === lastFetchedEpoch && end.endOffset >= fetchOffset) return { kind: "valid" };
  return { kind: "diverging", divergingEpoch: end };
}

/**
 * Where a follower truncates on a divergingEpoch answer: the smaller of the leader's end of that
 * epoch and its own end of the largest epoch ≤ it; when the leader knows no such epoch, its own
 * high watermark (the part known committed). Never below the high watermark: everything below it
 * is committed, hence on the leader too — a lower answer means a broken invariant, unless
 * `uncleanAllowed` (the topic's unclean.leader.election.enable: a leader from outside the ISR).
 */
export function followerTruncationOffset(ownCache: readonly EpochEntry[], ownLogEndOffset: bigint, diverging: EpochEndOffset, highWatermark: bigint, uncleanAllowed = false): bigint {
  let offset = highWatermark;
  if (diverging.epoch >= 0) {
    const own = endOffsetForEpoch(ownCache, diverging.epoch, ownLogEndOffset);
    if (own.epoch >= 0) offset = own.endOffset < diverging.endOffset ? own.endOffset : diverging.endOffset;
  }
  // After an unclean election (only allowed by unclean.leader.election.enable) the leader may lack
  // committed records: the follower follows it below its high watermark, and those records are lost.
  assert(uncleanAllowed || offset >= highWatermark, () => `truncation to ${offset} is below the high watermark ${highWatermark}`);
  return offset < ownLogEndOffset ? offset : ownLogEndOffset;
}
