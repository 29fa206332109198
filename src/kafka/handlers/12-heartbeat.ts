// Heartbeat (key 12), v0-v4. Keeps a member's session alive; the error tells it to rejoin
// (REBALANCE_IN_PROGRESS) or that it was removed or fenced (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
// FENCED_INSTANCE_ID, v3+ static members). All logic is in the group coordinator.
// A group this node does not coordinate now: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS
// (../coordinator-check.ts: the leader of the group's __consumer_offsets partition coordinates it).

import { ErrorCode } from "../../protocol/errors.ts";
import { HeartbeatApi } from "../../protocol/generated/heartbeat.ts";
import { AclOperation } from "../../security/acl.ts";
import { groupRequestError } from "../security.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler({
  api: HeartbeatApi,
  minVersion: 0,
  maxVersion: HeartbeatApi.maxVersion,
  handle(request, ctx) {
    const groups = ctx.broker.groups;
    const notHere = groupRequestError(ctx, request.groupId, AclOperation.READ);
    if (!groups || notHere !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: notHere };
    const errorCode = groups.coordinator.heartbeat({
      groupId: request.groupId,
      generationId: request.generationId,
      memberId: request.memberId,
      groupInstanceId: ctx.version >= 3 ? request.groupInstanceId : null,
    });
    return { throttleTimeMs: 0, errorCode };
  },
});
