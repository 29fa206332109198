// Writing a transaction's markers (Kafka's WriteTxnMarkers, in-process on this node): one COMMIT or
// ABORT control batch, with the producer's id and (possibly bumped) epoch, appended as the
// coordinator to the leader of every partition of the transaction, acks=all. A marker that reaches
// a __consumer_offsets partition also ends the transaction's pending offsets of its groups.
//
// Not yet: partitions led by another node (the WriteTxnMarkers API over the internal listener) —
// their marker fails with NOT_LEADER_OR_FOLLOWER and the coordinator retries it later.

import { OFFSETS_TOPIC, offsetsPartitionFor, type GroupCoordinator } from "../groups/index.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { ControlType, buildMarkerBatch } from "../protocol/record-batch.ts";
import type { ReplicaManager } from "../replication/replica-manager.ts";
import type { MarkerWriter } from "./coordinator.ts";
import type { TopicPartition } from "./state.ts";

export class LocalMarkerWriter implements MarkerWriter {
  constructor(
    private readonly replicas: ReplicaManager,
    private readonly groups: () => { coordinator: GroupCoordinator; offsetsPartitionCount: number | undefined } | undefined,
    private readonly writeTimeoutMs: number,
    /** Coordinator epoch written into markers (the leader epoch of the state partition; 0 on one node). */
    private readonly coordinatorEpoch = 0,
  ) {}

  async write(producerId: bigint, producerEpoch: number, committed: boolean, partitions: TopicPartition[]): Promise<void> {
    const results = await Promise.allSettled(partitions.map((tp) => this.writeOne(producerId, producerEpoch, committed, tp)));
    const failure = results.find((result) => result.status === "rejected");
    if (failure) throw failure.reason;
  }

  private async writeOne(producerId: bigint, producerEpoch: number, committed: boolean, tp: TopicPartition): Promise<void> {
    let leader;
    try {
      leader = this.replicas.leaderPartition(tp.topic, tp.partition);
    } catch (error) {
      // A partition deleted since it joined the transaction has nothing to mark.
      if (error instanceof KafkaError && error.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) return;
      throw error;
    }
    const marker = buildMarkerBatch({
      producerId,
      producerEpoch,
      type: committed ? ControlType.commit : ControlType.abort,
      coordinatorEpoch: this.coordinatorEpoch,
      timestampMs: Date.now(),
    });
    await leader.appendRecordsToLeader(marker, { requiredAcks: -1, timeoutMs: this.writeTimeoutMs, origin: "coordinator" });
    if (tp.topic === OFFSETS_TOPIC) {
      const groups = this.groups();
      const count = groups?.offsetsPartitionCount;
      if (groups && count !== undefined) {
        groups.coordinator.completeTransaction(producerId, committed, (groupId) => offsetsPartitionFor(groupId, count) === tp.partition);
      }
    }
  }
}
