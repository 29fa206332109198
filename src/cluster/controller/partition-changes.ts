// The partition changes that follow a broker's fencing, unclean restart or unfencing
// (docs/replication.md §3), as functions of the image: the rules for one partition are
// partition-change.ts's (pure, shared with the simulator); here they are applied across the image
// and turned into PartitionChangeRecords carrying only the fields that change (applying one with a
// leader bumps the leader epoch).
//
// Election: the first replica in assignment order that is in the ISR and on a live broker (unfenced,
// not shutting down) — the preferred replica whenever it can lead. With no such replica the
// partition has no leader (NO_LEADER) until one returns — unless unclean.leader.election.enable is
// true for its topic (`uncleanElection`): then the first live replica outside the ISR leads, alone in
// a new ISR, and every record only the old ISR held is lost (docs/replication.md §3). A controlled
// shutdown never elects uncleanly (as Kafka).

import { ErrorCode } from "../../protocol/errors.ts";
import { chooseLeader } from "../../replication/core/election.ts";
import { assert } from "../../util/assert.ts";
import type { MetadataImage, PartitionRegistration, TopicImage } from "../image.ts";
import { NO_LEADER, record, type MetadataRecord } from "../records.ts";
import { applyPartitionEvent, type PartitionEvent } from "./partition-change.ts";
import { completeReassignment } from "./reassignment.ts";
import { reassignmentChange } from "./reassignment-operations.ts";

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
  return chooseLeader(replicas, isr, live).leader;
}

/** A PartitionChangeRecord with the fields that differ, or null when nothing does. */
export const uncleanElectionKey = "unclean.leader.election.enable";

/**
 * Whether a topic's partitions may elect a leader outside the ISR: the topic's override, else the
 * cluster-wide dynamic broker default (resource ""), else the controller's own config
 * (`brokerDefault`, false unless set).
 */
export function uncleanElection(image: MetadataImage, brokerDefault: boolean): (topic: TopicImage) => boolean {
  const parse = (value: string | undefined) => (value === undefined ? undefined : value.trim().toLowerCase() === "true");
  const fallback = parse(image.brokerConfigs.get("")?.[uncleanElectionKey]) ?? brokerDefault;
  return (topic) => parse(topic.configs[uncleanElectionKey]) ?? fallback;
}

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
 * The PartitionChangeRecords that an event about broker `brokerId` causes, by the pure rules of
 * partition-change.ts (the ones the simulator checks). `mayChange` skips, cheaply, partitions the
 * event cannot change.
 */
function brokerEventChanges(
  image: MetadataImage,
  event: PartitionEvent,
  eligible: LiveBroker,
  mayChange: (partition: PartitionRegistration) => boolean,
  uncleanDefault: boolean,
): MetadataRecord[] {
  const unclean = uncleanElection(image, uncleanDefault);
  const changes: MetadataRecord[] = [];
  for (const topic of image.topicsById.values()) {
    const view = { isEligible: eligible, uncleanLeaderElection: unclean(topic) };
    for (const partition of topic.partitions) {
      if (!mayChange(partition)) continue;
      const result = applyPartitionEvent(partition, event, view);
      assert(result.ok, `${event.kind} is refused by no partition`);
      if (!result.changed) continue;
      const change = partitionChange(topic, partition, { isr: result.registration.isr, leader: result.registration.leader });
      if (change) changes.push(change);
    }
  }
  return changes;
}

/**
 * A broker is fenced, or registers again as a new process (after an unclean shutdown KIP-966's
 * event, the same rule): it leaves every ISR where another member remains (an ISR is never left
 * empty: its last member keeps the data everyone committed), and every partition it led gets the
 * next eligible leader, or none.
 */
export function fenceBrokerChanges(image: MetadataImage, brokerId: number, kind: "brokerFenced" | "brokerUncleanRestart" = "brokerFenced", uncleanDefault = false): MetadataRecord[] {
  return brokerEventChanges(image, { kind, brokerId }, liveIn(image, new Map([[brokerId, false]])),
    (partition) => partition.isr.includes(brokerId) || partition.leader === NO_LEADER, uncleanDefault);
}

/**
 * Controlled shutdown (docs/replication.md §3): the broker leaves every ISR where another member
 * remains and every partition it leads gets the next eligible leader (none when it was the ISR's
 * only member: that partition is offline until the broker returns, as it would be anyway).
 */
export function shutdownBrokerChanges(image: MetadataImage, brokerId: number): MetadataRecord[] {
  return brokerEventChanges(image, { kind: "brokerShuttingDown", brokerId }, liveIn(image, new Map([[brokerId, false]])),
    (partition) => partition.isr.includes(brokerId) || partition.leader === brokerId, false);
}

/**
 * A broker is unfenced: every leaderless partition it can lead gets a leader again (with unclean
 * election on, also one whose ISR it is not in).
 */
export function unfenceBrokerChanges(image: MetadataImage, brokerId: number, uncleanDefault = false): MetadataRecord[] {
  const eligible = liveIn(image, new Map([[brokerId, true]]));
  return brokerEventChanges(image, { kind: "brokerUnfenced", brokerId }, eligible,
    (partition) => partition.replicas.includes(brokerId) && (partition.leader === NO_LEADER || !eligible(partition.leader)), uncleanDefault);
}

export interface AlterPartitionOperation {
  brokerId: number;
  topicId: string;
  partition: number;
  leaderEpoch: number;
  partitionEpoch: number;
  newIsr: readonly number[];
}

export interface AlterPartitionAnswer {
  /** Kafka's per-partition error code (0: the change, or no change, is the answer). */
  errorCode: number;
  registration?: { leader: number; leaderEpoch: number; isr: number[]; partitionEpoch: number };
}

/**
 * AlterPartition (56) by partition-change.ts's rules: the records (none when refused or when
 * nothing changes) and the answer, which names the registration as it will be once they commit.
 */
export function alterPartitionChange(image: MetadataImage, operation: AlterPartitionOperation): { records: MetadataRecord[]; value: AlterPartitionAnswer } {
  const topic = image.topicsById.get(operation.topicId);
  if (!topic) return { records: [], value: { errorCode: ErrorCode.UNKNOWN_TOPIC_ID } };
  const current = topic.partitions[operation.partition];
  if (!current) return { records: [], value: { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION } };
  const view = { isEligible: liveIn(image), uncleanLeaderElection: false };
  const result = applyPartitionEvent(current, { kind: "alterPartition", ...operation }, view);
  if (!result.ok) return { records: [], value: { errorCode: result.errorCode } };
  let next = result.registration;
  let change = result.changed ? partitionChange(topic, current, { isr: next.isr, leader: next.leader }) : null;
  // A reassigning partition whose target replicas are now all in sync completes in the same change
  // (reassignment.ts): the removed replicas leave, and the leadership when it was theirs.
  const completed = completeReassignment({ ...current, isr: next.isr, leader: next.leader }, view.isEligible);
  if (completed) {
    change = reassignmentChange(topic, current, completed);
    next = {
      replicas: completed.replicas, isr: completed.isr, leader: completed.leader,
      leaderEpoch: completed.leader === current.leader ? current.leaderEpoch : current.leaderEpoch + 1, partitionEpoch: current.partitionEpoch + 1,
    };
  }
  return {
    records: change ? [change] : [],
    value: { errorCode: ErrorCode.NONE, registration: { leader: next.leader, leaderEpoch: next.leaderEpoch, isr: [...next.isr], partitionEpoch: next.partitionEpoch } },
  };
}
