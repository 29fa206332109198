// Replica placement for new partitions (docs/replication.md §3): `replicationFactor` replicas per
// partition over the unfenced brokers, round-robin from a start index the controller rotates per
// topic, so leaders (the first replica) spread over the brokers and no broker holds two replicas of
// one partition. When every broker has a rack (broker.rack), the brokers are first ordered so that
// consecutive ones alternate racks (Kafka's rack-alternated list): a partition's replicas then land
// in different racks as far as the racks allow.
//
//   brokers [1 2 3], RF 2, start 1:  p0 → [2 3]   p1 → [3 1]   p2 → [1 2]   p3 → [2 3] …
//
// Not done: balancing by the replicas each broker already holds (a broker added to a busy cluster
// gets only its round-robin share of new partitions).

import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { assert } from "../../util/assert.ts";

export interface PlacementBroker {
  id: number;
  rack: string | null;
}

/** Brokers ordered by id, or alternating racks when every broker has one. */
export function placementOrder(brokers: readonly PlacementBroker[]): number[] {
  const byId = [...brokers].sort((left, right) => left.id - right.id);
  if (byId.length === 0 || byId.some((broker) => broker.rack === null)) return byId.map((broker) => broker.id);
  const racks = new Map<string, number[]>();
  for (const broker of byId) {
    const members = racks.get(broker.rack!) ?? [];
    members.push(broker.id);
    racks.set(broker.rack!, members);
  }
  const queues = [...racks.keys()].sort().map((rack) => racks.get(rack)!);
  const ordered: number[] = [];
  for (let round = 0; ordered.length < byId.length; round++) {
    for (const queue of queues) if (round < queue.length) ordered.push(queue[round]!);
  }
  return ordered;
}

/** Kafka's check and message when there are too few brokers for the replication factor. */
export function checkReplicationFactor(replicationFactor: number, brokerCount: number): void {
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
    throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0, or -1 to use the default value.");
  }
  if (replicationFactor > brokerCount) {
    throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR,
      `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} ` +
      `cannot be reached because only ${brokerCount} broker(s) are registered.`);
  }
}

/**
 * Replica lists for `partitions` new partitions. `brokers` in placement order (placementOrder);
 * `start` any integer (the controller's rotating cursor). Throws KafkaError
 * INVALID_REPLICATION_FACTOR when the factor is below 1 or above the number of brokers.
 */
export function placeReplicas(brokers: readonly number[], partitions: number, replicationFactor: number, start: number): number[][] {
  checkReplicationFactor(replicationFactor, brokers.length);
  assert(Number.isInteger(partitions) && partitions >= 0, "a partition count");
  const count = brokers.length;
  const first = ((start % count) + count) % count;
  const placed: number[][] = [];
  for (let partition = 0; partition < partitions; partition++) {
    const replicas: number[] = [];
    for (let index = 0; index < replicationFactor; index++) replicas.push(brokers[(first + partition + index) % count]!);
    assert(new Set(replicas).size === replicas.length, "no broker holds two replicas of one partition");
    placed.push(replicas);
  }
  return placed;
}
