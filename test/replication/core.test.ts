// The pure partition-replication rules (src/replication/core/), each on small hand-made states:
// the leader-epoch cache and divergence, the high watermark over the maximal ISR, ISR shrink and
// expand proposals, acks, leader choice and the unclean-restart rule.

import { describe, expect, test } from "bun:test";
import { ErrorCode } from "../../src/protocol/errors.ts";
import type { EpochEntry, FollowerProgress } from "../../src/replication/core/index.ts";
import {
  ackOutcome, assignEpoch, checkBeforeAppend, checkFollowerPosition, chooseLeader, endOffsetForEpoch, followerHighWatermark, followersToAdd,
  followerTruncationOffset, initialProgress, isrWithout, laggingIsrMembers, leaderHighWatermark, maximalIsr, NO_BROKER, progressAfterFetch,
  truncateEpochsFromEnd, UNDEFINED_EPOCH_OFFSET,
} from "../../src/replication/core/index.ts";
import { AssertionError } from "../../src/util/assert.ts";

// epoch 3 from 0, epoch 5 from 40, epoch 6 from 75; log end 90.
const cache: EpochEntry[] = [{ epoch: 3, startOffset: 0n }, { epoch: 5, startOffset: 40n }, { epoch: 6, startOffset: 75n }];

describe("leader-epoch cache", () => {
  test("end offset of an epoch: the largest known epoch at or below it, ending where the next begins", () => {
    expect(endOffsetForEpoch(cache, 3, 90n)).toEqual({ epoch: 3, endOffset: 40n });
    expect(endOffsetForEpoch(cache, 4, 90n)).toEqual({ epoch: 3, endOffset: 40n });
    expect(endOffsetForEpoch(cache, 6, 90n)).toEqual({ epoch: 6, endOffset: 90n });
    expect(endOffsetForEpoch(cache, 9, 90n)).toEqual({ epoch: 6, endOffset: 90n });
    expect(endOffsetForEpoch(cache, 2, 90n)).toEqual(UNDEFINED_EPOCH_OFFSET);
    expect(endOffsetForEpoch([], 2, 0n)).toEqual(UNDEFINED_EPOCH_OFFSET);
  });

  test("epochs only grow; an epoch that wrote nothing is replaced by the next at the same offset; truncation forgets", () => {
    expect(assignEpoch(cache, 6, 80n)).toEqual(cache);
    expect(assignEpoch(cache, 7, 90n).at(-1)).toEqual({ epoch: 7, startOffset: 90n });
    expect(assignEpoch([{ epoch: 7, startOffset: 90n }], 8, 90n)).toEqual([{ epoch: 8, startOffset: 90n }]);
    expect(() => assignEpoch(cache, 4, 95n)).toThrow(AssertionError);
    expect(() => assignEpoch(cache, 7, 70n)).toThrow(AssertionError);
    expect(truncateEpochsFromEnd(cache, 75n)).toEqual(cache.slice(0, 2));
    expect(truncateEpochsFromEnd(cache, 41n)).toEqual(cache.slice(0, 2));
  });

  test("a follower's fetch position is valid exactly when the leader's log matches below it", () => {
    expect(checkFollowerPosition(cache, 90n, 0n, -1)).toEqual({ kind: "valid" });
    expect(checkFollowerPosition(cache, 90n, 60n, 5)).toEqual({ kind: "valid" });
    expect(checkFollowerPosition(cache, 90n, 75n, 5)).toEqual({ kind: "valid" });
    // The follower has epoch 5 up to 80: the leader's epoch 5 ended at 75.
    expect(checkFollowerPosition(cache, 90n, 80n, 5)).toEqual({ kind: "diverging", divergingEpoch: { epoch: 5, endOffset: 75n } });
    // The follower wrote in epoch 4, which the leader never had.
    expect(checkFollowerPosition(cache, 90n, 45n, 4)).toEqual({ kind: "diverging", divergingEpoch: { epoch: 3, endOffset: 40n } });
    // Beyond the leader's end in the leader's own epoch.
    expect(checkFollowerPosition(cache, 90n, 95n, 6)).toEqual({ kind: "diverging", divergingEpoch: { epoch: 6, endOffset: 90n } });
  });

  test("a follower truncates to the end of the shared epoch, and never below its high watermark", () => {
    const follower: EpochEntry[] = [{ epoch: 3, startOffset: 0n }, { epoch: 4, startOffset: 38n }];
    expect(followerTruncationOffset(follower, 50n, { epoch: 3, endOffset: 40n }, 10n)).toBe(38n);
    expect(followerTruncationOffset(cache, 80n, { epoch: 5, endOffset: 75n }, 60n)).toBe(75n);
    expect(followerTruncationOffset(follower, 50n, UNDEFINED_EPOCH_OFFSET, 20n)).toBe(20n);
    expect(() => followerTruncationOffset(follower, 50n, { epoch: 3, endOffset: 40n }, 39n)).toThrow(AssertionError);
    // Only unclean.leader.election.enable lets a follower go below its high watermark (records lost).
    expect(followerTruncationOffset(follower, 50n, { epoch: 3, endOffset: 40n }, 39n, true)).toBe(38n);
  });
});

