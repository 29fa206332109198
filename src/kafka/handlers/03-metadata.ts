// Metadata (key 3), v0-v12, from the published metadata image: the live (unfenced) brokers with
// their endpoints of the listener the request came in on, the controller, and per partition its leader (-1 and
// LEADER_NOT_AVAILABLE when it has none), leader epoch, replicas, in-sync replicas and offline
// replicas (on brokers that are fenced or not registered). Topics carry their UUID ids (v10+). A
// null topic list (v1+), or an empty one in v0, means every topic. Unknown topics are auto-created
// with num.partitions and default.replication.factor when auto.create.topics.enable is on and the
// request allows it (v4+ field), and answered fully once this node's image has them. Topics asked
// by id (v10+ with a null name) are looked up by id (UNKNOWN_TOPIC_ID when absent). A partition
// this node leads whose log is still recovering at start is answered LEADER_NOT_AVAILABLE with no
// leader (clients retry); one that failed to recover also lists this node as an offline replica.
// controllerId: clients cannot reach the controller (KRaft), so as Kafka does this names a live
// broker — the active controller when it is one, which it always is on one node.
// ACLs (kafka/security.ts): listing every topic shows only those the principal may DESCRIBE; a
// named topic it may not describe is TOPIC_AUTHORIZATION_FAILED; auto-creation needs CREATE on the
// cluster or the topic (without it: UNKNOWN_TOPIC_OR_PARTITION). Topic and cluster authorized
// operations (v8+) when asked for.

import { topicNameProblem, type MetadataImage, type TopicImage } from "../../cluster/index.ts";
import { ErrorCode, errorCodeOf } from "../../protocol/errors.ts";
import {
  MetadataApi,
  type MetadataResponsePartition,
  type MetadataResponseTopic,
} from "../../protocol/generated/index.ts";
import { ZERO_UUID } from "../../protocol/primitives.ts";
import type { Init } from "../../protocol/primitives.ts";
import { brokersOf, controllerIdOf } from "../cluster-view.ts";
import type { BrokerContext } from "../context.ts";
import { defineHandler, type RequestContext } from "../handler.ts";
import { AclOperation, clusterResourceName, ResourceType } from "../../security/acl.ts";
import { authorizeCreateTopic, authorizedOperations, authorizedOperationsOmitted, authorizeTopic } from "../security.ts";

function describeTopic(broker: BrokerContext, image: MetadataImage, topic: TopicImage): Init<MetadataResponseTopic> {
  const partitions: Init<MetadataResponsePartition>[] = topic.partitions.map((partition) => {
    // This node's log of it still recovering (or failed to): no leader yet, clients retry.
    const recovery = partition.leader === broker.nodeId ? broker.replicas.recoveryState(topic.name, partition.partition) : null;
    const offline = partition.replicas.filter((id) => image.brokers.get(id)?.fenced !== false);
    return {
      errorCode: partition.leader < 0 || recovery !== null ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
      partitionIndex: partition.partition,
      leaderId: recovery === null ? partition.leader : -1,
      leaderEpoch: partition.leaderEpoch,
      replicaNodes: [...partition.replicas],
      isrNodes: [...partition.isr],
      offlineReplicas: recovery === "failed" && !offline.includes(broker.nodeId) ? [...offline, broker.nodeId] : offline,
    };
  });
  return { errorCode: ErrorCode.NONE, name: topic.name, topicId: topic.id, isInternal: topic.internal, partitions };
}

function topicError(name: string | null, errorCode: number, topicId = ZERO_UUID): Init<MetadataResponseTopic> {
  return { errorCode, name, topicId, isInternal: false, partitions: [] };
}

async function lookUp(ctx: RequestContext, name: string, autoCreate: boolean): Promise<Init<MetadataResponseTopic>> {
  const broker = ctx.broker;
  if (!authorizeTopic(ctx, AclOperation.DESCRIBE, name)) return topicError(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  const existing = broker.metadata.image.topicsByName.get(name);
  if (existing) return describeTopic(broker, broker.metadata.image, existing);
  if (topicNameProblem(name) !== null) return topicError(name, ErrorCode.INVALID_TOPIC_EXCEPTION);
  if (!autoCreate || !authorizeCreateTopic(ctx, name)) return topicError(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  try {
    const created = await broker.admin.ensureTopic(name);
    return created ? describeTopic(broker, broker.metadata.image, created) : topicError(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  } catch (error) {
    broker.log.warn("auto-create failed", { topic: name, error: String(error) });
    return topicError(name, errorCodeOf(error));
  }
}

export default defineHandler({
  api: MetadataApi,
  minVersion: 0,
  maxVersion: MetadataApi.maxVersion,
  async handle(request, ctx) {
    const broker = ctx.broker;
    const allTopics = request.topics === null || (ctx.version === 0 && request.topics.length === 0);
    let topics: Init<MetadataResponseTopic>[];
    if (allTopics) {
      const image = broker.metadata.image;
      topics = [...image.topicsByName.values()]
        .filter((topic) => authorizeTopic(ctx, AclOperation.DESCRIBE, topic.name))
        .map((topic) => describeTopic(broker, image, topic));
    } else {
      const autoCreate = request.allowAutoTopicCreation && broker.config.values["auto.create.topics.enable"];
      topics = await Promise.all(request.topics!.map((wanted) => {
        if (wanted.name !== null) return lookUp(ctx, wanted.name, autoCreate);
        const byId = broker.metadata.image.topicsById.get(wanted.topicId);
        if (byId && !authorizeTopic(ctx, AclOperation.DESCRIBE, byId.name)) return topicError(null, ErrorCode.TOPIC_AUTHORIZATION_FAILED, wanted.topicId);
        if (byId) return describeTopic(broker, broker.metadata.image, byId);
        return topicError(ctx.version >= 12 ? null : "", ErrorCode.UNKNOWN_TOPIC_ID, wanted.topicId);
      }));
    }
    if (ctx.version >= 8 && request.includeTopicAuthorizedOperations) {
      for (const topic of topics) {
        if (topic.errorCode === ErrorCode.NONE && topic.name) topic.topicAuthorizedOperations = authorizedOperations(ctx, ResourceType.TOPIC, topic.name);
      }
    }
    const brokers = brokersOf(broker);
    const clusterAuthorizedOperations = ctx.version >= 8 && ctx.version <= 10 && request.includeClusterAuthorizedOperations
      ? authorizedOperations(ctx, ResourceType.CLUSTER, clusterResourceName)
      : authorizedOperationsOmitted;
    return {
      throttleTimeMs: 0,
      brokers,
      clusterId: broker.clusterId,
      controllerId: controllerIdOf(broker, brokers),
      topics,
      clusterAuthorizedOperations,
    };
  },
});
