// DescribeGroups (key 15), v0-v5. State, protocol type, chosen protocol and members of each group;
// member metadata and assignments only while the group is Stable (as Kafka). An unknown group is
// described as state "Dead" with no error (Kafka's answer). A group the principal may not DESCRIBE:
// GROUP_AUTHORIZATION_FAILED. authorizedOperations of the group when asked (v3+), else Kafka's
// "not asked" value.
// A group this node does not coordinate now: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS
// (../coordinator-check.ts: the leader of the group's __consumer_offsets partition coordinates it).

import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeGroupsApi } from "../../protocol/generated/describe-groups.ts";
import { AclOperation, ResourceType } from "../../security/acl.ts";
import { authorizedOperations, groupRequestError } from "../security.ts";
import { defineHandler } from "../handler.ts";

const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export default defineHandler({
  api: DescribeGroupsApi,
  minVersion: 0,
  maxVersion: DescribeGroupsApi.maxVersion,
  handle(request, ctx) {
    const groups = ctx.broker.groups;
    const withOperations = ctx.version >= 3 && request.includeAuthorizedOperations;
    return {
      throttleTimeMs: 0,
      groups: request.groups.map((groupId) => {
        const operations = withOperations ? authorizedOperations(ctx, ResourceType.GROUP, groupId) : AUTHORIZED_OPERATIONS_OMITTED;
        const notHere = groupRequestError(ctx, groupId, AclOperation.DESCRIBE);
        if (!groups || notHere !== ErrorCode.NONE) {
          return { errorCode: notHere, groupId, groupState: "", protocolType: "", protocolData: "", members: [], authorizedOperations: operations };
        }
        const described = groups.coordinator.describeGroup(groupId);
        return {
          errorCode: described.errorCode,
          groupId,
          groupState: described.state,
          protocolType: described.protocolType,
          protocolData: described.protocolName,
          members: described.members.map((member) => ({
            memberId: member.memberId,
            groupInstanceId: member.groupInstanceId,
            clientId: member.clientId,
            clientHost: member.clientHost,
            memberMetadata: member.metadata,
            memberAssignment: member.assignment,
          })),
          authorizedOperations: operations,
        };
      }),
    };
  },
});