describe("high watermark", () => {
  const base = { leaderId: 1, current: 10n, leaderEndOffset: 30n, isr: [1, 2, 3], pendingAdditions: [] as number[] };

  test("is the smallest log end over the ISR, never moving back", () => {
    expect(leaderHighWatermark({ ...base, followerEnds: new Map([[2, 25n], [3, 17n]]) })).toBe(17n);
    expect(leaderHighWatermark({ ...base, followerEnds: new Map([[2, 25n], [3, 5n]]) })).toBe(10n);
    // A new leader that does not yet know a member's offset does not move it.
    expect(leaderHighWatermark({ ...base, followerEnds: new Map([[2, 25n]]) })).toBe(10n);
    // The leader's own end as counted (its durable end under flush.messages=1) bounds it too.
    expect(leaderHighWatermark({ ...base, leaderEndOffset: 12n, followerEnds: new Map([[2, 25n], [3, 20n]]) })).toBe(12n);
  });

  test("counts a member whose addition is pending at the controller (the maximal ISR)", () => {
    expect(maximalIsr([1, 2], [3, 2])).toEqual([1, 2, 3]);
    const ends = new Map([[2, 25n], [3, 14n]]);
    expect(leaderHighWatermark({ ...base, isr: [1, 2], pendingAdditions: [3], followerEnds: ends })).toBe(14n);
    expect(leaderHighWatermark({ ...base, isr: [1, 2], followerEnds: ends })).toBe(25n);
    expect(leaderHighWatermark({ ...base, isr: [1, 2], pendingAdditions: [3], followerEnds: ends, bugs: { expandWithoutMaximalIsr: true } })).toBe(25n);
  });

  test("a follower's is the leader's, capped by its own log end", () => {
    expect(followerHighWatermark(5n, 20n, 12n)).toBe(12n);
    expect(followerHighWatermark(5n, 8n, 12n)).toBe(8n);
    expect(followerHighWatermark(9n, 8n, 12n)).toBe(9n);
  });
});

