// SyncGroup (key 14), v0-v5. The leader sends the assignment it computed; every member's
// SyncGroup is answered with its own part once the group metadata (with the assignment) is in
// __consumer_offsets. v3+ group.instance.id fencing; v5+ protocolType/protocolName are checked
// against the group's (INCONSISTENT_GROUP_PROTOCOL) and echoed in the response.
// A group this node does not coordinate now: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS
// (../coordinator-check.ts: the leader of the group's __consumer_offsets partition coordinates it).

import { ErrorCode } from "../../protocol/errors.ts";
import { SyncGroupApi } from "../../protocol/generated/sync-group.ts";
import { AclOperation } from "../../security/acl.ts";
import { groupRequestError } from "../security.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler({
  api: SyncGroupApi,
  minVersion: 0,
  maxVersion: SyncGroupApi.maxVersion,
  async handle(request, ctx) {
    const groups = ctx.broker.groups;
    const notHere = groupRequestError(ctx, request.groupId, AclOperation.READ);
    if (!groups || notHere !== ErrorCode.NONE) {
      return { throttleTimeMs: 0, errorCode: notHere, protocolType: null, protocolName: null, assignment: new Uint8Array() };
    }
    const result = await groups.coordinator.syncGroup({
      groupId: request.groupId,
      generationId: request.generationId,
      memberId: request.memberId,
      groupInstanceId: ctx.version >= 3 ? request.groupInstanceId : null,
      protocolType: ctx.version >= 5 ? request.protocolType : null,
      protocolName: ctx.version >= 5 ? request.protocolName : null,
      assignments: request.assignments,
    });
    return { throttleTimeMs: 0, ...result };
  },
});
