// AddRaftVoter (key 80), v0 (KIP-853; `kafka-metadata-quorum add-controller`), on the Kafka and the
// internal listeners: make node VoterId a voter of the metadata quorum. It must be running as an
// observer (joined through controller.quorum.bootstrap.servers) and caught up with the leader; the
// leader appends the new voter set to the log and answers once it is committed (one change at a
// time: a change that cannot start yet is retried until TimeoutMs, then REQUEST_TIMED_OUT). Any
// node forwards it to the quorum leader. The voter's CONTROLLER listener is taken from Listeners,
// else from its broker registration. Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED).
// Not done: VoterDirectoryId is ignored (Runnel has one metadata log directory per node, no ids);
// INCONSISTENT_CLUSTER_ID is checked only when ClusterId is given.

import { ErrorCode } from "../../protocol/errors.ts";
import { AddRaftVoterApi } from "../../protocol/generated/add-raft-voter.ts";
import { AclOperation } from "../../security/acl.ts";
import { resourceError } from "../config-resources.ts";
import { defineHandler } from "../handler.ts";
import { authorizeCluster } from "../security.ts";

/** Bounds of the wait for the change (Kafka's admin default is 30 s). */
const defaultTimeoutMs = 30_000;
const maximumTimeoutMs = 120_000;

export default defineHandler({
  api: AddRaftVoterApi,
  minVersion: 0,
  maxVersion: 0,
  async handle(request, ctx) {
    const refuse = (errorCode: number, errorMessage: string | null) => ({ throttleTimeMs: 0, errorCode, errorMessage });
    if (!authorizeCluster(ctx, AclOperation.ALTER)) return refuse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
    if (request.clusterId !== null && request.clusterId !== ctx.broker.clusterId) return refuse(ErrorCode.INCONSISTENT_CLUSTER_ID, `this is cluster ${ctx.broker.clusterId}`);
    if (request.voterId < 0) return refuse(ErrorCode.INVALID_REQUEST, "VoterId must be a node id (≥ 0)");
    const listener = request.listeners.find((candidate) => candidate.name === "CONTROLLER") ?? request.listeners[0];
    if (listener !== undefined && (listener.port < 1 || listener.host === "")) return refuse(ErrorCode.INVALID_REQUEST, "the voter's listener needs a host and a port");
    const timeoutMs = request.timeoutMs > 0 ? Math.min(request.timeoutMs, maximumTimeoutMs) : defaultTimeoutMs;
    const quorum = ctx.broker.quorum;
    if (!quorum) return refuse(ErrorCode.UNSUPPORTED_VERSION, "this node has no metadata quorum");
    try {
      await quorum.changeVoters({ add: request.voterId, endpoint: listener === undefined ? undefined : { host: listener.host, port: listener.port } }, timeoutMs);
      return refuse(ErrorCode.NONE, null);
    } catch (error) {
      const { errorCode, errorMessage } = resourceError(error);
      return refuse(errorCode, errorMessage);
    }
  },
});
