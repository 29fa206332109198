// CreatePartitions (key 37), versions 0-3 (flexible from 2). Grows a topic to `count` partitions
// through the controller (increase only: INVALID_PARTITIONS otherwise, with Kafka's wording),
// honours validateOnly. New partitions keep the topic's replication factor, placed over the live
// brokers, or as the manual assignments say (one replica list per new partition, registered
// distinct brokers: INVALID_REPLICA_ASSIGNMENT otherwise). A topic named twice in one request gets
// INVALID_REQUEST for every mention, as Kafka does. timeoutMs is not needed: the answer comes once
// this node's metadata has the new partitions. controller_mutation_rate (KIP-599,
// kafka/mutation-quota.ts): each added partition counts; v3 topics met over the quota get
// THROTTLING_QUOTA_EXCEEDED, older versions are only throttled.

import { CreatePartitionsApi } from "../../protocol/generated/create-partitions.ts";
import type { CreatePartitionsRequestCreatePartitionsTopic } from "../../protocol/generated/create-partitions.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { resourceError } from "../config-resources.ts";
import type { BrokerContext } from "../context.ts";
import { defineHandler } from "../handler.ts";
import { AclOperation } from "../../security/acl.ts";
import { MutationQuota, throttlingQuotaExceededMessage } from "../mutation-quota.ts";
import { authorizeTopic } from "../security.ts";

async function grow(broker: BrokerContext, topic: CreatePartitionsRequestCreatePartitionsTopic, validateOnly: boolean): Promise<void> {
  const assignments = topic.assignments === null ? null : topic.assignments.map((assignment) => [...assignment.brokerIds]);
  await broker.admin.createPartitions(topic.name, topic.count, assignments, validateOnly);
}

export default defineHandler({
  api: CreatePartitionsApi,
  minVersion: 0,
  maxVersion: 3,
  async handle(request, ctx) {
    const counts = new Map<string, number>();
    for (const topic of request.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);
    const results = [];
    const quota = new MutationQuota(ctx, request.validateOnly);
    for (const topic of request.topics) {
      if (counts.get(topic.name)! > 1) {
        results.push({ name: topic.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Duplicate topic in request." });
        continue;
      }
      if (!authorizeTopic(ctx, AclOperation.ALTER, topic.name)) {
        results.push({ name: topic.name, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: "Authorization failed." });
        continue;
      }
      if (quota.refuses()) {
        results.push({ name: topic.name, errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED, errorMessage: throttlingQuotaExceededMessage });
        continue;
      }
      try {
        const before = ctx.broker.metadata.image.topicsByName.get(topic.name)?.partitions.length ?? 0;
        await grow(ctx.broker, topic, request.validateOnly);
        quota.record(Math.max(0, (ctx.broker.metadata.image.topicsByName.get(topic.name)?.partitions.length ?? 0) - before));
        results.push({ name: topic.name, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (error) {
        results.push({ name: topic.name, ...resourceError(error) });
      }
    }
    return { throttleTimeMs: quota.throttleMs(), results };
  },
});
