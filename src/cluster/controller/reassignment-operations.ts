// AlterPartitionReassignments (45), ElectLeaders (43) and the completion of a reassignment as
// functions of the image (docs/elastic.md): reassignment.ts's pure rules applied to the named
// partitions and turned into PartitionChangeRecords carrying the fields that change.

import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import type { MetadataImage, PartitionRegistration, TopicImage } from "../image.ts";
import { ConfigResourceType, record, type MetadataRecord } from "../records.ts";
import { liveIn } from "./partition-changes.ts";
import {
  cancelReassignment, completeReassignment, electPreferredLeader, electUncleanLeader, startReassignment, type ReassigningRegistration,
} from "./reassignment.ts";
import type { Outcome } from "./topic-operations.ts";

export interface ReassignmentRequest {
  topic: string;
  partition: number;
  /** The target replicas; null cancels the reassignment in progress. */
  replicas: readonly number[] | null;
}

export interface PartitionAnswer {
  topic: string;
  partition: number;
  errorCode: number;
  message: string | null;
}

function sameList(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((id, index) => right[index] === id);
}

/** A PartitionChangeRecord with the fields of `next` that differ from `current`, or null. */
export function reassignmentChange(topic: TopicImage, current: PartitionRegistration, next: ReassigningRegistration): MetadataRecord | null {
  const fields: Record<string, unknown> = {};
  if (!sameList(current.replicas, next.replicas)) fields.replicas = [...next.replicas];
  if (!sameList(current.isr, next.isr)) fields.isr = [...next.isr];
  if (!sameList(current.addingReplicas, next.addingReplicas)) fields.addingReplicas = [...next.addingReplicas];
  if (!sameList(current.removingReplicas, next.removingReplicas)) fields.removingReplicas = [...next.removingReplicas];
  if (current.leader !== next.leader) fields.leader = next.leader;
  if (Object.keys(fields).length === 0) return null;
  return record("PartitionChangeRecord", { partitionId: current.partition, topicId: topic.id, ...fields } as Parameters<typeof record<"PartitionChangeRecord">>[1]);
}

function lookup(image: MetadataImage, topicName: string, partition: number): { topic: TopicImage; registration: PartitionRegistration } | PartitionAnswer {
  const topic = image.topicsByName.get(topicName);
  const registration = topic?.partitions[partition];
  if (!topic || !registration) return { topic: topicName, partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `${topicName}-${partition} does not exist` };
  return { topic, registration };
}

/** AlterPartitionReassignments: one answer per partition; the accepted ones start (or cancel). */
export function alterPartitionReassignments(image: MetadataImage, requests: readonly ReassignmentRequest[]): Outcome<PartitionAnswer[]> {
  const eligible = liveIn(image);
  const registered = (id: number) => image.brokers.has(id);
  const records: MetadataRecord[] = [];
  const answers: PartitionAnswer[] = [];
  for (const request of requests) {
    const found = lookup(image, request.topic, request.partition);
    if ("errorCode" in found) {
      answers.push(found);
      continue;
    }
    const result = request.replicas === null
      ? cancelReassignment(found.registration, eligible)
      : startReassignment(found.registration, request.replicas, registered, eligible);
    if (!result.ok) {
      answers.push({ topic: request.topic, partition: request.partition, errorCode: result.errorCode, message: result.message });
      continue;
    }
    const change = result.changed ? reassignmentChange(found.topic, found.registration, result.registration) : null;
    if (change) records.push(change);
    answers.push({ topic: request.topic, partition: request.partition, errorCode: ErrorCode.NONE, message: null });
  }
  return { records, value: answers };
}

/** The record completing the reassignment of `registration` when its targets are all in sync. */
export function completionChange(image: MetadataImage, topic: TopicImage, registration: PartitionRegistration): MetadataRecord | null {
  const completed = completeReassignment(registration, liveIn(image));
  return completed ? reassignmentChange(topic, registration, completed) : null;
}

/** ElectLeaders: type 0 preferred, 1 unclean; `partitions` null means every partition. */
export function electLeaders(
  image: MetadataImage, type: number, partitions: readonly { topic: string; partition: number }[] | null,
): Outcome<PartitionAnswer[]> {
  const eligible = liveIn(image);
  const wanted = partitions ?? [...image.topicsByName.values()].flatMap((topic) => topic.partitions.map((partition) => ({ topic: topic.name, partition: partition.partition })));
  const records: MetadataRecord[] = [];
  const answers: PartitionAnswer[] = [];
  for (const { topic: topicName, partition } of wanted) {
    const found = lookup(image, topicName, partition);
    if ("errorCode" in found) {
      answers.push(found);
      continue;
    }
    const { topic, registration } = found;
    const outcome = type === 1 ? electUncleanLeader(registration, eligible) : { ...electPreferredLeader(registration, eligible), isr: registration.isr };
    if (outcome.errorCode === ErrorCode.NONE) {
      const change = reassignmentChange(topic, registration, { ...registration, leader: outcome.leader, isr: outcome.isr });
      if (change) records.push(change);
    }
    answers.push({ topic: topicName, partition, errorCode: outcome.errorCode, message: null });
  }
  return { records, value: answers };
}

/** The broker-level config key marking a broker being decommissioned (drained by the balancer). */
export const decommissioningKey = "broker.decommissioning";

/** Brokers marked for decommissioning in `image`. */
export function decommissioningBrokers(image: MetadataImage): Set<number> {
  const result = new Set<number>();
  for (const [name, configs] of image.brokerConfigs) if (configs[decommissioningKey] === "true" && /^\d+$/.test(name)) result.add(Number(name));
  return result;
}

/** Mark (or unmark) broker `brokerId` for decommissioning: the balancer moves its replicas away. */
export function setDecommissioning(image: MetadataImage, brokerId: number, decommissioning: boolean): Outcome<void> {
  if (!image.brokers.has(brokerId)) throw new KafkaError(ErrorCode.BROKER_ID_NOT_REGISTERED, `broker ${brokerId} is not registered`);
  if (decommissioningBrokers(image).has(brokerId) === decommissioning) return { records: [], value: undefined };
  return {
    records: [record("ConfigRecord", { resourceType: ConfigResourceType.BROKER, resourceName: String(brokerId), name: decommissioningKey, value: decommissioning ? "true" : null })],
    value: undefined,
  };
}
