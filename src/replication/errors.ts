// NOT_LEADER_OR_FOLLOWER with what this node knows of the current leader, so that Produce and
// Fetch can answer KIP-951's leader hints (currentLeader, nodeEndpoints) and clients skip a
// metadata round trip.

import { ErrorCode, KafkaError } from "../protocol/errors.ts";

export class NotLeaderOrFollowerError extends KafkaError {
  constructor(
    topic: string,
    partition: number,
    /** The leader in this node's metadata image, -1 when none. */
    readonly leaderId: number,
    readonly leaderEpoch: number,
  ) {
    super(ErrorCode.NOT_LEADER_OR_FOLLOWER, `this node does not lead ${topic}-${partition} (leader ${leaderId}, epoch ${leaderEpoch})`);
  }
}
