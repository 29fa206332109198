// The groups subsystem of a node: the classic group coordinator over __consumer_offsets.
// node.ts calls `startGroups` after the cluster store is open and puts the result in the broker
// context (ctx.broker.groups); the Kafka handlers, the HTTP API and the CLI use it.

import type { ClusterStore } from "../cluster/index.ts";
import type { BrokerConfig } from "../config/index.ts";
import { createLogger } from "../util/logger.ts";
import { ConsumerGroups } from "./consumer-groups.ts";
import { GroupCoordinator, coordinatorConfigFrom } from "./coordinator.ts";
import { OffsetsLog } from "./offsets-log.ts";
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
  /** Committed offset, log end (high watermark) and lag per partition the group committed. */
  groupLag(groupId: string): PartitionLag[];
  close(): void;
}

export async function startGroups(options: {
  config: BrokerConfig;
  cluster: ClusterStore;
  scheduler?: Scheduler;
  syncWrites?: boolean;
}): Promise<Groups> {
  const { config, cluster } = options;
  const offsetsLog = await OffsetsLog.open({
    cluster,
    partitionCount: config["offsets.topic.num.partitions"],
    segmentBytes: config["offsets.topic.segment.bytes"],
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
        const topic = cluster.topic(name);
        return topic ? { id: topic.id, partitions: topic.partitions } : undefined;
      },
      byId: (id) => {
        const topic = cluster.topicById(id);
        return topic ? { name: topic.name, partitions: topic.partitions } : undefined;
      },
    },
    (groupId) => coordinator.hasMembers(groupId),
  );
  coordinator.attachConsumerGroups(consumerGroups);
  const started = performance.now();
  const loaded = offsetsLog.load((record) => coordinator.loadRecord(record));
  coordinator.finishLoading();
  coordinator.start();
  log.info("groups loaded", { records: loaded.records, bytes: loaded.bytes, ms: Math.round(performance.now() - started) });
  return {
    coordinator,
    offsetsLog,
    consumerGroups,
    groupLag: (groupId) =>
      coordinator.groupLag(groupId, (topic, partition) => cluster.partitionLog(topic, partition)?.highWatermark),
    close: () => {
      consumerGroups.close();
      coordinator.close();
    },
  };
}
