// Topic administration: create, delete, add partitions, list and describe, and the cluster's
// brokers and controller. CreateTopics and friends go to the controller (any broker forwards
// them in KRaft mode; older brokers insist on the controller, answering NOT_CONTROLLER).
//
// Per-topic outcomes are returned, not thrown: a tool creating five topics reports each one.
// `throwOnFailure` turns them into one error for callers that want all or nothing.

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { CreatePartitionsApi } from "../protocol/generated/create-partitions.ts";
import { CreateTopicsApi } from "../protocol/generated/create-topics.ts";
import { DeleteTopicsApi } from "../protocol/generated/delete-topics.ts";
import { DescribeClusterApi } from "../protocol/generated/describe-cluster.ts";
import type { KafkaClient } from "./client.ts";
import { responseError } from "./errors.ts";
import type { BrokerInfo, TopicInfo } from "./metadata.ts";

export interface NewTopic {
  name: string;
  /** Default: the broker's num.partitions. */
  partitions?: number;
  /** Default: the broker's default.replication.factor. */
  replicationFactor?: number;
  configs?: Readonly<Record<string, string>>;
}

export interface TopicOutcome {
  name: string;
  errorCode: number;
  errorMessage: string | null;
}

export interface CreatedTopic extends TopicOutcome {
  topicId: string;
  partitions: number;
  replicationFactor: number;
}

export interface ClusterDescription {
  clusterId: string | null;
  controllerId: number;
  brokers: BrokerInfo[];
}

/** Throws one KafkaError naming every failed outcome (the first failure's code). */
export function throwOnFailure<T extends TopicOutcome>(outcomes: readonly T[], what: string): T[] {
  const failed = outcomes.filter((outcome) => outcome.errorCode !== ErrorCode.NONE);
  if (failed.length === 0) return [...outcomes];
  const detail = failed.map((outcome) => `${outcome.name}: ${new KafkaError(outcome.errorCode, outcome.errorMessage ?? undefined).message}`).join("; ");
  throw new KafkaError(failed[0]!.errorCode, `${what}: ${detail}`);
}

export async function createTopics(
  client: KafkaClient,
  topics: readonly NewTopic[],
  options: { validateOnly?: boolean; timeoutMs?: number } = {},
): Promise<CreatedTopic[]> {
  const response = await client.retry("CreateTopics", async () => {
    const connection = await client.controllerConnection();
    // v4+ lets -1 mean "the broker's default" for partitions and replication factor.
    const version = connection.versionFor(CreateTopicsApi, topics.some((topic) => topic.partitions === undefined || topic.replicationFactor === undefined) ? 4 : 0);
    const answer = await connection.request(CreateTopicsApi, {
      topics: topics.map((topic) => ({
        name: topic.name,
        numPartitions: topic.partitions ?? -1,
        replicationFactor: topic.replicationFactor ?? -1,
        configs: Object.entries(topic.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
      timeoutMs: options.timeoutMs ?? 30_000,
      validateOnly: options.validateOnly ?? false,
    }, { version });
    const notController = answer.topics.find((topic) => topic.errorCode === ErrorCode.NOT_CONTROLLER);
    if (notController) throw responseError(ErrorCode.NOT_CONTROLLER, "CreateTopics");
    return answer;
  });
  client.invalidateMetadata();
  return response.topics.map((topic) => ({
    name: topic.name,
    errorCode: topic.errorCode,
    errorMessage: topic.errorMessage,
    topicId: topic.topicId,
    partitions: topic.numPartitions,
    replicationFactor: topic.replicationFactor,
  }));
}

export async function deleteTopics(client: KafkaClient, names: readonly string[], options: { timeoutMs?: number } = {}): Promise<TopicOutcome[]> {
  const response = await client.retry("DeleteTopics", async () => {
    const connection = await client.controllerConnection();
    const version = connection.versionFor(DeleteTopicsApi);
    const answer = await connection.request(DeleteTopicsApi, version >= 6
      ? { topics: names.map((name) => ({ name })), timeoutMs: options.timeoutMs ?? 30_000 }
      : { topicNames: [...names], timeoutMs: options.timeoutMs ?? 30_000 }, { version });
    if (answer.responses.some((entry) => entry.errorCode === ErrorCode.NOT_CONTROLLER)) throw responseError(ErrorCode.NOT_CONTROLLER, "DeleteTopics");
    return answer;
  });
  client.invalidateMetadata();
  return response.responses.map((entry) => ({ name: entry.name ?? "", errorCode: entry.errorCode, errorMessage: entry.errorMessage }));
}

/** Grows topics to `count` partitions each (Kafka cannot shrink them). */
export async function createPartitions(
  client: KafkaClient,
  topics: readonly { topic: string; count: number }[],
  options: { validateOnly?: boolean; timeoutMs?: number } = {},
): Promise<TopicOutcome[]> {
  const response = await client.retry("CreatePartitions", async () => {
    const connection = await client.controllerConnection();
    const answer = await connection.request(CreatePartitionsApi, {
      topics: topics.map((entry) => ({ name: entry.topic, count: entry.count, assignments: null })),
      timeoutMs: options.timeoutMs ?? 30_000,
      validateOnly: options.validateOnly ?? false,
    });
    if (answer.results.some((entry) => entry.errorCode === ErrorCode.NOT_CONTROLLER)) throw responseError(ErrorCode.NOT_CONTROLLER, "CreatePartitions");
    return answer;
  });
  client.invalidateMetadata();
  return response.results.map((entry) => ({ name: entry.name, errorCode: entry.errorCode, errorMessage: entry.errorMessage }));
}

/** Every topic (internal ones only when asked), sorted by name. */
export async function listTopics(client: KafkaClient, options: { internal?: boolean } = {}): Promise<TopicInfo[]> {
  const metadata = await client.retry("Metadata", () => client.refreshMetadata(null));
  return [...metadata.topics.values()]
    .filter((topic) => options.internal || !topic.internal)
    .sort((left, right) => left.name.localeCompare(right.name));
}

/** The named topics; a missing one is a KafkaError(UNKNOWN_TOPIC_OR_PARTITION). */
export async function describeTopics(client: KafkaClient, names: readonly string[]): Promise<TopicInfo[]> {
  await client.retry("Metadata", () => client.refreshMetadata(names));
  return names.map((name) => {
    const topic = client.metadata.topic(name);
    if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`);
    return topic;
  });
}

/** Brokers and controller: DescribeCluster when the broker has it, else Metadata. */
export async function describeCluster(client: KafkaClient): Promise<ClusterDescription> {
  return client.retry("DescribeCluster", async () => {
    const connection = await client.anyConnection();
    if (!connection.supports(DescribeClusterApi)) {
      const metadata = await client.refreshMetadata([]);
      return { clusterId: metadata.clusterId, controllerId: metadata.controllerId, brokers: sortedBrokers(metadata.brokers.values()) };
    }
    const answer = await connection.request(DescribeClusterApi, {});
    if (answer.errorCode !== ErrorCode.NONE) throw responseError(answer.errorCode, "DescribeCluster", answer.errorMessage);
    return {
      clusterId: answer.clusterId,
      controllerId: answer.controllerId,
      brokers: sortedBrokers(answer.brokers.map((broker) => ({ nodeId: broker.brokerId, host: broker.host, port: broker.port, rack: broker.rack }))),
    };
  });
}

function sortedBrokers(brokers: Iterable<BrokerInfo>): BrokerInfo[] {
  return [...brokers].sort((left, right) => left.nodeId - right.nodeId);
}
