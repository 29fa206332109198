// The internal (CONTROLLER) listener's API table (docs/replication.md §7). It serves:
//   - the metadata quorum's Raft APIs: Vote, BeginQuorumEpoch, EndQuorumEpoch, FetchSnapshot, and
//     Fetch of `__cluster_metadata` partition 0 (handed to the Raft driver);
//   - replica Fetch (replicaId ≥ 0, any other topic): the same Fetch handler as the Kafka listener;
//   - the broker→controller APIs: BrokerRegistration, BrokerHeartbeat, AlterPartition,
//     AllocateProducerIds;
//   - WriteTxnMarkers: a transaction coordinator on another node writing markers to partitions led here;
//     AddPartitionsToTxn (v4+ verifyOnly): a partition leader verifying a transactional batch with
//     the id's coordinator here (KIP-890);
//   - admin requests forwarded by other brokers to the active controller (cluster/remote-controller.ts):
//     CreateTopics, DeleteTopics, CreatePartitions, AlterConfigs, IncrementalAlterConfigs, and the
//     security changes CreateAcls, DeleteAcls, AlterUserScramCredentials, AlterClientQuotas (the
//     forwarding broker authorized them; BrokerContext.internalListener);
//   - the requests an HTTP API node forwards for its callers (src/http/cluster-backend.ts) after
//     authorizing them itself with the caller's principal: Produce, consumer Fetch, ListOffsets,
//     and the group requests of its consumer instances and group routes (OffsetCommit,
//     OffsetFetch, JoinGroup, Heartbeat, LeaveGroup, SyncGroup, DescribeGroups, ListGroups);
//     anyone else is held to their own ACLs there;
//   - DescribeQuorum, Metadata and ApiVersions (diagnostics with any Kafka tool);
//   - DescribeLogDirs (the active controller's balancer asks every broker its replicas' sizes);
//   - AddRaftVoter / RemoveRaftVoter forwarded to the quorum leader (KIP-853).
// Nodes connect here with client id `runnel-node-<id>`, one connection per purpose.
//
// Who may: on a listener that authenticates (SASL, or SSL with ssl.client.auth), a principal with
// CLUSTER_ACTION on the cluster is another node (Kafka's rule for broker-to-broker requests): its
// requests are served without further ACL checks (forwarded admin requests were authorized by the
// broker that took them). Anyone else gets CLUSTER_AUTHORIZATION_FAILED for the node-only APIs and
// their own ACLs for the rest (Metadata, DescribeQuorum, admin requests). A listener that does not
// authenticate (PLAINTEXT) trusts everyone on it: keep it on the cluster's private network.

import { ErrorCode } from "../protocol/errors.ts";
import { AclOperation } from "../security/acl.ts";
import { Authorizer } from "../security/authorizer.ts";
import type { BrokerContext } from "./context.ts";
import { FetchApi, type FetchRequest, type FetchResponse } from "../protocol/generated/fetch.ts";
import type { FetchResponse as RaftFetchResponse } from "../raft/messages.ts";
import { decodeRaftFetchRequest, encodeRaftFetchResponse } from "../raft/wire.ts";
import { defineHandler, type AnyHandler, type HandlerResult, type RequestContext } from "./handler.ts";
import produce from "./handlers/00-produce.ts";
import kafkaFetch from "./handlers/01-fetch.ts";
import listOffsets from "./handlers/02-list-offsets.ts";
import metadata from "./handlers/03-metadata.ts";
import offsetCommit from "./handlers/08-offset-commit.ts";
import offsetFetch from "./handlers/09-offset-fetch.ts";
import joinGroup from "./handlers/11-join-group.ts";
import heartbeat from "./handlers/12-heartbeat.ts";
import leaveGroup from "./handlers/13-leave-group.ts";
import syncGroup from "./handlers/14-sync-group.ts";
import describeGroups from "./handlers/15-describe-groups.ts";
import listGroups from "./handlers/16-list-groups.ts";
import saslHandshake from "./handlers/17-sasl-handshake.ts";
import apiVersions from "./handlers/18-api-versions.ts";
import createTopics from "./handlers/19-create-topics.ts";
import deleteTopics from "./handlers/20-delete-topics.ts";
import addPartitionsToTxn from "./handlers/24-add-partitions-to-txn.ts";
import writeTxnMarkers from "./handlers/27-write-txn-markers.ts";
import type { WriteTxnMarkersRequest } from "../protocol/generated/write-txn-markers.ts";
import createAcls from "./handlers/30-create-acls.ts";
import deleteAcls from "./handlers/31-delete-acls.ts";
import alterConfigs from "./handlers/33-alter-configs.ts";
import saslAuthenticate from "./handlers/36-sasl-authenticate.ts";
import createPartitions from "./handlers/37-create-partitions.ts";
import alterPartitionReassignments from "./handlers/45-alter-partition-reassignments.ts";
import electLeaders from "./handlers/43-elect-leaders.ts";
import incrementalAlterConfigs from "./handlers/44-incremental-alter-configs.ts";
import alterClientQuotas from "./handlers/49-alter-client-quotas.ts";
import alterUserScramCredentials from "./handlers/51-alter-user-scram-credentials.ts";
import vote from "./handlers/52-vote.ts";
import beginQuorumEpoch from "./handlers/53-begin-quorum-epoch.ts";
import endQuorumEpoch from "./handlers/54-end-quorum-epoch.ts";
import describeQuorum from "./handlers/55-describe-quorum.ts";
import describeLogDirs from "./handlers/35-describe-log-dirs.ts";
import addRaftVoter from "./handlers/80-add-raft-voter.ts";
import removeRaftVoter from "./handlers/81-remove-raft-voter.ts";
import alterPartition from "./handlers/56-alter-partition.ts";
import fetchSnapshot from "./handlers/59-fetch-snapshot.ts";
import brokerRegistration from "./handlers/62-broker-registration.ts";
import brokerHeartbeat from "./handlers/63-broker-heartbeat.ts";
import allocateProducerIds from "./handlers/67-allocate-producer-ids.ts";
import { quorumRefusal } from "./quorum-requests.ts";
import { authorizeCluster } from "./security.ts";

