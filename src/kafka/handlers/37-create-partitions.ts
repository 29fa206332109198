// CreatePartitions (key 37), versions 0-3 (flexible from 2). Grows a topic to `count` partitions
// (increase only: INVALID_PARTITIONS otherwise, with Kafka's wording), honours validateOnly. On a
// single node the only valid manual assignment puts each new partition on this node alone
// (INVALID_REPLICA_ASSIGNMENT otherwise). A topic named twice in one request gets INVALID_REQUEST
// for every mention, as Kafka does. timeoutMs is not needed: the change is done when we answer.

import { CreatePartitionsApi } from "../../protocol/generated/create-partitions.ts";
import type { CreatePartitionsRequestCreatePartitionsTopic } from "../../protocol/generated/create-partitions.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { resourceError } from "../config-resources.ts";
import type { BrokerContext } from "../context.ts";
import { defineHandler } from "../handler.ts";

async function grow(broker: BrokerContext, topic: CreatePartitionsRequestCreatePartitionsTopic, validateOnly: boolean): Promise<void> {
  const existing = broker.cluster.topic(topic.name);
  if (!existing) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic '${topic.name}' does not exist`);
  if (topic.assignments !== null) {
    const added = topic.count - existing.partitions;
    if (added > 0 && topic.assignments.length !== added) {
      throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Increasing the number of partitions by ${added} but ${topic.assignments.length} assignments provided.`);
    }
    for (const assignment of topic.assignments) {
      if (assignment.brokerIds.length !== 1 || assignment.brokerIds[0] !== broker.nodeId) {
        throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `assignment [${assignment.brokerIds.join(", ")}]: this single-node cluster has only broker ${broker.nodeId}`);
      }
    }
  }
  await broker.cluster.createPartitions(topic.name, topic.count, validateOnly);
}

export default defineHandler({
  api: CreatePartitionsApi,
  minVersion: 0,
  maxVersion: 3,
  async handle(request, ctx) {
    const counts = new Map<string, number>();
    for (const topic of request.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);
    const results = [];
    for (const topic of request.topics) {
      if (counts.get(topic.name)! > 1) {
        results.push({ name: topic.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Duplicate topic in request." });
        continue;
      }
      try {
        await grow(ctx.broker, topic, request.validateOnly);
        results.push({ name: topic.name, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (error) {
        results.push({ name: topic.name, ...resourceError(error) });
      }
    }
    return { throttleTimeMs: 0, results };
  },
});
