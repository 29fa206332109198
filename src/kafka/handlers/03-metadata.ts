// Metadata (key 3), v0-v12. This node is the only broker, the controller and the leader of every
// partition (leader epoch 0, replicas = ISR = [this node]). Topics carry their real, stable UUID
// ids (v10+). A null topic list (v1+), or an empty one in v0, means every topic. Unknown topics are
// auto-created with num.partitions when auto.create.topics.enable is on and the request allows it
// (v4+ field), and are answered fully at once (the creation is synchronous here). Topics asked by
// id (v10+ with a null name) are looked up by id (UNKNOWN_TOPIC_ID when absent). A partition still
// recovering at start is answered LEADER_NOT_AVAILABLE with no leader (clients retry), one that
// failed to recover also lists this node as an offline replica.
// Does not: report authorized operations (no ACLs), racks, or offline replicas.

import { topicNameProblem, type TopicMetadata } from "../../cluster/index.ts";
import { ErrorCode, errorCodeOf } from "../../protocol/errors.ts";
import {
  MetadataApi,
  type MetadataResponsePartition,
  type MetadataResponseTopic,
} from "../../protocol/generated/index.ts";
import { ZERO_UUID } from "../../protocol/primitives.ts";
import type { Init } from "../../protocol/primitives.ts";
import type { BrokerContext } from "../context.ts";
import { defineHandler } from "../handler.ts";

function describeTopic(broker: BrokerContext, topic: TopicMetadata): Init<MetadataResponseTopic> {
  const partitions: Init<MetadataResponsePartition>[] = [];
  for (let index = 0; index < topic.partitions; index++) {
    // A partition still recovering at start has no leader yet (clients retry); one that failed to
    // recover is offline here.
    const recovery = broker.logs.recoveryState?.(topic.name, index) ?? null;
    partitions.push({
      errorCode: recovery === null ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE,
      partitionIndex: index,
      leaderId: recovery === null ? broker.nodeId : -1,
      leaderEpoch: 0,
      replicaNodes: [broker.nodeId],
      isrNodes: recovery === null ? [broker.nodeId] : [],
      offlineReplicas: recovery === "failed" ? [broker.nodeId] : [],
    });
  }
  return { errorCode: ErrorCode.NONE, name: topic.name, topicId: topic.id, isInternal: topic.internal, partitions };
}

function topicError(name: string | null, errorCode: number, topicId = ZERO_UUID): Init<MetadataResponseTopic> {
  return { errorCode, name, topicId, isInternal: false, partitions: [] };
}

async function lookUp(broker: BrokerContext, name: string, autoCreate: boolean): Promise<Init<MetadataResponseTopic>> {
  const existing = broker.cluster.topic(name);
  if (existing) return describeTopic(broker, existing);
  if (topicNameProblem(name) !== null) return topicError(name, ErrorCode.INVALID_TOPIC_EXCEPTION);
  if (!autoCreate) return topicError(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  try {
    const created = await broker.cluster.ensureTopic(name);
    return created ? describeTopic(broker, created) : topicError(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
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
      topics = broker.cluster.topics().map((topic) => describeTopic(broker, topic));
    } else {
      const autoCreate = request.allowAutoTopicCreation && broker.config.values["auto.create.topics.enable"];
      topics = await Promise.all(request.topics!.map((wanted) => {
        if (wanted.name !== null) return lookUp(broker, wanted.name, autoCreate);
        const byId = broker.cluster.topicById(wanted.topicId);
        if (byId) return describeTopic(broker, byId);
        return topicError(ctx.version >= 12 ? null : "", ErrorCode.UNKNOWN_TOPIC_ID, wanted.topicId);
      }));
    }
    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId: broker.nodeId, host: broker.advertised.host, port: broker.advertised.port, rack: null }],
      clusterId: broker.clusterId,
      controllerId: broker.nodeId,
      topics,
    };
  },
});
