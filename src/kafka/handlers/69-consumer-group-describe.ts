// ConsumerGroupDescribe (key 69), v0. KIP-848 consumer groups: state (Empty, Assigning,
// Reconciling, Stable), epochs, the server assignor, and each member's current and target
// assignment. A group id that is not a consumer group answers GROUP_ID_NOT_FOUND. ACLs: DESCRIBE on
// the group (GROUP_AUTHORIZATION_FAILED); the group's authorized operations when asked.
// A group this node does not coordinate now: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS
// (../coordinator-check.ts: the leader of the group's __consumer_offsets partition coordinates it).

import { ErrorCode } from "../../protocol/errors.ts";
import { ConsumerGroupDescribeApi } from "../../protocol/generated/consumer-group-describe.ts";
import type { TopicPartitions } from "../../groups/index.ts";
import { AclOperation, ResourceType } from "../../security/acl.ts";
import { authorizedOperations, authorizedOperationsOmitted, groupRequestError } from "../security.ts";
import { defineHandler } from "../handler.ts";


export default defineHandler({
  api: ConsumerGroupDescribeApi,
  minVersion: 0,
  maxVersion: ConsumerGroupDescribeApi.latestVersionUnstable ? Math.max(0, ConsumerGroupDescribeApi.maxVersion - 1) : ConsumerGroupDescribeApi.maxVersion,
  handle(request, ctx) {
    const groups = ctx.broker.groups;
    const named = (list: TopicPartitions[]) => ({
      topicPartitions: list.map((entry) => ({ topicId: entry.topicId, topicName: ctx.broker.metadata.image.topicsById.get(entry.topicId)?.name ?? "", partitions: entry.partitions })),
    });
    return {
      throttleTimeMs: 0,
      groups: request.groupIds.map((groupId) => {
        const operations = request.includeAuthorizedOperations ? authorizedOperations(ctx, ResourceType.GROUP, groupId) : authorizedOperationsOmitted;
        const notHere = groupRequestError(ctx, groupId, AclOperation.DESCRIBE);
        const group = notHere === ErrorCode.NONE ? groups?.consumerGroups.group(groupId) : undefined;
        if (!groups || !group) {
          return {
            errorCode: notHere !== ErrorCode.NONE ? notHere : ErrorCode.GROUP_ID_NOT_FOUND,
            errorMessage: `Group ${groupId} is not a consumer group.`,
            groupId, groupState: "", groupEpoch: -1, assignmentEpoch: -1, assignorName: "", members: [], authorizedOperations: operations,
          };
        }
        return {
          errorCode: 0,
          errorMessage: null,
          groupId,
          groupState: group.state,
          groupEpoch: group.groupEpoch,
          assignmentEpoch: group.assignmentEpoch,
          assignorName: "uniform",
          members: [...group.members.values()].map((member) => ({
            memberId: member.memberId,
            instanceId: member.instanceId,
            rackId: member.rackId,
            memberEpoch: member.epoch,
            clientId: member.clientId,
            clientHost: member.clientHost,
            subscribedTopicNames: member.subscribed,
            subscribedTopicRegex: null,
            assignment: named(groups.consumerGroups.describeAssignment(member)),
            targetAssignment: named(groups.consumerGroups.targetOf(group, member)),
          })),
          authorizedOperations: operations,
        };
      }),
    };
  },
});
