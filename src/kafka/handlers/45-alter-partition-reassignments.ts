// AlterPartitionReassignments (key 45), v0 (flexible). Starts or cancels (replicas null)
// reassignments through the controller (forwarded to the active one): the target replicas are
// added as followers outside the ISR, join it once caught up (AlterPartition), and only then do the
// removed replicas leave — and the leadership, when it was theirs (docs/elastic.md). Answered once
// this node's image holds the started reassignments. Per-partition errors: UNKNOWN_TOPIC_OR_PARTITION,
// INVALID_REPLICA_ASSIGNMENT (empty, duplicate or unknown brokers), NO_REASSIGNMENT_IN_PROGRESS.
// Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED for the whole request, nothing started).
// Not done: timeoutMs (the answer waits for the commit, bounded by the controller's timeouts).

import { AlterPartitionReassignmentsApi } from "../../protocol/generated/alter-partition-reassignments.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { resourceError } from "../config-resources.ts";
import { defineHandler } from "../handler.ts";
import { AclOperation } from "../../security/acl.ts";
import { authorizeCluster } from "../security.ts";


export default defineHandler({
  api: AlterPartitionReassignmentsApi,
  minVersion: 0,
  maxVersion: 0,
  async handle(request, ctx) {
    if (!authorizeCluster(ctx, AclOperation.ALTER)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: "Cluster authorization failed.", responses: [] };
    }
    const requests = request.topics.flatMap((topic) => topic.partitions.map((partition) => ({
      topic: topic.name, partition: partition.partitionIndex, replicas: partition.replicas,
    })));
    try {
      const answers = await ctx.broker.admin.alterPartitionReassignments(requests);
      const responses = request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition) => {
          const answer = answers.find((candidate) => candidate.topic === topic.name && candidate.partition === partition.partitionIndex);
          return { partitionIndex: partition.partitionIndex, errorCode: answer?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: answer?.message ?? null };
        }),
      }));
      return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, responses };
    } catch (error) {
      return { throttleTimeMs: 0, ...resourceError(error), responses: [] };
    }
  },
});
