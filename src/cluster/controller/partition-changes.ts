// Leader election and the partition changes that follow a broker's fencing or unfencing
// (docs/replication.md §3), as pure functions of the image: they return PartitionChangeRecords
// carrying only the fields that change (applying one with a leader bumps the leader epoch).
//
// Election: the first replica in assignment order that is in the ISR and on a live broker (unfenced,
// not shutting down) — the preferred replica whenever it can lead. unclean.leader.election.enable
// is false: with no such replica the partition has no leader (NO_LEADER) until one returns.

import type { MetadataImage, PartitionRegistration, TopicImage } from "../image.ts";
import { NO_LEADER, record, type MetadataRecord } from "../records.ts";

/** Whether broker `id` may lead or stay in an ISR, given overrides for brokers changing state now. */
export type LiveBroker = (id: number) => boolean;

export function liveIn(image: MetadataImage, overrides: ReadonlyMap<number, boolean> = new Map()): LiveBroker {
  return (id) => {
    const override = overrides.get(id);
    if (override !== undefined) return override;
    const broker = image.brokers.get(id);
    return broker !== undefined && !broker.fenced && !broker.inControlledShutdown;
  };
}

export function electLeader(replicas: readonly number[], isr: readonly number[], live: LiveBroker): number {
  for (const replica of replicas) if (isr.includes(replica) && live(replica)) return replica;
  return NO_LEADER;
}

/** A PartitionChangeRecord with the fields that differ, or null when nothing does. */
export function partitionChange(
  topic: TopicImage,
  current: PartitionRegistration,
  next: { isr: readonly number[]; leader: number },
): MetadataRecord | null {
  const isrChanged = next.isr.length !== current.isr.length || next.isr.some((id, index) => current.isr[index] !== id);
  const leaderChanged = next.leader !== current.leader;
  if (!isrChanged && !leaderChanged) return null;
  return record("PartitionChangeRecord", {
    partitionId: current.partition,
    topicId: topic.id,
    ...(isrChanged ? { isr: [...next.isr] } : {}),
    ...(leaderChanged ? { leader: next.leader } : {}),
  });
}

/**
 * A broker is fenced (or registers again as a new process): it leaves every ISR where another
 * member remains (an ISR is never left empty: its last member keeps the data everyone committed),
 * and every partition it led gets the next eligible leader, or none.
 */
export function fenceBrokerChanges(image: MetadataImage, brokerId: number): MetadataRecord[] {
  const live = liveIn(image, new Map([[brokerId, false]]));
  const changes: MetadataRecord[] = [];
  for (const topic of image.topicsById.values()) {
    for (const partition of topic.partitions) {
      if (!partition.isr.includes(brokerId)) continue; // a leader is always in its ISR
      const shrunk = partition.isr.filter((id) => id !== brokerId);
      const isr = shrunk.length > 0 ? shrunk : partition.isr;
      const leader = partition.leader === brokerId || partition.leader === NO_LEADER ? electLeader(partition.replicas, isr, live) : partition.leader;
      const change = partitionChange(topic, partition, { isr, leader });
      if (change) changes.push(change);
    }
  }
  return changes;
}

/** A broker is unfenced: every leaderless partition it can lead gets a leader again. */
export function unfenceBrokerChanges(image: MetadataImage, brokerId: number): MetadataRecord[] {
  const live = liveIn(image, new Map([[brokerId, true]]));
  const changes: MetadataRecord[] = [];
  for (const topic of image.topicsById.values()) {
    for (const partition of topic.partitions) {
      if (partition.leader !== NO_LEADER || !partition.isr.includes(brokerId)) continue;
      const change = partitionChange(topic, partition, { isr: partition.isr, leader: electLeader(partition.replicas, partition.isr, live) });
      if (change) changes.push(change);
    }
  }
  return changes;
}
