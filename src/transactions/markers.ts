// Writing a transaction's markers (Kafka's TransactionMarkerChannelManager): one COMMIT or ABORT
// control batch, with the producer's id and (possibly bumped) epoch and the coordinator epoch (the
// leader epoch of the id's __transaction_state partition), on the leader of every partition of the
// transaction, acks=all. Partitions this node leads get theirs appended directly (LocalMarkers);
// the others through WriteTxnMarkers (API 27) sent to their leader over the internal listener,
// grouped per leader. A partition whose marker failed (no leader, leader moved, peer unreachable,
// NOT_ENOUGH_REPLICAS) is tried again after a backoff (doubling up to a cap), its leader looked up
// again in the newest metadata image, until every partition has its marker — or until this node no
// longer coordinates the id (then NOT_COORDINATOR: the new coordinator replays the PrepareCommit /
// PrepareAbort record and writes the markers itself). A partition deleted meanwhile has nothing to
// mark. A marker that reaches a __consumer_offsets partition also ends the transaction's pending
// offsets of its groups (on the node leading that partition).

import type { PeerConnections } from "../client/peer-connections.ts";
import type { MetadataImage } from "../cluster/image.ts";
import { OFFSETS_TOPIC, offsetsPartitionFor, type GroupCoordinator } from "../groups/index.ts";
import { ErrorCode, KafkaError, errorCodeOf, errorName } from "../protocol/errors.ts";
import { WriteTxnMarkersApi } from "../protocol/generated/write-txn-markers.ts";
import { ControlType, buildMarkerBatch } from "../protocol/record-batch.ts";
import type { ReplicaManager } from "../replication/replica-manager.ts";
import { createLogger } from "../util/logger.ts";
import type { MarkerWriter } from "./coordinator.ts";
import { partitionsByTopic, type TopicPartition } from "./state.ts";

const log = createLogger("transactions");
/** The internal-listener connection purpose of marker requests (one per peer, apart from replication). */
export const MARKER_PURPOSE = "txn-markers";
const WRITE_TXN_MARKERS_VERSION = 1;

export interface Marker {
  producerId: bigint;
  producerEpoch: number;
  committed: boolean;
  coordinatorEpoch: number;
}

/** Appends markers on the partitions this node leads (the coordinator's own, and WriteTxnMarkers' handler). */
export class LocalMarkers {
  constructor(
    private readonly replicas: ReplicaManager,
    private readonly groups: () => { coordinator: GroupCoordinator; offsetsPartitionCount: number | undefined } | undefined,
    private readonly writeTimeoutMs: number,
  ) {}

  /** Resolves once the marker is on every in-sync replica; throws NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION and the like. */
  async write(marker: Marker, tp: TopicPartition): Promise<void> {
    const leader = this.replicas.leaderPartition(tp.topic, tp.partition);
    const batch = buildMarkerBatch({
      producerId: marker.producerId,
      producerEpoch: marker.producerEpoch,
      type: marker.committed ? ControlType.commit : ControlType.abort,
      coordinatorEpoch: marker.coordinatorEpoch,
      timestampMs: Date.now(),
    });
    await leader.appendRecordsToLeader(batch, { requiredAcks: -1, timeoutMs: this.writeTimeoutMs, origin: "coordinator" });
    if (tp.topic === OFFSETS_TOPIC) {
      const groups = this.groups();
      const count = groups?.offsetsPartitionCount;
      if (groups && count !== undefined) {
        groups.coordinator.completeTransaction(marker.producerId, marker.committed, (groupId) => offsetsPartitionFor(groupId, count) === tp.partition);
      }
    }
  }
}

export interface ClusterMarkerWriterOptions {
  nodeId: number;
  local: LocalMarkers;
  metadata: () => MetadataImage;
  /** Connections to the other nodes' internal listeners; null on one node. */
  peers: PeerConnections | null;
  /** The coordinator epoch of an id: the leader epoch of its __transaction_state partition here. */
  coordinatorEpochOf: (transactionalId: string) => number;
  /** Whether this node still coordinates the id (else the retries stop). */
  coordinates: (transactionalId: string) => boolean;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  requestTimeoutMs: number;
}

const key = (tp: TopicPartition) => `${tp.topic}\u0000${tp.partition}`;

export class ClusterMarkerWriter implements MarkerWriter {
  private closed = false;
  private readonly sleeping = new Set<() => void>();

  constructor(private readonly options: ClusterMarkerWriterOptions) {}

  close(): void {
    this.closed = true;
    for (const wake of [...this.sleeping]) wake();
  }

