// The groups subsystem of a node: the classic group coordinator (and KIP-848 consumer groups) over
// __consumer_offsets. node.ts calls `startGroups` before the metadata log replays, so that the
// leadership of every offsets partition reaches it (offsets-partitions.ts loads and unloads them),
// and puts the result in the broker context (ctx.broker.groups); the Kafka handlers, the HTTP API
// and the CLI use it. `ensureOffsetsTopic` creates __consumer_offsets once the broker is registered.

import type { ClusterAdmin } from "../cluster/admin.ts";
import { liveBrokers, type MetadataImage } from "../cluster/image.ts";
import type { BrokerConfig } from "../config/index.ts";
import type { ReplicaManager } from "../replication/replica-manager.ts";
import { createLogger } from "../util/logger.ts";
import { ConsumerGroups } from "./consumer-groups.ts";
import { GroupCoordinator, coordinatorConfigFrom } from "./coordinator.ts";
import { OffsetsLog } from "./offsets-log.ts";
import { OffsetsPartitions } from "./offsets-partitions.ts";
import { OFFSETS_TOPIC } from "./partition-for.ts";
import { systemScheduler, type Scheduler } from "./scheduler.ts";
import type { PartitionLag } from "./types.ts";

export { GroupCoordinator, coordinatorConfigFrom, type GroupCoordinatorConfig } from "./coordinator.ts";
export { OFFSETS_TOPIC, offsetsPartitionFor, javaStringHashCode } from "./partition-for.ts";
export type * from "./types.ts";
export { ConsumerGroups, type ConsumerHeartbeatInput, type ConsumerHeartbeatResult, type TopicPartitions } from "./consumer-groups.ts";

const log = createLogger("groups");

export interface Groups {
  readonly coordinator: GroupCoordinator;
  readonly offsetsLog: OffsetsLog;
  /** KIP-848 consumer groups (ConsumerGroupHeartbeat); their offsets live in `coordinator`. */
  readonly consumerGroups: ConsumerGroups;
  /** The offsets partitions this node leads and has loaded. */
  readonly partitions: OffsetsPartitions;
  /**
   * NONE when this node coordinates `groupId` now; else NOT_COORDINATOR,
   * COORDINATOR_LOAD_IN_PROGRESS or COORDINATOR_NOT_AVAILABLE (see offsets-partitions.ts).
   */
  coordinatorError(groupId: string): number;
  /** Committed offset, log end (high watermark) and lag per partition the group committed. */
  groupLag(groupId: string): PartitionLag[];
  close(): void;
}

export function startGroups(options: {
  config: BrokerConfig;
  replicas: ReplicaManager;
  /** The published metadata image (the partition count of __consumer_offsets). */
  metadata: () => MetadataImage;
  scheduler?: Scheduler;
  syncWrites?: boolean;
}): Groups {
  const { config, replicas, metadata } = options;
  const offsetsLog = new OffsetsLog({
    replicas,
    partitionCount: () => metadata().topicsByName.get(OFFSETS_TOPIC)?.partitions.length,
    syncWrites: options.syncWrites,
    commitTimeoutMs: config["offsets.commit.timeout.ms"],
  });
  const scheduler = options.scheduler ?? systemScheduler;
  const coordinator = new GroupCoordinator(coordinatorConfigFrom(config), scheduler, offsetsLog);
  const consumerGroups = new ConsumerGroups(
    {
      sessionTimeoutMs: config["group.consumer.session.timeout.ms"],
      heartbeatIntervalMs: config["group.consumer.heartbeat.interval.ms"],
      groupMaxSize: config["group.max.size"],
    },
    scheduler,
    {
      byName: (name) => {
        const topic = metadata().topicsByName.get(name);
        return topic ? { id: topic.id, partitions: topic.partitions.length } : undefined;
      },
      byId: (id) => {
        const topic = metadata().topicsById.get(id);
        return topic ? { name: topic.name, partitions: topic.partitions.length } : undefined;
      },
    },
    (groupId) => coordinator.hasMembers(groupId),
  );
  coordinator.attachConsumerGroups(consumerGroups);
  const partitions = new OffsetsPartitions(coordinator, consumerGroups, offsetsLog, replicas, log);
  replicas.onLeadershipChange(partitions.onLeadershipChange);
  coordinator.start();
  return {
    coordinator,
    offsetsLog,
    consumerGroups,
    partitions,
    coordinatorError: (groupId) => partitions.errorFor(groupId),
    groupLag: (groupId) =>
      coordinator.groupLag(groupId, (topic, partition) => replicas.partition(topic, partition)?.highWatermark),
    close: () => {
      partitions.close();
      consumerGroups.close();
      coordinator.close();
    },
  };
}

/**
 * Create __consumer_offsets if it does not exist (compacted; offsets.topic.num.partitions
 * partitions; offsets.topic.replication.factor replicas, capped at the live brokers when it is
 * first created — docs/replication.md §3). With `atStartOfClusterOf` (a broker's start, with the
 * number of brokers the cluster is expected to have), only once min(that, the replication factor)
 * brokers are live; otherwise FindCoordinator creates it on first use, as Kafka does.
 */
export async function ensureOffsetsTopic(
  admin: ClusterAdmin,
  config: BrokerConfig,
  image: MetadataImage,
  options: { atStartOfClusterOf?: number } = {},
): Promise<void> {
  if (image.topicsByName.has(OFFSETS_TOPIC)) return;
  const live = liveBrokers(image).length;
  // At start, a broker of a cluster whose other brokers are not up yet leaves the creation to a
  // later broker (or to the first FindCoordinator), so the topic gets its full replication factor;
  // a cluster of one creates it at once (capped to one replica).
  const expected = options.atStartOfClusterOf;
  if (expected !== undefined && live < Math.min(config["offsets.topic.replication.factor"], expected)) return;
  const replicationFactor = Math.max(1, Math.min(config["offsets.topic.replication.factor"], live));
  try {
    await admin.createTopic({
      name: OFFSETS_TOPIC,
      numPartitions: config["offsets.topic.num.partitions"],
      replicationFactor,
      assignments: null,
      configs: { "cleanup.policy": "compact", "segment.bytes": String(config["offsets.topic.segment.bytes"]) },
    });
    log.info("created the offsets topic", { partitions: config["offsets.topic.num.partitions"], replicationFactor });
  } catch (error) {
    // Created meanwhile by another broker's request: fine.
    if (!admin.isAlreadyExists(error)) throw error;
  }
}
