// ElectLeaders (key 43), v0-v2 (v1 adds the top-level error code and election type, v2 is
// flexible). Type 0 (preferred): the first replica leads when it is in the ISR and live
// (ELECTION_NOT_NEEDED when it already does, PREFERRED_LEADER_NOT_AVAILABLE when it cannot);
// type 1 (unclean): only a partition without a live leader, from outside the ISR if need be
// (ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica is live). topicPartitions null: every partition.
// Through the controller (forwarded to the active one); answered once this node's image has it.
// Needs ALTER on the cluster: CLUSTER_AUTHORIZATION_FAILED at the top (v1+) and for every partition
// named (v0 has no top-level error), nothing elected.

import { ElectLeadersApi } from "../../protocol/generated/elect-leaders.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { resourceError } from "../config-resources.ts";
import { defineHandler } from "../handler.ts";
import { AclOperation } from "../../security/acl.ts";
import { authorizeCluster } from "../security.ts";


export default defineHandler({
  api: ElectLeadersApi,
  minVersion: 0,
  maxVersion: 2,
  async handle(request, ctx) {
    if (!authorizeCluster(ctx, AclOperation.ALTER)) {
      const refused = { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: "Cluster authorization failed." };
      const replicaElectionResults = (request.topicPartitions ?? []).map((topic) => ({ topic: topic.topic, partitionResult: topic.partitions.map((partitionId) => ({ partitionId, ...refused })) }));
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, replicaElectionResults };
    }
    const type = ctx.version === 0 ? 0 : request.electionType;
    if (type !== 0 && type !== 1) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, replicaElectionResults: [] };
    const partitions = request.topicPartitions === null ? null : request.topicPartitions.flatMap((topic) => topic.partitions.map((partition) => ({ topic: topic.topic, partition })));
    try {
      const answers = await ctx.broker.admin.electLeaders(type, partitions);
      const byTopic = new Map<string, { partitionId: number; errorCode: number; errorMessage: string | null }[]>();
      for (const answer of answers) {
        byTopic.set(answer.topic, [...(byTopic.get(answer.topic) ?? []), { partitionId: answer.partition, errorCode: answer.errorCode, errorMessage: answer.message }]);
      }
      return { throttleTimeMs: 0, errorCode: 0, replicaElectionResults: [...byTopic].map(([topic, partitionResult]) => ({ topic, partitionResult })) };
    } catch (error) {
      return { throttleTimeMs: 0, errorCode: resourceError(error).errorCode, replicaElectionResults: [] };
    }
  },
});