describe("ISR changes", () => {
  const progress = (entries: [number, Partial<FollowerProgress>][]) => new Map(entries.map(([id, fields]) => [id, { ...initialProgress(true, 0), ...fields }]));

  test("caught-up time: now when at the leader's end, the previous fetch's time when past what the leader had then", () => {
    let follower = initialProgress(false, 0);
    follower = progressAfterFetch(follower, 10n, 20n, 100);
    expect(follower.lastCaughtUpTimeMs).toBe(Number.NEGATIVE_INFINITY);
    follower = progressAfterFetch(follower, 20n, 30n, 200); // has all the leader had at 100
    expect(follower.lastCaughtUpTimeMs).toBe(100);
    follower = progressAfterFetch(follower, 30n, 30n, 300);
    expect(follower.lastCaughtUpTimeMs).toBe(300);
    expect(follower.logEndOffset).toBe(30n);
    expect(progressAfterFetch(follower, 25n, 30n, 310).logEndOffset).toBe(30n); // a late duplicate moves nothing back
  });

  test("members not caught up for replica.lag.time.max.ms are proposed out; the leader never", () => {
    const followers = progress([[2, { lastCaughtUpTimeMs: 900 }], [3, { lastCaughtUpTimeMs: 500 }]]);
    expect(laggingIsrMembers(1, [1, 2, 3], followers, 1000, 400)).toEqual([3]);
    expect(laggingIsrMembers(1, [1, 2, 3], followers, 1000, 600)).toEqual([]);
    expect(laggingIsrMembers(1, [1, 4], followers, 1000, 600)).toEqual([4]); // never fetched
  });

  test("followers at the high watermark, in the current leader epoch, and eligible are proposed in", () => {
    const input = {
      leaderId: 1, replicas: [1, 2, 3, 4], isr: [1], highWatermark: 50n, leaderEpochStartOffset: 60n, isEligible: (id: number) => id !== 4,
      progress: progress([[2, { logEndOffset: 60n }], [3, { logEndOffset: 55n }], [4, { logEndOffset: 70n }]]),
    };
    expect(followersToAdd(input)).toEqual([2]); // 3 has not reached this epoch's start; 4 is fenced
    expect(followersToAdd({ ...input, leaderEpochStartOffset: 40n })).toEqual([2, 3]);
    expect(followersToAdd({ ...input, highWatermark: 58n, leaderEpochStartOffset: 40n })).toEqual([2]);
  });
});

describe("acks", () => {
  const now = { isLeader: true, leaderEpoch: 4, highWatermark: 20n, isrSize: 2, minInsyncReplicas: 2 };

  test("acks=all refuses up front when the ISR is below min.insync.replicas; acks=1 never", () => {
    expect(checkBeforeAppend(-1, 1, 2)).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
    expect(checkBeforeAppend(-1, 2, 2)).toBe(ErrorCode.NONE);
    expect(checkBeforeAppend(1, 1, 2)).toBe(ErrorCode.NONE);
  });

  test("acks=all answers once the high watermark passes the batch, in the same leader epoch", () => {
    expect(ackOutcome({ requiredOffset: 21n, leaderEpoch: 4 }, now)).toBe("wait");
    expect(ackOutcome({ requiredOffset: 20n, leaderEpoch: 4 }, now)).toBe(ErrorCode.NONE);
    expect(ackOutcome({ requiredOffset: 20n, leaderEpoch: 4 }, { ...now, isrSize: 1 })).toBe(ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    expect(ackOutcome({ requiredOffset: 20n, leaderEpoch: 3 }, now)).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(ackOutcome({ requiredOffset: 20n, leaderEpoch: 4 }, { ...now, isLeader: false })).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });
});

describe("leaders and the ISR when a broker goes away", () => {
  test("the first replica in assignment order that is in the ISR and eligible leads", () => {
    expect(chooseLeader([3, 1, 2], [1, 2], () => true)).toEqual({ leader: 1, unclean: false });
    expect(chooseLeader([3, 1, 2], [1, 2, 3], (id) => id !== 3)).toEqual({ leader: 1, unclean: false });
    expect(chooseLeader([3, 1, 2], [3], (id) => id !== 3)).toEqual({ leader: NO_BROKER, unclean: false });
    expect(chooseLeader([3, 1, 2], [3], (id) => id !== 3, true)).toEqual({ leader: 1, unclean: true });
  });

  test("a broker leaves the ISR unless it is the last member", () => {
    expect(isrWithout([1, 2, 3], 2)).toEqual([1, 3]);
    expect(isrWithout([2], 2)).toEqual([2]);
    expect(isrWithout([1, 3], 2)).toEqual([1, 3]);
  });
});
