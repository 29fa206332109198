// The controller's topic operations as pure functions (docs/replication.md §3): each checks a
// request against the image the controller sees (committed records and its own proposed ones)
// and returns the records to propose with the answer, or throws a KafkaError with Kafka's code and
// wording. Nothing here writes anything; quorum-controller.ts proposes the records.

import {
  ConfigError,
  ignoredTopicKeys,
  parseTopicOverrides,
  resolveTopicConfig,
  type LoadedBrokerConfig,
} from "../../config/index.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { assert } from "../../util/assert.ts";
import { liveBrokers, type MetadataImage, type TopicImage } from "../image.ts";
import { ConfigResourceType, record, type MetadataRecord } from "../records.ts";
import { collisionKey, topicNameProblem } from "../topic-name.ts";
import { electLeader, liveIn } from "./partition-changes.ts";
import { placementOrder, placeReplicas } from "./placement.ts";

/** Partitions per topic, at most (Kafka has no hard limit; this bounds a hostile request). */
export const topicPartitionsMax = 10000;

export interface Outcome<T> {
  records: MetadataRecord[];
  value: T;
}

export interface CreateTopicRequest {
  name: string;
  /** -1: num.partitions. Ignored when `assignments` is given. */
  numPartitions: number;
  /** -1: default.replication.factor. Ignored when `assignments` is given. */
  replicationFactor: number;
  /** Manual placement: the replicas of partition 0, 1, … (CreateTopics assignments). */
  assignments: number[][] | null;
  /** Config overrides; a null value leaves the key unset. */
  configs: Record<string, string | null>;
}

export interface CreatedTopic {
  name: string;
  /** The new topic's id (a fresh one even for validateOnly, where it is never used). */
  topicId: string;
  partitions: number;
  replicationFactor: number;
}

export interface OperationContext {
  config: LoadedBrokerConfig;
  /** A fresh topic id. */
  newTopicId(): string;
  /** Where round-robin placement starts for this topic (rotated by the controller). */
  placementStart: number;
}

function liveOrder(image: MetadataImage): number[] {
  return placementOrder(liveBrokers(image).filter((broker) => !broker.inControlledShutdown));
}

function checkName(image: MetadataImage, name: string): void {
  const problem = topicNameProblem(name);
  if (problem) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
  if (image.topicsByName.has(name)) throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
  const key = collisionKey(name);
  for (const existing of image.topicsByName.keys()) {
    if (collisionKey(existing) === key) {
      throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${name}' collides with existing topic: ${existing}`);
    }
  }
}

