// Pure rules of the Raft core, kept apart from its state so each can be read (and tested) alone.

import type { RaftLog } from "./log.ts";
import type { DivergingEpoch } from "./messages.ts";
import type { NodeId } from "./types.ts";

/** Smallest number of voters that is a majority. */
export function majorityOf(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * Raft's election restriction: a vote goes only to a candidate whose log is at least as up to date
 * as the voter's (compare the last entry's epoch, then the end offset). This is what makes every
 * leader hold every committed entry.
 */
export function candidateLogIsUpToDate(candidateLastEpoch: number, candidateEndOffset: bigint, ownLastEpoch: number, ownEndOffset: bigint): boolean {
  if (candidateLastEpoch !== ownLastEpoch) return candidateLastEpoch > ownLastEpoch;
  return candidateEndOffset >= ownEndOffset;
}

export type FetchPositionCheck =
  | { kind: "valid" }
  | { kind: "diverging"; divergingEpoch: DivergingEpoch }
  | { kind: "snapshot" };

/**
 * The leader's check of a fetcher's position (KIP-595, as KIP-320 for partitions): the fetcher's
 * log matches the leader's below fetchOffset exactly when the leader's `lastFetchedEpoch` ends at
 * or after fetchOffset. Otherwise the answer is the end of the largest epoch both may share, where
 * the fetcher truncates; below the leader's log start only a snapshot can answer.
 */
export function checkFetchPosition(log: RaftLog, fetchOffset: bigint, lastFetchedEpoch: number): FetchPositionCheck {
  if (fetchOffset < log.startOffset) return { kind: "snapshot" };
  if (fetchOffset === 0n) return { kind: "valid" };
  const end = log.endOffsetForEpoch(lastFetchedEpoch);
  if (end === null) return { kind: "snapshot" };
  if (end.epoch === lastFetchedEpoch && end.endOffset >= fetchOffset) return { kind: "valid" };
  return { kind: "diverging", divergingEpoch: end };
}

/**
 * Where a follower truncates on a divergingEpoch answer: the smaller of the leader's end of that
 * epoch and its own end of the largest epoch ≤ it. Everything below is the same in both logs.
 */
export function followerTruncationOffset(log: RaftLog, diverging: DivergingEpoch): bigint {
  // An epoch older than the follower's snapshot: everything from the log start on is newer, and
  // the snapshot itself is committed, so the shared prefix ends at the log start at the latest.
  const own = log.endOffsetForEpoch(diverging.epoch);
  const ownEnd = own === null ? log.startOffset : own.endOffset;
  return ownEnd < diverging.endOffset ? ownEnd : diverging.endOffset;
}

/**
 * The k-th largest of the voters' replicated end offsets (k = majority): the offset below which a
 * majority holds every entry. Unknown ends count as -1.
 */
export function majorityEndOffset(ends: readonly bigint[], voterCount: number): bigint {
  const sorted = [...ends].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
  return sorted[majorityOf(voterCount) - 1] ?? -1n;
}

/** A random wait in [base, base + spread) from the injected source (random() in [0, 1)). */
export function randomDelay(random: () => number, baseMs: number, spreadMs: number): number {
  return baseMs + Math.floor(random() * spreadMs);
}

/** Voters other than this node, in the configured order. */
export function otherVoters(voters: readonly NodeId[], self: NodeId): NodeId[] {
  return voters.filter((voter) => voter !== self);
}
