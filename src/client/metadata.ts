// The client's view of the cluster, built from Metadata responses: brokers, the controller, and
// per topic its id and partitions (leader, leader epoch, replicas, in-sync replicas).
//
// A response for some topics updates those topics and the broker list; a response for all topics
// (topics: null) replaces the whole topic table.

import { ErrorCode } from "../protocol/errors.ts";
import type { MetadataResponse } from "../protocol/generated/metadata.ts";
import { ZERO_UUID } from "../protocol/primitives.ts";
import { assert } from "../util/assert.ts";

export interface BrokerInfo {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

export interface PartitionInfo {
  readonly partition: number;
  /** Partition-level error (LEADER_NOT_AVAILABLE while a leader is elected or a log loads). */
  readonly errorCode: number;
  /** -1 when there is none. */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly offlineReplicas: readonly number[];
}

export interface TopicInfo {
  readonly name: string;
  /** Kafka's text form of the topic UUID; ZERO_UUID when the broker did not say (Metadata < v10). */
  readonly id: string;
  readonly errorCode: number;
  readonly internal: boolean;
  /** Indexed by partition number. */
  readonly partitions: readonly PartitionInfo[];
}

export class ClusterMetadata {
  clusterId: string | null = null;
  controllerId = -1;
  readonly brokers = new Map<number, BrokerInfo>();
  readonly topics = new Map<string, TopicInfo>();
  /** performance.now() of the last update; 0 before the first. */
  updatedAt = 0;

  /** Folds a Metadata response in; `requested` null means it listed every topic. */
  update(response: MetadataResponse, requested: readonly string[] | null): void {
    this.clusterId = response.clusterId;
    this.controllerId = response.controllerId;
    this.brokers.clear();
    for (const broker of response.brokers) {
      this.brokers.set(broker.nodeId, { nodeId: broker.nodeId, host: broker.host, port: broker.port, rack: broker.rack });
    }
    if (requested === null) this.topics.clear();
    for (const topic of response.topics) {
      if (topic.name === null) continue; // Metadata v12 may answer by id only; we always ask by name
      if (topic.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION || topic.errorCode === ErrorCode.INVALID_TOPIC_EXCEPTION) {
        this.topics.delete(topic.name);
        continue;
      }
      const partitions: PartitionInfo[] = [];
      for (const entry of topic.partitions) {
        partitions[entry.partitionIndex] = {
          partition: entry.partitionIndex,
          errorCode: entry.errorCode,
          leader: entry.leaderId,
          leaderEpoch: entry.leaderEpoch,
          replicas: entry.replicaNodes,
          isr: entry.isrNodes,
          offlineReplicas: entry.offlineReplicas,
        };
      }
      assert(partitions.length === topic.partitions.length || topic.errorCode !== ErrorCode.NONE,
        `metadata of ${topic.name}: partition numbers are not 0..n-1`);
      this.topics.set(topic.name, { name: topic.name, id: topic.topicId, errorCode: topic.errorCode, internal: topic.isInternal, partitions });
    }
    this.updatedAt = performance.now();
  }

  topic(name: string): TopicInfo | undefined {
    return this.topics.get(name);
  }

  /** The leader's node id, or -1 when unknown or none. */
  leaderOf(topic: string, partition: number): number {
    return this.topics.get(topic)?.partitions[partition]?.leader ?? -1;
  }

  topicById(id: string): TopicInfo | undefined {
    if (id === ZERO_UUID) return undefined;
    for (const topic of this.topics.values()) if (topic.id === id) return topic;
    return undefined;
  }

  broker(nodeId: number): BrokerInfo | undefined {
    return this.brokers.get(nodeId);
  }
}
