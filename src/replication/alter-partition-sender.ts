// How a partition leader proposes a new ISR (docs/replication.md §3, §5): Kafka's AlterPartition
// (56) to the active controller. The Partition's leader role calls `send` when a follower falls
// out of sync (shrink) or catches up (expand); the controller checks the epochs, applies
// controller/partition-change.ts's rules and answers with the partition's new registration once
// it is committed. On one node the controller is in this process (LocalAlterPartitionSender); in a
// cluster it is an RPC over the internal listener to the active controller, retried on
// NOT_CONTROLLER after a leader change (node/ wires the remote one).
//
// The answer's error is Kafka's per-partition error: NONE with the new registration;
// FENCED_LEADER_EPOCH (the sender's leader epoch is older), NOT_LEADER_OR_FOLLOWER (the sender
// does not lead in that epoch), INVALID_UPDATE_VERSION (partition epoch differs: the registration
// moved on, wait for the image), INELIGIBLE_REPLICA (a joiner is fenced or shutting down),
// INVALID_REQUEST (an ISR not within the replicas or without the leader), UNKNOWN_TOPIC_ID,
// UNKNOWN_TOPIC_OR_PARTITION, and the retriable NOT_CONTROLLER / REQUEST_TIMED_OUT when no
// controller answered (the proposal may still have been committed: keep the addition pending
// until a registration with a newer partition epoch arrives, §5).

import { ErrorCode, type ErrorCodeValue } from "../protocol/errors.ts";

export interface AlterPartitionRequest {
  /** Kafka text form of the topic's UUID. */
  topicId: string;
  partition: number;
  leaderEpoch: number;
  partitionEpoch: number;
  newIsr: number[];
}

export interface AlterPartitionResult {
  error: ErrorCodeValue;
  /** The registration after the change (present when error is NONE). */
  partition?: { leader: number; leaderEpoch: number; isr: number[]; partitionEpoch: number };
}

export interface AlterPartitionSender {
  /** Never rejects: failures come back as an error code. */
  send(request: AlterPartitionRequest): Promise<AlterPartitionResult>;
}

/** What the controller side offers (QuorumController.alterPartition through ClusterAdmin or RPC). */
export type AlterPartitionHandler = (brokerId: number, request: AlterPartitionRequest) => Promise<AlterPartitionResult>;

/** Sends as broker `brokerId` through `handler`, turning a thrown error into its code. */
export class HandlerAlterPartitionSender implements AlterPartitionSender {
  constructor(
    private readonly brokerId: number,
    private readonly handler: AlterPartitionHandler,
  ) {}

  async send(request: AlterPartitionRequest): Promise<AlterPartitionResult> {
    try {
      return await this.handler(this.brokerId, request);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      return { error: typeof code === "number" ? (code as ErrorCodeValue) : ErrorCode.UNKNOWN_SERVER_ERROR };
    }
  }
}

/** The controller side as ClusterAdmin offers it (kept structural so replication/ needs no cluster/ class). */
export interface AlterPartitionAdmin {
  alterPartition(operation: { brokerId: number; topicId: string; partition: number; leaderEpoch: number; partitionEpoch: number; newIsr: readonly number[] }):
    Promise<{ errorCode: number; registration?: { leader: number; leaderEpoch: number; isr: number[]; partitionEpoch: number } }>;
}

/** One sender for one node and many: ClusterAdmin reaches the active controller wherever it runs. */
export function adminAlterPartitionSender(brokerId: number, admin: AlterPartitionAdmin): AlterPartitionSender {
  return new HandlerAlterPartitionSender(brokerId, async (sender, request) => {
    const answer = await admin.alterPartition({ brokerId: sender, ...request });
    const result: AlterPartitionResult = { error: answer.errorCode as ErrorCodeValue };
    if (answer.registration) result.partition = answer.registration;
    return result;
  });
}
