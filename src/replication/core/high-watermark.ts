// The high watermark of a partition: the committed offset. On the leader it is the smallest log end
// offset over the *maximal* ISR — the current ISR plus members the leader asked the controller to
// add — because a member added by the controller may be elected at once and must hold everything
// below the high watermark. It never moves back.
//
//   follower A LEO ──┐   follower B LEO ─────┐   leader LEO ──┐
//   0 ........... 17 │ .................. 23 │ .......... 25  │
//                    └ high watermark = 17 (min over the maximal ISR)

import { assert } from "../../util/assert.ts";
import type { BrokerId, ReplicationBugs } from "./types.ts";

/** The current ISR plus the members whose addition is pending at the controller. */
export function maximalIsr(isr: readonly BrokerId[], pendingAdditions: readonly BrokerId[]): BrokerId[] {
  return [...new Set([...isr, ...pendingAdditions])];
}

export interface LeaderHighWatermarkInput {
  readonly leaderId: BrokerId;
  /** The high watermark so far. */
  readonly current: bigint;
  /** The leader's own log end offset as counted: its durable end when flush.messages=1. */
  readonly leaderEndOffset: bigint;
  readonly isr: readonly BrokerId[];
  readonly pendingAdditions: readonly BrokerId[];
  /** Each follower's valid log end offset in this leader epoch (-1 or absent: unknown). */
  readonly followerEnds: ReadonlyMap<BrokerId, bigint>;
  readonly bugs?: ReplicationBugs;
}

/** The new high watermark: min over the maximal ISR, never below the current one. */
export function leaderHighWatermark(input: LeaderHighWatermarkInput): bigint {
  assert(input.isr.includes(input.leaderId), "the leader is in its ISR");
  const members = input.bugs?.expandWithoutMaximalIsr ? input.isr : maximalIsr(input.isr, input.pendingAdditions);
  const ends = members.map((id) => (id === input.leaderId ? input.leaderEndOffset : input.followerEnds.get(id) ?? -1n));
  const candidate = input.bugs?.hwPastLaggingIsr ? majorityOf(ends) : minimumOf(ends);
  return candidate > input.current ? candidate : input.current;
}

/** A follower's high watermark: the leader's, but never past what it holds itself. */
export function followerHighWatermark(current: bigint, leaderHighWatermarkValue: bigint, ownLogEndOffset: bigint): bigint {
  const candidate = leaderHighWatermarkValue < ownLogEndOffset ? leaderHighWatermarkValue : ownLogEndOffset;
  return candidate > current ? candidate : current;
}

function minimumOf(values: readonly bigint[]): bigint {
  return values.reduce((low, value) => (value < low ? value : low));
}

/** The planted bug's rule: what a majority holds (a quorum rule wrongly applied to the ISR). */
function majorityOf(values: readonly bigint[]): bigint {
  const sorted = [...values].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
  return sorted[Math.floor(sorted.length / 2)]!;
}
