// DeleteGroups (key 42), v0-v2. Deletes groups that have no members: their committed offsets and
// metadata get tombstones in __consumer_offsets. A group with members is NON_EMPTY_GROUP, an
// unknown one GROUP_ID_NOT_FOUND.
// A group this node does not coordinate now: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS
// (../coordinator-check.ts: the leader of the group's __consumer_offsets partition coordinates it).

import { ErrorCode } from "../../protocol/errors.ts";
import { DeleteGroupsApi } from "../../protocol/generated/delete-groups.ts";
import { AclOperation } from "../../security/acl.ts";
import { groupRequestError } from "../security.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler({
  api: DeleteGroupsApi,
  minVersion: 0,
  maxVersion: DeleteGroupsApi.maxVersion,
  async handle(request, ctx) {
    const groups = ctx.broker.groups;
    if (!groups) {
      return { throttleTimeMs: 0, results: request.groupsNames.map((groupId) => ({ groupId, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE })) };
    }
    const here = request.groupsNames.filter((groupId) => groupRequestError(ctx, groupId, AclOperation.DELETE) === ErrorCode.NONE);
    const deleted = new Map((await groups.coordinator.deleteGroups(here)).map((result) => [result.groupId, result.errorCode]));
    return {
      throttleTimeMs: 0,
      results: request.groupsNames.map((groupId) => ({ groupId, errorCode: deleted.get(groupId) ?? groupRequestError(ctx, groupId, AclOperation.DELETE) })),
    };
  },
});