/** Fetch on the internal listener: the metadata log to the Raft driver, everything else to the Kafka Fetch handler. */
const controllerFetch = defineHandler({
  api: FetchApi,
  minVersion: kafkaFetch.minVersion,
  maxVersion: kafkaFetch.maxVersion,
  async handle(request: FetchRequest, ctx): Promise<HandlerResult<FetchResponse>> {
    const raftFetch = decodeRaftFetchRequest(request);
    if (raftFetch === null) return kafkaFetch.handle(request, ctx);
    const refusal = quorumRefusal(ctx.broker, request.clusterId);
    if (refusal !== null) return { errorCode: refusal, responses: [] };
    if (raftFetch.replicaId < 0) return { errorCode: ErrorCode.INVALID_REQUEST, responses: [] };
    const answer = await ctx.broker.quorum!.raft!.handle(raftFetch.replicaId, raftFetch) as RaftFetchResponse;
    return encodeRaftFetchResponse(answer);
  },
});

/** Whether the request comes from another node: see the header. */
function isPeerNode(ctx: RequestContext): boolean {
  const session = ctx.session;
  const authenticates = session.usesSasl || (session.securityProtocol === "SSL" && ctx.broker.config.values["ssl.client.auth"] !== "none");
  return !authenticates || authorizeCluster(ctx, AclOperation.CLUSTER_ACTION);
}

/** A node's requests pass every ACL check: the listener's context with an authorizer that is off. */
const trustedContexts = new WeakMap<BrokerContext, BrokerContext>();
function trustedContextOf(broker: BrokerContext): BrokerContext {
  let trusted = trustedContexts.get(broker);
  if (!trusted) {
    const permissive = new Authorizer({ enabled: false, superUsers: new Set(), allowEveryoneIfNoAclFound: true }, () => new Map());
    trusted = { ...broker, ...(broker.security ? { security: { ...broker.security, authorizer: permissive } } : {}) };
    trustedContexts.set(broker, trusted);
  }
  return trusted;
}

/**
 * Served to other nodes only: anyone else gets CLUSTER_AUTHORIZATION_FAILED in the answer's
 * top-level error code (the APIs given here all have one).
 */
function nodesOnly(handler: AnyHandler): AnyHandler {
  return {
    ...handler,
    handle(request, ctx) {
      if (!isPeerNode(ctx)) return { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED } as never;
      return handler.handle(request, { ...ctx, broker: trustedContextOf(ctx.broker) });
    },
  };
}

/** Other nodes are trusted; anyone else is held to their own ACLs by the handler. */
function nodesTrusted(handler: AnyHandler): AnyHandler {
  return {
    ...handler,
    handle(request, ctx) {
      return handler.handle(request, isPeerNode(ctx) ? { ...ctx, broker: trustedContextOf(ctx.broker) } : ctx);
    },
  };
}

/**
 * WriteTxnMarkers has no top-level error code: a caller that is not a node gets
 * CLUSTER_AUTHORIZATION_FAILED on every partition it named, and nothing is written.
 */
function markersFromNodesOnly(handler: AnyHandler): AnyHandler {
  return {
    ...handler,
    handle(request, ctx) {
      if (isPeerNode(ctx)) return handler.handle(request, { ...ctx, broker: trustedContextOf(ctx.broker) });
      const markers = (request as WriteTxnMarkersRequest).markers.map((marker) => ({
        producerId: marker.producerId,
        topics: marker.topics.map((topic) => ({
          name: topic.name,
          partitions: topic.partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED })),
        })),
      }));
      return { markers } as never;
    },
  };
}

export const controllerHandlers: readonly AnyHandler[] = [
  apiVersions,
  saslHandshake,
  saslAuthenticate,
  ...[controllerFetch, vote, beginQuorumEpoch, endQuorumEpoch, fetchSnapshot, alterPartition, brokerRegistration, brokerHeartbeat, allocateProducerIds, addPartitionsToTxn]
    .map(nodesOnly),
  markersFromNodesOnly(writeTxnMarkers),
  ...[
    metadata, describeQuorum, createTopics, deleteTopics, alterConfigs, createPartitions, alterPartitionReassignments, electLeaders,
    incrementalAlterConfigs, createAcls, deleteAcls, alterClientQuotas, alterUserScramCredentials, describeLogDirs, addRaftVoter, removeRaftVoter,
    produce, listOffsets, offsetCommit, offsetFetch, joinGroup, heartbeat, leaveGroup, syncGroup, describeGroups, listGroups,
  ].map(nodesTrusted),
];
