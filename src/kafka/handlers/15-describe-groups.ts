// DescribeGroups (key 15), v0-v5. State, protocol type, chosen protocol and members of each group;
// member metadata and assignments only while the group is Stable (as Kafka). An unknown group is
// described as state "Dead" with no error (Kafka's answer). authorizedOperations: no authorizer,
// so every group operation when asked (v3+), else Kafka's "not asked" value.
// A group this node does not coordinate now: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS
// (../coordinator-check.ts: the leader of the group's __consumer_offsets partition coordinates it).

import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeGroupsApi } from "../../protocol/generated/describe-groups.ts";
import { coordinatorError } from "../coordinator-check.ts";
import { defineHandler } from "../handler.ts";

const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
// AclOperation codes valid on a GROUP: READ 3, DELETE 6, DESCRIBE 8.
const GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);

export default defineHandler({
  api: DescribeGroupsApi,
  minVersion: 0,
  maxVersion: DescribeGroupsApi.maxVersion,
  handle(request, ctx) {
    const groups = ctx.broker.groups;
    const operations = ctx.version >= 3 && request.includeAuthorizedOperations ? GROUP_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED;
    return {
      throttleTimeMs: 0,
      groups: request.groups.map((groupId) => {
        const notHere = coordinatorError(ctx.broker, groupId);
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
