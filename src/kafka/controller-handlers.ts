// The internal (CONTROLLER) listener's API table (docs/replication.md §7). It serves:
//   - the metadata quorum's Raft APIs: Vote, BeginQuorumEpoch, EndQuorumEpoch, FetchSnapshot, and
//     Fetch of `__cluster_metadata` partition 0 (handed to the Raft driver);
//   - replica Fetch (replicaId ≥ 0, any other topic): the same Fetch handler as the Kafka listener;
//   - the broker→controller APIs: BrokerRegistration, BrokerHeartbeat, AlterPartition,
//     AllocateProducerIds;
//   - admin requests forwarded by other brokers to the active controller (cluster/remote-controller.ts):
//     CreateTopics, DeleteTopics, CreatePartitions, AlterConfigs, IncrementalAlterConfigs, and the
//     security changes CreateAcls, DeleteAcls, AlterUserScramCredentials, AlterClientQuotas (the
//     forwarding broker authorized them; BrokerContext.internalListener);
//   - DescribeQuorum, Metadata and ApiVersions (diagnostics with any Kafka tool).
// Nodes connect here with client id `runnel-node-<id>`, one connection per purpose.

import { ErrorCode } from "../protocol/errors.ts";
import { FetchApi, type FetchRequest, type FetchResponse } from "../protocol/generated/fetch.ts";
import type { FetchResponse as RaftFetchResponse } from "../raft/messages.ts";
import { decodeRaftFetchRequest, encodeRaftFetchResponse } from "../raft/wire.ts";
import { defineHandler, type AnyHandler, type HandlerResult } from "./handler.ts";
import kafkaFetch from "./handlers/01-fetch.ts";
import metadata from "./handlers/03-metadata.ts";
import apiVersions from "./handlers/18-api-versions.ts";
import createTopics from "./handlers/19-create-topics.ts";
import deleteTopics from "./handlers/20-delete-topics.ts";
import createAcls from "./handlers/30-create-acls.ts";
import deleteAcls from "./handlers/31-delete-acls.ts";
import alterConfigs from "./handlers/33-alter-configs.ts";
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
import alterPartition from "./handlers/56-alter-partition.ts";
import fetchSnapshot from "./handlers/59-fetch-snapshot.ts";
import brokerRegistration from "./handlers/62-broker-registration.ts";
import brokerHeartbeat from "./handlers/63-broker-heartbeat.ts";
import allocateProducerIds from "./handlers/67-allocate-producer-ids.ts";
import { quorumRefusal } from "./quorum-requests.ts";

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

export const controllerHandlers: readonly AnyHandler[] = [
  controllerFetch,
  metadata,
  apiVersions,
  createTopics,
  deleteTopics,
  alterConfigs,
  createPartitions,
  alterPartitionReassignments,
  electLeaders,
  incrementalAlterConfigs,
  createAcls,
  deleteAcls,
  alterClientQuotas,
  alterUserScramCredentials,
  vote,
  beginQuorumEpoch,
  endQuorumEpoch,
  describeQuorum,
  alterPartition,
  fetchSnapshot,
  brokerRegistration,
  brokerHeartbeat,
  allocateProducerIds,
];
