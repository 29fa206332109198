// LeaveGroup (key 13), v0-v5. v0-v2: one member id, its error is the top-level error. v3+: a
// batch of members (dynamic by member id, static by group.instance.id; a static member whose
// member id does not match is FENCED_INSTANCE_ID), one result each. Leaving triggers a rebalance
// of the remaining members at once. Does not: use the v5 reason.
// A group this node does not coordinate now: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS
// (../coordinator-check.ts: the leader of the group's __consumer_offsets partition coordinates it).

import { ErrorCode } from "../../protocol/errors.ts";
import { LeaveGroupApi } from "../../protocol/generated/leave-group.ts";
import { AclOperation } from "../../security/acl.ts";
import { groupRequestError } from "../security.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler({
  api: LeaveGroupApi,
  minVersion: 0,
  maxVersion: LeaveGroupApi.maxVersion,
  handle(request, ctx) {
    const groups = ctx.broker.groups;
    const notHere = groupRequestError(ctx, request.groupId, AclOperation.READ);
    if (!groups || notHere !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: notHere, members: [] };
    if (ctx.version < 3) {
      const result = groups.coordinator.leaveGroup(request.groupId, [{ memberId: request.memberId, groupInstanceId: null }]);
      return { throttleTimeMs: 0, errorCode: result.errorCode || result.members[0]!.errorCode, members: [] };
    }
    const result = groups.coordinator.leaveGroup(
      request.groupId,
      request.members.map((member) => ({ memberId: member.memberId, groupInstanceId: member.groupInstanceId })),
    );
    return { throttleTimeMs: 0, errorCode: result.errorCode, members: result.members };
  },
});