  async write(producerId: bigint, producerEpoch: number, committed: boolean, partitions: TopicPartition[], transactionalId: string): Promise<void> {
    const marker: Marker = { producerId, producerEpoch, committed, coordinatorEpoch: this.options.coordinatorEpochOf(transactionalId) };
    let pending = new Map(partitions.map((tp) => [key(tp), tp]));
    let backoffMs = this.options.retryBackoffMs;
    let attempts = 0;
    while (pending.size > 0) {
      if (this.closed) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, "the transaction coordinator is closing");
      if (!this.options.coordinates(transactionalId)) {
        throw new KafkaError(ErrorCode.NOT_COORDINATOR, `this node no longer coordinates ${transactionalId}; its new coordinator completes the markers`);
      }
      const failures = await this.attempt(marker, [...pending.values()]);
      attempts++;
      pending = new Map(failures.map((failure) => [key(failure.tp), failure.tp]));
      if (pending.size === 0) break;
      if (attempts === 1 || attempts % 20 === 0) {
        log.warn("transaction markers not written yet; retrying", {
          transactionalId, attempts, partitions: failures.map((failure) => `${failure.tp.topic}-${failure.tp.partition}: ${errorName(failure.errorCode)}`).join(", "),
        });
      }
      await this.sleep(backoffMs);
      backoffMs = Math.min(backoffMs * 2, this.options.retryBackoffMaxMs);
    }
  }

  /** One round: every pending partition to its current leader; returns the ones still without their marker. */
  private async attempt(marker: Marker, partitions: TopicPartition[]): Promise<{ tp: TopicPartition; errorCode: number }[]> {
    const image = this.options.metadata();
    const byLeader = new Map<number, TopicPartition[]>();
    const failures: { tp: TopicPartition; errorCode: number }[] = [];
    for (const tp of partitions) {
      const topic = image.topicsByName.get(tp.topic);
      if (!topic || tp.partition >= topic.partitions.length) continue; // deleted: nothing to mark
      const leader = topic.partitions[tp.partition]?.leader ?? -1;
      if (leader < 0) {
        failures.push({ tp, errorCode: ErrorCode.LEADER_NOT_AVAILABLE });
        continue;
      }
      let list = byLeader.get(leader);
      if (!list) byLeader.set(leader, (list = []));
      list.push(tp);
    }
    const rounds = [...byLeader].map(([leader, list]) =>
      leader === this.options.nodeId ? this.writeHere(marker, list) : this.writeThere(leader, marker, list));
    for (const result of await Promise.all(rounds)) failures.push(...result);
    return failures;
  }

  private async writeHere(marker: Marker, partitions: TopicPartition[]): Promise<{ tp: TopicPartition; errorCode: number }[]> {
    const results = await Promise.allSettled(partitions.map((tp) => this.options.local.write(marker, tp)));
    return results
      .map((result, index) => ({ tp: partitions[index]!, errorCode: result.status === "rejected" ? errorCodeOf(result.reason) : ErrorCode.NONE }))
      .filter((result) => !this.settled(result));
  }

  /**
   * Whether a partition's answer ends its retries: written; or refused for good — the partition
   * holds a newer epoch of the producer or a newer coordinator's marker (this coordinator was
   * fenced: Kafka stops sending too). Everything else (UNKNOWN_TOPIC_OR_PARTITION of a leader still
   * opening it, NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, timeouts) is tried again; a deleted
   * partition is recognised by its absence from the metadata image.
   */
  private settled(result: { tp: TopicPartition; errorCode: number }): boolean {
    if (result.errorCode === ErrorCode.NONE) return true;
    if (result.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH || result.errorCode === ErrorCode.TRANSACTION_COORDINATOR_FENCED) {
      log.warn("a transaction marker was refused for good; not retried", { topic: result.tp.topic, partition: result.tp.partition, error: errorName(result.errorCode) });
      return true;
    }
    return false;
  }

  private async writeThere(leader: number, marker: Marker, partitions: TopicPartition[]): Promise<{ tp: TopicPartition; errorCode: number }[]> {
    const peers = this.options.peers;
    if (peers === null) return partitions.map((tp) => ({ tp, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }));
    const topics = partitionsByTopic(partitions);
    let response;
    try {
      response = await peers.request(leader, MARKER_PURPOSE, WriteTxnMarkersApi, {
        markers: [{
          producerId: marker.producerId,
          producerEpoch: marker.producerEpoch,
          transactionResult: marker.committed,
          coordinatorEpoch: marker.coordinatorEpoch,
          topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
        }],
      }, { version: WRITE_TXN_MARKERS_VERSION, timeoutMs: this.options.requestTimeoutMs });
    } catch {
      return partitions.map((tp) => ({ tp, errorCode: ErrorCode.NETWORK_EXCEPTION }));
    }
    const answered = new Map<string, number>();
    for (const result of response.markers) {
      for (const topic of result.topics) for (const partition of topic.partitions) answered.set(key({ topic: topic.name, partition: partition.partitionIndex }), partition.errorCode);
    }
    return partitions
      .map((tp) => ({ tp, errorCode: answered.get(key(tp)) ?? ErrorCode.UNKNOWN_SERVER_ERROR }))
      .filter((result) => !this.settled(result));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleeping.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleeping.add(wake);
    });
  }
}
