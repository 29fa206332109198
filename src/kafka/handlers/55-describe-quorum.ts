// DescribeQuorum (key 55), v0-v2, on the Kafka and the internal listeners (as Kafka, whose brokers
// forward it to the controller): the metadata quorum as its leader sees it — leader, epoch, high
// watermark, each voter's and observer's log end offset and last fetch / caught-up times (v1+).
// Asked of a node that does not lead, the answer comes from the leader over the internal listener;
// with no leader known: NOT_LEADER_OR_FOLLOWER. A one-node cluster answers for itself (one voter).
// v2's Nodes name each voter's CONTROLLER endpoint (KIP-853: observers joining through
// controller.quorum.bootstrap.servers learn the voters from them). Needs DESCRIBE on the cluster
// (CLUSTER_AUTHORIZATION_FAILED; other nodes are trusted on the internal listener). Not done:
// replica directory ids.

import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeQuorumApi } from "../../protocol/generated/describe-quorum.ts";
import { defineHandler } from "../handler.ts";
import { AclOperation } from "../../security/acl.ts";
import { authorizeCluster } from "../security.ts";


const metadataTopic = "__cluster_metadata";

export default defineHandler({
  api: DescribeQuorumApi,
  minVersion: 0,
  maxVersion: 2,
  async handle(request, ctx) {
    if (!authorizeCluster(ctx, AclOperation.DESCRIBE)) return { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: "Cluster authorization failed.", topics: [] };
    const asked = request.topics[0];
    if (request.topics.length !== 1 || asked?.topicName !== metadataTopic || asked.partitions.length !== 1 || asked.partitions[0]!.partitionIndex !== 0) {
      return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `only ${metadataTopic} partition 0 has a quorum` };
    }
    const quorum = await ctx.broker.quorum?.describeQuorum() ?? null;
    if (quorum === null) {
      return { errorCode: 0, topics: [{ topicName: metadataTopic, partitions: [{ partitionIndex: 0, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, leaderId: -1, leaderEpoch: -1 }] }] };
    }
    const replica = (state: { replicaId: number; logEndOffset: bigint; lastFetchTimestamp: number; lastCaughtUpTimestamp: number }) => ({
      replicaId: state.replicaId, logEndOffset: state.logEndOffset,
      lastFetchTimestamp: BigInt(Math.round(state.lastFetchTimestamp)), lastCaughtUpTimestamp: BigInt(Math.round(state.lastCaughtUpTimestamp)),
    });
    return {
      errorCode: 0,
      topics: [{ topicName: metadataTopic, partitions: [{
        partitionIndex: 0, errorCode: 0, leaderId: quorum.leaderId, leaderEpoch: quorum.leaderEpoch, highWatermark: quorum.highWatermark,
        currentVoters: quorum.currentVoters.map(replica), observers: quorum.observers.map(replica),
      }] }],
      nodes: ctx.version < 2 ? [] : (quorum.voterEndpoints ?? []).map((voter) => ({ nodeId: voter.id, listeners: [{ name: "CONTROLLER", host: voter.host, port: voter.port }] })),
    };
  },
});
