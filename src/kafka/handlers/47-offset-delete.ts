// OffsetDelete (key 47), v0. Deletes committed offsets of a group. While the group has members,
// partitions of topics its consumers subscribe to get GROUP_SUBSCRIBED_TO_TOPIC (the others are
// deleted); a non-consumer protocol group with members is NON_EMPTY_GROUP; an unknown group
// GROUP_ID_NOT_FOUND.
// A group this node does not coordinate now: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS
// (../coordinator-check.ts: the leader of the group's __consumer_offsets partition coordinates it).

import { ErrorCode } from "../../protocol/errors.ts";
import { OffsetDeleteApi } from "../../protocol/generated/offset-delete.ts";
import { AclOperation } from "../../security/acl.ts";
import { groupRequestError } from "../security.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler({
  api: OffsetDeleteApi,
  minVersion: 0,
  maxVersion: OffsetDeleteApi.maxVersion,
  async handle(request, ctx) {
    const groups = ctx.broker.groups;
    const notHere = groupRequestError(ctx, request.groupId, AclOperation.DELETE);
    if (!groups || notHere !== ErrorCode.NONE) return { errorCode: notHere, throttleTimeMs: 0, topics: [] };
    const result = await groups.coordinator.deleteOffsets(
      request.groupId,
      request.topics.map((topic) => ({ name: topic.name, partitions: topic.partitions.map((partition) => partition.partitionIndex) })),
    );
    return {
      errorCode: result.errorCode,
      throttleTimeMs: 0,
      topics: result.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition) => ({ partitionIndex: partition.partition, errorCode: partition.errorCode })),
      })),
    };
  },
});
