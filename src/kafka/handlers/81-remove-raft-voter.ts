// RemoveRaftVoter (key 81), v0 (KIP-853; `kafka-metadata-quorum remove-controller`), on the Kafka
// and the internal listeners: remove node VoterId from the metadata quorum's voters. The leader
// appends the smaller voter set and answers once it is committed; a leader that removes itself
// keeps leading until then and steps down after (the others elect a new leader); the removed node
// keeps following the log as an observer and can then be stopped. One change at a time (retried
// until the internal 30 s bound, then REQUEST_TIMED_OUT); VOTER_NOT_FOUND when it is no voter.
// Any node forwards it to the quorum leader. Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED).
// Not done: VoterDirectoryId is ignored (no directory ids in Runnel).

import { ErrorCode } from "../../protocol/errors.ts";
import { RemoveRaftVoterApi } from "../../protocol/generated/remove-raft-voter.ts";
import { AclOperation } from "../../security/acl.ts";
import { resourceError } from "../config-resources.ts";
import { defineHandler } from "../handler.ts";
import { authorizeCluster } from "../security.ts";

const timeoutMs = 30_000;

export default defineHandler({
  api: RemoveRaftVoterApi,
  minVersion: 0,
  maxVersion: 0,
  async handle(request, ctx) {
    const refuse = (errorCode: number, errorMessage: string | null) => ({ throttleTimeMs: 0, errorCode, errorMessage });
    if (!authorizeCluster(ctx, AclOperation.ALTER)) return refuse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
    if (request.clusterId !== null && request.clusterId !== ctx.broker.clusterId) return refuse(ErrorCode.INCONSISTENT_CLUSTER_ID, `this is cluster ${ctx.broker.clusterId}`);
    const quorum = ctx.broker.quorum;
    if (!quorum) return refuse(ErrorCode.UNSUPPORTED_VERSION, "this node has no metadata quorum");
    try {
      await quorum.changeVoters({ remove: request.voterId }, timeoutMs);
      return refuse(ErrorCode.NONE, null);
    } catch (error) {
      const { errorCode, errorMessage } = resourceError(error);
      return refuse(errorCode, errorMessage);
    }
  },
});
