// ConsumerGroupHeartbeat (key 68), v0 (v1 is marked unstable by Kafka: not served). The KIP-848
// consumer group protocol: join with memberEpoch 0 (the broker generates the member id), heartbeat
// with the current epoch, leave with -1 (or -2, treated as a leave). The broker computes the
// assignment (round-robin per topic; "uniform" and "range" accepted) and hands it out
// incrementally: a partition moves only after its previous owner reported releasing it.
// Logic in src/groups/consumer-groups.ts. Does not: regex subscriptions, rack-aware assignment.
// A group this node does not coordinate now: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS
// (../coordinator-check.ts: the leader of the group's __consumer_offsets partition coordinates it).

import { ErrorCode } from "../../protocol/errors.ts";
import { ConsumerGroupHeartbeatApi } from "../../protocol/generated/consumer-group-heartbeat.ts";
import { AclOperation } from "../../security/acl.ts";
import { groupRequestError } from "../security.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler({
  api: ConsumerGroupHeartbeatApi,
  minVersion: 0,
  maxVersion: ConsumerGroupHeartbeatApi.latestVersionUnstable ? ConsumerGroupHeartbeatApi.maxVersion - 1 : ConsumerGroupHeartbeatApi.maxVersion,
  handle(request, ctx) {
    const groups = ctx.broker.groups;
    const notHere = groupRequestError(ctx, request.groupId, AclOperation.READ);
    if (!groups || notHere !== ErrorCode.NONE) {
      return { throttleTimeMs: 0, errorCode: notHere, errorMessage: null, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
    }
    const result = groups.consumerGroups.heartbeat({
      groupId: request.groupId,
      memberId: request.memberId,
      memberEpoch: request.memberEpoch,
      instanceId: request.instanceId,
      rackId: request.rackId,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      subscribedTopicNames: request.subscribedTopicNames,
      serverAssignor: request.serverAssignor,
      topicPartitions: request.topicPartitions,
      clientId: ctx.header.clientId ?? "",
      clientHost: `/${ctx.remoteAddress}`,
    });
    return {
      throttleTimeMs: 0,
      errorCode: result.errorCode,
      errorMessage: result.errorMessage,
      memberId: result.memberId,
      memberEpoch: result.memberEpoch,
      heartbeatIntervalMs: result.heartbeatIntervalMs,
      assignment: result.assignment === null ? null : { topicPartitions: result.assignment },
    };
  },
});
