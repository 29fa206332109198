// CreateTopics (key 19), v0-v7. Each topic goes to the controller (src/cluster/controller/), which
// places its replicas over the live brokers (replicationFactor; -1: default.replication.factor,
// INVALID_REPLICATION_FACTOR above the live brokers) or checks manual assignments (registered,
// distinct brokers, one replication factor: INVALID_REPLICA_ASSIGNMENT otherwise); numPartitions -1
// (v4+) means num.partitions. Configs are validated against the topic schema (INVALID_CONFIG names
// the key); duplicate names in one request are INVALID_REQUEST. validateOnly (v1+) checks
// everything and changes nothing. The answer comes once this node's metadata has the topic and its
// local partitions are set up. v5+ answers the partition count, replication factor and every
// effective config with its source; v7+ the topic id.
// controller_mutation_rate (KIP-599, kafka/mutation-quota.ts): each created partition counts; v6+
// topics met over the quota get THROTTLING_QUOTA_EXCEEDED, older versions are only throttled.
// Does not: wait for timeoutMs (the answer comes when the topic exists) or apply CreateTopicPolicy.

import { formatTopicValue, type TopicConfigKey } from "../../config/index.ts";
import { ErrorCode, errorCodeOf, KafkaError } from "../../protocol/errors.ts";
import {
  CreateTopicsApi,
  type CreateTopicsRequestCreatableTopic,
  type CreateTopicsResponseCreatableTopicResult,
} from "../../protocol/generated/index.ts";
import type { Init } from "../../protocol/primitives.ts";
import type { BrokerContext } from "../context.ts";
import { defineHandler } from "../handler.ts";
import { MutationQuota, throttlingQuotaExceededMessage } from "../mutation-quota.ts";
import { authorizeCreateTopic } from "../security.ts";

type TopicResult = Init<CreateTopicsResponseCreatableTopicResult>;

function failure(name: string, errorCode: number, errorMessage: string | null): TopicResult {
  return { name, errorCode, errorMessage, numPartitions: -1, replicationFactor: -1, configs: null };
}

/** Manual assignments as replica lists by partition, or null; throws KafkaError for a malformed request. */
function assignmentsOf(topic: CreateTopicsRequestCreatableTopic): number[][] | null {
  if (topic.assignments.length === 0) return null;
  if (topic.numPartitions !== -1 || topic.replicationFactor !== -1) {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, "both manual assignments and numPartitions/replicationFactor were given");
  }
  return topic.assignments.map((assignment, index) => {
    if (assignment.partitionIndex !== index) {
      throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "partitions must be assigned in order from 0");
    }
    return [...assignment.brokerIds];
  });
}

async function createOne(
  broker: BrokerContext,
  topic: CreateTopicsRequestCreatableTopic,
  validateOnly: boolean,
  version: number,
): Promise<TopicResult> {
  try {
    const assignments = assignmentsOf(topic);
    const configs: Record<string, string | null> = {};
    for (const config of topic.configs) {
      if (Object.hasOwn(configs, config.name)) {
        throw new KafkaError(ErrorCode.INVALID_REQUEST, `config ${config.name} given twice`);
      }
      configs[config.name] = config.value;
    }
    const created = await broker.admin.createTopic({
      name: topic.name, numPartitions: topic.numPartitions, replicationFactor: topic.replicationFactor, assignments, configs,
    }, validateOnly);
    const result: TopicResult = { name: topic.name, errorCode: ErrorCode.NONE, errorMessage: null };
    if (version >= 7 && !validateOnly) result.topicId = created.topicId;
    if (version >= 5) {
      const resolved = validateOnly ? null : broker.topicConfigs.get(topic.name);
      result.numPartitions = created.partitions;
      result.replicationFactor = created.replicationFactor;
      result.configs = resolved === null ? [] : (Object.keys(resolved.values) as TopicConfigKey[]).map((key) => ({
        name: key,
        value: formatTopicValue(key, resolved.values[key]),
        readOnly: false,
        configSource: resolved.source[key],
        isSensitive: false,
      }));
    }
    return result;
  } catch (error) {
    if (!(error instanceof KafkaError)) broker.log.error("create topic failed", { topic: topic.name, error: String(error) });
    return failure(topic.name, errorCodeOf(error), error instanceof Error ? error.message : null);
  }
}

export default defineHandler({
  api: CreateTopicsApi,
  minVersion: 0,
  maxVersion: CreateTopicsApi.maxVersion,
  async handle(request, ctx) {
    const counts = new Map<string, number>();
    for (const topic of request.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);
    const topics: TopicResult[] = [];
    const quota = new MutationQuota(ctx, request.validateOnly);
    // One at a time: creations in a request apply in order, as Kafka's controller does.
    for (const topic of request.topics) {
      if (counts.get(topic.name)! > 1) {
        topics.push(failure(topic.name, ErrorCode.INVALID_REQUEST, `topic '${topic.name}' appears more than once in the request`));
        continue;
      }
      if (!authorizeCreateTopic(ctx, topic.name)) {
        topics.push(failure(topic.name, ErrorCode.TOPIC_AUTHORIZATION_FAILED, "Authorization failed."));
        continue;
      }
      if (quota.refuses()) {
        topics.push(failure(topic.name, ErrorCode.THROTTLING_QUOTA_EXCEEDED, throttlingQuotaExceededMessage));
        continue;
      }
      const result = await createOne(ctx.broker, topic, request.validateOnly, ctx.version);
      if (result.errorCode === ErrorCode.NONE) quota.record(ctx.broker.metadata.image.topicsByName.get(topic.name)?.partitions.length ?? 0);
      topics.push(result);
    }
    return { throttleTimeMs: quota.throttleMs(), topics };
  },
});

