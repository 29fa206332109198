// The produce acknowledgement rules (Kafka's): acks=1 answers after the leader's append; acks=all
// (-1) first requires |ISR| ≥ min.insync.replicas, then answers once the high watermark passes the
// batch, with NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR shrank below the minimum meanwhile.

import { ErrorCode } from "../../protocol/errors.ts";
import type { ReplicationBugs } from "./types.ts";

export type Acks = 0 | 1 | -1;

/** Before appending: NONE, or NOT_ENOUGH_REPLICAS (acks=all with too small an ISR; nothing appended). */
export function checkBeforeAppend(acks: Acks, isrSize: number, minInsyncReplicas: number): number {
  if (acks === -1 && isrSize < minInsyncReplicas) return ErrorCode.NOT_ENOUGH_REPLICAS;
  return ErrorCode.NONE;
}

export interface PendingAck {
  /** Offset one past the batch's last record: the high watermark must reach it. */
  readonly requiredOffset: bigint;
  /** The leader epoch the batch was appended in. */
  readonly leaderEpoch: number;
}

export interface PartitionNow {
  readonly isLeader: boolean;
  readonly leaderEpoch: number;
  readonly highWatermark: bigint;
  readonly isrSize: number;
  readonly minInsyncReplicas: number;
}

/**
 * For an acks=all batch waiting on the leader: "wait", or the error code to answer with (NONE when
 * it is committed). A leader that lost leadership — even if it regained it in a newer epoch, when
 * the batch may have been truncated — answers NOT_LEADER_OR_FOLLOWER.
 */
export function ackOutcome(pending: PendingAck, now: PartitionNow, bugs?: ReplicationBugs): number | "wait" {
  if (!now.isLeader || now.leaderEpoch !== pending.leaderEpoch) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  if (bugs?.ackBeforeHighWatermark) return ErrorCode.NONE;
  if (now.highWatermark < pending.requiredOffset) return "wait";
  return now.isrSize < now.minInsyncReplicas ? ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND : ErrorCode.NONE;
}