function checkPartitionCount(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > topicPartitionsMax) {
    throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Number of partitions must be 1 to ${topicPartitionsMax}, was ${count}.`);
  }
}

/** The overrides to store (null values dropped), validated against the topic schema. */
function checkedOverrides(config: LoadedBrokerConfig, configs: Record<string, string | null>): Record<string, string> {
  const overrides: Record<string, string> = {};
  // Keys Kafka 3.x accepts and ignores (message.format.version) are warned about and not stored.
  for (const [key, value] of Object.entries(configs)) if (value !== null && !ignoredTopicKeys.has(key)) overrides[key] = value;
  try {
    parseTopicOverrides(configs);
    resolveTopicConfig(config, overrides);
  } catch (error) {
    if (error instanceof ConfigError) throw new KafkaError(ErrorCode.INVALID_CONFIG, error.message);
    throw error;
  }
  return overrides;
}

/** Manual assignments: distinct live brokers, one replication factor for all. */
function checkAssignments(image: MetadataImage, assignments: readonly number[][], replicationFactor?: number): void {
  const live = liveIn(image);
  const expected = replicationFactor ?? assignments[0]?.length;
  assignments.forEach((replicas, partition) => {
    if (replicas.length === 0) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment of partition ${partition} is empty.`);
    if (new Set(replicas).size !== replicas.length) {
      throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment of partition ${partition} names a broker twice: [${replicas.join(", ")}].`);
    }
    for (const broker of replicas) {
      if (!image.brokers.has(broker)) {
        throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes broker ${broker}, but no such broker is registered.`);
      }
    }
    if (!replicas.some(live)) {
      throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `All brokers specified in the manual partition assignment for partition ${partition} are fenced or in controlled shutdown.`);
    }
    if (replicas.length !== expected) {
      throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Inconsistent replication factor between partitions, partition ${partition} has ${replicas.length} while the topic has ${expected}.`);
    }
  });
}

/** PartitionRecords for new partitions `first`, `first + 1`, … with the given replicas. */
function partitionRecords(image: MetadataImage, topicId: string, first: number, assignments: readonly number[][]): MetadataRecord[] {
  const live = liveIn(image);
  return assignments.map((replicas, index) => {
    // A new partition has no data anywhere: every live replica is in sync.
    const liveReplicas = replicas.filter(live);
    const isr = liveReplicas.length > 0 ? liveReplicas : [...replicas];
    return record("PartitionRecord", {
      partitionId: first + index, topicId, replicas: [...replicas], isr, removingReplicas: [], addingReplicas: [],
      leader: electLeader(replicas, isr, live), leaderEpoch: 0, partitionEpoch: 0,
    });
  });
}

export function createTopic(image: MetadataImage, request: CreateTopicRequest, context: OperationContext): Outcome<CreatedTopic> {
  checkName(image, request.name);
  const values = context.config.values;
  let assignments: number[][];
  if (request.assignments !== null) {
    checkPartitionCount(request.assignments.length);
    checkAssignments(image, request.assignments);
    assignments = request.assignments.map((replicas) => [...replicas]);
  } else {
    const count = request.numPartitions === -1 ? values["num.partitions"] : request.numPartitions;
    checkPartitionCount(count);
    const factor = request.replicationFactor === -1 ? values["default.replication.factor"] : request.replicationFactor;
    assignments = placeReplicas(liveOrder(image), count, factor, context.placementStart);
  }
  const overrides = checkedOverrides(context.config, request.configs);
  const topicId = context.newTopicId();
  assert(!image.topicsById.has(topicId), "topic ids are unique");
  const records: MetadataRecord[] = [
    record("TopicRecord", { name: request.name, topicId }),
    ...Object.entries(overrides).map(([name, value]) =>
      record("ConfigRecord", { resourceType: ConfigResourceType.TOPIC, resourceName: request.name, name, value })),
    ...partitionRecords(image, topicId, 0, assignments),
  ];
  return { records, value: { name: request.name, topicId, partitions: assignments.length, replicationFactor: assignments[0]!.length } };
}

function existingTopic(image: MetadataImage, name: string): TopicImage {
  const topic = image.topicsByName.get(name);
  if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `This server does not host this topic: ${name}`);
  return topic;
}

export function deleteTopic(image: MetadataImage, name: string, config: LoadedBrokerConfig): Outcome<TopicImage> {
  if (!config.values["delete.topic.enable"]) throw new KafkaError(ErrorCode.TOPIC_DELETION_DISABLED, "Topic deletion is disabled.");
  const topic = existingTopic(image, name);
  return { records: [record("RemoveTopicRecord", { topicId: topic.id })], value: topic };
}

/** Grow a topic to `totalPartitions`, placed like its first partition's replication factor. */
export function createPartitions(
  image: MetadataImage,
  name: string,
  totalPartitions: number,
  assignments: number[][] | null,
  placementStart: number,
): Outcome<number> {
  const topic = existingTopic(image, name);
  const current = topic.partitions.length;
  if (totalPartitions === current) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partition(s).`);
  if (!Number.isInteger(totalPartitions) || totalPartitions < current) {
    throw new KafkaError(ErrorCode.INVALID_PARTITIONS,
      `The topic ${name} currently has ${current} partition(s); ${totalPartitions} would not be an increase.`);
  }
  if (totalPartitions > topicPartitionsMax) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `at most ${topicPartitionsMax} partitions`);
  const added = totalPartitions - current;
  const factor = topic.partitions[0]?.replicas.length ?? 1;
  let placed: number[][];
  if (assignments !== null) {
    if (assignments.length !== added) {
      throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Increasing the number of partitions by ${added} but ${assignments.length} assignments provided.`);
    }
    checkAssignments(image, assignments, factor);
    placed = assignments.map((replicas) => [...replicas]);
  } else {
    placed = placeReplicas(liveOrder(image), added, factor, placementStart);
  }
  return { records: partitionRecords(image, topic.id, current, placed), value: totalPartitions };
}

/** Replace a topic's overrides with `overrides` (AlterConfigs semantics): a ConfigRecord per changed key. */
export function alterTopicConfigs(image: MetadataImage, name: string, overrides: Record<string, string>, config: LoadedBrokerConfig): Outcome<void> {
  const topic = existingTopic(image, name);
  checkedOverrides(config, overrides);
  const records: MetadataRecord[] = [];
  for (const key of Object.keys(topic.configs)) {
    if (!Object.hasOwn(overrides, key)) {
      records.push(record("ConfigRecord", { resourceType: ConfigResourceType.TOPIC, resourceName: name, name: key, value: null }));
    }
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (topic.configs[key] !== value) {
      records.push(record("ConfigRecord", { resourceType: ConfigResourceType.TOPIC, resourceName: name, name: key, value }));
    }
  }
  return { records, value: undefined };
}
