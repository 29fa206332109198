// When a partition leader asks the controller to change the ISR (AlterPartition): shrink members
// that have not caught up for replica.lag.time.max.ms; expand with followers that reached the high
// watermark in the current leader epoch. The controller decides; these only propose.

import type { FollowerProgress } from "./follower-progress.ts";
import type { BrokerId, ReplicationBugs } from "./types.ts";

/** ISR members (not the leader) whose last caught-up time is older than the lag limit. */
export function laggingIsrMembers(leaderId: BrokerId, isr: readonly BrokerId[], progress: ReadonlyMap<BrokerId, FollowerProgress>, nowMs: number, lagTimeMaxMs: number): BrokerId[] {
  return isr.filter((id) => {
    if (id === leaderId) return false;
    const follower = progress.get(id);
    return follower === undefined || nowMs - follower.lastCaughtUpTimeMs > lagTimeMaxMs;
  });
}

export interface ExpandInput {
  readonly leaderId: BrokerId;
  readonly replicas: readonly BrokerId[];
  readonly isr: readonly BrokerId[];
  readonly progress: ReadonlyMap<BrokerId, FollowerProgress>;
  readonly highWatermark: bigint;
  /** First offset of the leader's current epoch: a follower must have reached it. */
  readonly leaderEpochStartOffset: bigint;
  /** Whether the broker may join an ISR (unfenced, not shutting down, caught up with metadata). */
  readonly isEligible: (id: BrokerId) => boolean;
  readonly bugs?: ReplicationBugs;
}

/**
 * Replicas outside the ISR that now hold everything committed and have fetched in this epoch: each
 * may be added (Kafka: follower LEO ≥ HW and ≥ the leader epoch's start offset).
 */
export function followersToAdd(input: ExpandInput): BrokerId[] {
  return input.replicas.filter((id) => {
    if (id === input.leaderId || input.isr.includes(id) || !input.isEligible(id)) return false;
    const follower = input.progress.get(id);
    if (follower === undefined || follower.logEndOffset < 0n) return false;
    if (input.bugs?.expandBelowHighWatermark) return true;
    return follower.logEndOffset >= input.highWatermark && follower.logEndOffset >= input.leaderEpochStartOffset;
  });
}
