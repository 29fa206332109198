// ListPartitionReassignments (key 46), v0 (flexible): the reassignments in progress as this
// node's metadata image holds them (replicas, addingReplicas, removingReplicas), for the named
// partitions or every one (topics null). Partitions not reassigning are left out, as in Kafka.
// Needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED).

import { ListPartitionReassignmentsApi } from "../../protocol/generated/list-partition-reassignments.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { defineHandler } from "../handler.ts";
import { AclOperation } from "../../security/acl.ts";
import { authorizeCluster } from "../security.ts";


export default defineHandler({
  api: ListPartitionReassignmentsApi,
  minVersion: 0,
  maxVersion: 0,
  async handle(request, ctx) {
    if (!authorizeCluster(ctx, AclOperation.DESCRIBE)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: "Cluster authorization failed.", topics: [] };
    }
    const image = ctx.broker.metadata.image;
    const asked = request.topics === null
      ? [...image.topicsByName.values()].map((topic) => ({ topic, indexes: null as number[] | null }))
      : request.topics.flatMap((wanted) => {
        const topic = image.topicsByName.get(wanted.name);
        return topic ? [{ topic, indexes: wanted.partitionIndexes }] : [];
      });
    const topics = asked.map(({ topic, indexes }) => ({
      name: topic.name,
      partitions: topic.partitions
        .filter((partition) => (indexes === null || indexes.includes(partition.partition)) && (partition.addingReplicas.length > 0 || partition.removingReplicas.length > 0))
        .map((partition) => ({
          partitionIndex: partition.partition, replicas: [...partition.replicas],
          addingReplicas: [...partition.addingReplicas], removingReplicas: [...partition.removingReplicas],
        })),
    })).filter((topic) => topic.partitions.length > 0);
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, topics };
  },
});
