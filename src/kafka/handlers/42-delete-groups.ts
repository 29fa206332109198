// DeleteGroups (key 42), v0-v2. Deletes groups that have no members: their committed offsets and
// metadata get tombstones in __consumer_offsets. A group with members is NON_EMPTY_GROUP, an
// unknown one GROUP_ID_NOT_FOUND.

import { ErrorCode } from "../../protocol/errors.ts";
import { DeleteGroupsApi } from "../../protocol/generated/delete-groups.ts";
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
    return { throttleTimeMs: 0, results: await groups.coordinator.deleteGroups(request.groupsNames) };
  },
});
