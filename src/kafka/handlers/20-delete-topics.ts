// DeleteTopics (key 20), v0-v6. Deletes each topic through the controller (its partition logs go
// once this node's metadata has the deletion), by name (v0-v5
// topicNames, v6 topics[].name) or by topic id (v6, topics[].topicId with a null name). Unknown
// names are UNKNOWN_TOPIC_OR_PARTITION, unknown ids UNKNOWN_TOPIC_ID, both name and id given
// INVALID_REQUEST; delete.topic.enable=false answers TOPIC_DELETION_DISABLED; internal topics
// (__consumer_offsets) are refused with INVALID_TOPIC_EXCEPTION.
// controller_mutation_rate (KIP-599, kafka/mutation-quota.ts): each deleted partition counts; v5+
// topics met over the quota get THROTTLING_QUOTA_EXCEEDED, older versions are only throttled.
// Does not: wait for timeoutMs (the answer comes when the deletion is applied here).

import { isInternalTopic } from "../../cluster/index.ts";
import { ErrorCode, errorCodeOf, KafkaError } from "../../protocol/errors.ts";
import { DeleteTopicsApi, type DeleteTopicsResponseDeletableTopicResult } from "../../protocol/generated/index.ts";
import { ZERO_UUID, type Init } from "../../protocol/primitives.ts";
import { defineHandler } from "../handler.ts";
import { AclOperation } from "../../security/acl.ts";
import { MutationQuota, throttlingQuotaExceededMessage } from "../mutation-quota.ts";
import { authorizeTopic } from "../security.ts";

type Result = Init<DeleteTopicsResponseDeletableTopicResult>;

export default defineHandler({
  api: DeleteTopicsApi,
  minVersion: 0,
  maxVersion: DeleteTopicsApi.maxVersion,
  async handle(request, ctx) {
    const broker = ctx.broker;
    const wanted = ctx.version >= 6
      ? request.topics
      : request.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    const responses: Result[] = [];
    const quota = new MutationQuota(ctx, false);
    for (const topic of wanted) {
      const withId = (result: Result): Result => (ctx.version >= 6 ? { ...result, topicId: topic.topicId } : result);
      const nameForVersion = topic.name ?? (ctx.version >= 6 ? null : "");
      if (topic.name !== null && topic.topicId !== ZERO_UUID) {
        responses.push(withId({ name: topic.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "give a topic name or an id, not both" }));
        continue;
      }
      let name = topic.name;
      if (name === null) {
        const found = broker.metadata.image.topicsById.get(topic.topicId);
        if (!found) {
          responses.push(withId({ name: nameForVersion, errorCode: ErrorCode.UNKNOWN_TOPIC_ID, errorMessage: "unknown topic id" }));
          continue;
        }
        name = found.name;
      }
      if (!authorizeTopic(ctx, AclOperation.DELETE, name)) {
        responses.push(withId({ name: topic.name === null ? nameForVersion : name, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: "Authorization failed." }));
        continue;
      }
      if (isInternalTopic(name)) {
        // Its coordinator holds the logs open; deleting it would lose every group's offsets.
        responses.push(withId({ name, errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: `internal topic ${name} cannot be deleted` }));
        continue;
      }
      if (quota.refuses()) {
        responses.push(withId({ name, errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED, errorMessage: throttlingQuotaExceededMessage }));
        continue;
      }
      try {
        const partitions = broker.metadata.image.topicsByName.get(name)?.partitions.length ?? 0;
        const deleted = await broker.admin.deleteTopic(name);
        quota.record(partitions);
        responses.push({ name: deleted.name, topicId: ctx.version >= 6 ? deleted.id : ZERO_UUID, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (error) {
        if (!(error instanceof KafkaError)) ctx.broker.log.error("delete topic failed", { topic: name, error: String(error) });
        responses.push(withId({ name, errorCode: errorCodeOf(error), errorMessage: error instanceof Error ? error.message : null }));
      }
    }
    return { throttleTimeMs: quota.throttleMs(), responses };
  },
});
