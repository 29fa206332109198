// Plain types of the partition-replication rules (docs/replication.md §5). Offsets are bigint as in
// storage/; broker ids and epochs are int32 numbers.

export type BrokerId = number;

/** Kafka's "no leader" / "unknown" broker id. */
export const NO_BROKER: BrokerId = -1;

/** One line of the leader-epoch cache (`leader-epoch-checkpoint`): an epoch and its first offset. */
export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: bigint;
}

/** Kafka's OffsetForLeaderEpoch answer; UNDEFINED_EPOCH_OFFSET when the epoch is not known. */
export interface EpochEndOffset {
  readonly epoch: number;
  readonly endOffset: bigint;
}

export const UNDEFINED_EPOCH_OFFSET: EpochEndOffset = { epoch: -1, endOffset: -1n };

/**
 * Deliberately planted bugs, used only by the simulator's tests to show that it catches them; never
 * set outside test/simulation.
 */
export interface ReplicationBugs {
  /** The high watermark follows a majority of the ISR instead of every member. */
  readonly hwPastLaggingIsr?: boolean;
  /** A member being added to the ISR is not counted toward the high watermark until confirmed. */
  readonly expandWithoutMaximalIsr?: boolean;
  /** acks=all answered once the leader appended, without waiting for the high watermark. */
  readonly ackBeforeHighWatermark?: boolean;
  /** Expand the ISR with a follower that has not reached the high watermark. */
  readonly expandBelowHighWatermark?: boolean;
}
