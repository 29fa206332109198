// Why a partition cannot be served by this node, as Kafka answers it: UNKNOWN_TOPIC_OR_PARTITION
// (not in the metadata image), NOT_LEADER_OR_FOLLOWER (led elsewhere, no leader, or its log still
// recovering at start: all retriable), KAFKA_STORAGE_ERROR (its log failed to recover). Produce
// answers these without an error message, as it always has. NOT_LEADER_OR_FOLLOWER carries what this
// node knows of the current leader, so that Produce and Fetch can answer KIP-951's leader hints
// (currentLeader, nodeEndpoints) and clients skip a metadata round trip.

import { ErrorCode, KafkaError } from "../protocol/errors.ts";

export class PartitionUnavailable extends KafkaError {
  constructor(code: number, topic: string, partition: number, detail?: string) {
    super(code, detail ?? (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ? `topic '${topic}' has no partition ${partition}` : `partition ${topic}-${partition} is not available`));
    this.name = "PartitionUnavailable";
  }
}

export class NotLeaderOrFollowerError extends PartitionUnavailable {
  constructor(
    topic: string,
    partition: number,
    /** The leader in this node's metadata image, -1 when none. */
    readonly leaderId: number,
    readonly leaderEpoch: number,
  ) {
    super(ErrorCode.NOT_LEADER_OR_FOLLOWER, topic, partition, `this node does not lead ${topic}-${partition} (leader ${leaderId}, epoch ${leaderEpoch})`);
    this.name = "NotLeaderOrFollowerError";
  }
}
