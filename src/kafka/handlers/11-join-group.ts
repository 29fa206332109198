// JoinGroup (key 11), v0-v9. Delegates to the group coordinator (src/groups/coordinator.ts): the
// response is sent when the rebalance completes (all members rejoined, or the rebalance timeout).
// v0 has no rebalance timeout (the session timeout is used); v4+ first joins get
// MEMBER_ID_REQUIRED with a member id (KIP-394); v5+ static membership (group.instance.id);
// protocolType/protocolName are nullable from v7. skipAssignment is always false (the leader
// always assigns). Does not: use the v8+ reason (only logged at debug level by nobody).
// A group this node does not coordinate now: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS
// (../coordinator-check.ts: the leader of the group's __consumer_offsets partition coordinates it).

import { ErrorCode } from "../../protocol/errors.ts";
import { JoinGroupApi } from "../../protocol/generated/join-group.ts";
import { AclOperation } from "../../security/acl.ts";
import { groupRequestError } from "../security.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler({
  api: JoinGroupApi,
  minVersion: 0,
  maxVersion: JoinGroupApi.maxVersion,
  async handle(request, ctx) {
    const groups = ctx.broker.groups;
    const nullable = ctx.version >= 7;
    const notHere = groupRequestError(ctx, request.groupId, AclOperation.READ);
    if (!groups || notHere !== ErrorCode.NONE) {
      return {
        throttleTimeMs: 0, errorCode: notHere, generationId: -1,
        protocolType: nullable ? null : "", protocolName: nullable ? null : "", leader: "", memberId: request.memberId, members: [],
      };
    }
    const result = await groups.coordinator.joinGroup({
      groupId: request.groupId,
      memberId: request.memberId,
      groupInstanceId: ctx.version >= 5 ? request.groupInstanceId : null,
      clientId: ctx.header.clientId ?? "",
      clientHost: `/${ctx.remoteAddress}`,
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: ctx.version >= 1 ? request.rebalanceTimeoutMs : -1,
      protocolType: request.protocolType,
      protocols: request.protocols,
      requireKnownMemberId: ctx.version >= 4,
    });
    return {
      throttleTimeMs: 0,
      errorCode: result.errorCode,
      generationId: result.generationId,
      protocolType: nullable ? result.protocolType : (result.protocolType ?? ""),
      protocolName: nullable ? result.protocolName : (result.protocolName ?? ""),
      leader: result.leader,
      skipAssignment: false,
      memberId: result.memberId,
      members: result.members,
    };
  },
});
