// OffsetCommit (key 8), v0-v9. Committed offsets go to the group coordinator, which appends them
// to __consumer_offsets and answers once they are durable. Generation fencing: a member of the
// group commits with its generation (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
// REBALANCE_IN_PROGRESS, v7+ FENCED_INSTANCE_ID); generation -1 is a "simple" commit, accepted
// only while the group has no members. A generation for a group that does not exist is
// ILLEGAL_GENERATION before v9, GROUP_ID_NOT_FOUND from v9 (as Kafka). Partitions of unknown topics get
// UNKNOWN_TOPIC_OR_PARTITION; metadata above offset.metadata.max.bytes gets
// OFFSET_METADATA_TOO_LARGE; the other partitions of the request are still committed.
// Does not: honour the v1 per-partition commit timestamp or the v2-v4 retention time (Kafka 2.1+
// ignores them too; offsets.retention.minutes applies), or KIP-848 member epochs (v9).
// A group this node does not coordinate now: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS
// (../coordinator-check.ts: the leader of the group's __consumer_offsets partition coordinates it).

import { ErrorCode } from "../../protocol/errors.ts";
import { OffsetCommitApi } from "../../protocol/generated/offset-commit.ts";
import { AclOperation } from "../../security/acl.ts";
import { authorizeTopic, groupRequestError } from "../security.ts";
import { defineHandler } from "../handler.ts";
import { commitErrors, commitInput } from "../offset-commit-input.ts";

export default defineHandler({
  api: OffsetCommitApi,
  minVersion: 0,
  maxVersion: OffsetCommitApi.maxVersion,
  async handle(request, ctx) {
    const groups = ctx.broker.groups;
    const everyPartition = (errorCode: (topic: string, partition: number) => number) =>
      request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition) => ({
          partitionIndex: partition.partitionIndex,
          errorCode: errorCode(topic.name, partition.partitionIndex),
        })),
      }));
    const notHere = groupRequestError(ctx, request.groupId, AclOperation.READ);
    if (!groups || notHere !== ErrorCode.NONE) return { throttleTimeMs: 0, topics: everyPartition(() => notHere) };
    const generationId = ctx.version >= 1 ? request.generationIdOrMemberEpoch : -1;
    if (ctx.version >= 9 && generationId >= 0 && groups.coordinator.state(request.groupId) === undefined && !groups.consumerGroups.has(request.groupId)) {
      // v9+ (as Kafka): a commit with a generation or member epoch for a group that does not exist.
      return { throttleTimeMs: 0, topics: everyPartition(() => ErrorCode.GROUP_ID_NOT_FOUND) };
    }
    const image = ctx.broker.metadata.image;
    // A topic the principal may not READ: TOPIC_AUTHORIZATION_FAILED for its partitions, nothing committed.
    const readable = new Map(request.topics.map((topic) => [topic.name, authorizeTopic(ctx, AclOperation.READ, topic.name)]));
    const known = (topic: string, partition: number) => readable.get(topic) === true && image.topicsByName.get(topic)?.partitions[partition] !== undefined;
    const result = await groups.coordinator.commitOffsets({
      groupId: request.groupId,
      generationId,
      memberId: ctx.version >= 1 ? request.memberId : "",
      groupInstanceId: ctx.version >= 7 ? request.groupInstanceId : null,
      topics: commitInput(request.topics, known, ctx.version >= 6),
    });
    const errorOf = commitErrors(result);
    return {
      throttleTimeMs: 0,
      topics: everyPartition((topic, partition) =>
        errorOf(topic, partition) ?? (readable.get(topic) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.TOPIC_AUTHORIZATION_FAILED)),
    };
  },
});
