// The reconciler (docs/replication.md §1): turns each published metadata image into local
// actions, in proportion to its delta. For every partition whose registration changed:
//
//   this node is a replica ─▶ create or open its log (with the topic id), then lead or follow
//   it is not (any more) ───▶ stop the local replica and delete its log (reassigned away)
//
// Roles wait for this process's own registration: until the image holds this node registered with
// this process's incarnation id and unfenced, logs are opened but no partition is led or followed
// (the replayed image of a previous run names this node leader at an old epoch; acting on it would
// serve clients before the controller has fenced and re-elected). When the registration appears or
// changes, every partition this node holds is reconciled again.
//
// Deleted topics: their local replicas are stopped and their logs deleted. Changed topic configs
// are applied live to the local logs. A failure to create or open one log (a full disk) is
// reported for that partition and leaves the others going: the partition has no local replica and
// its clients get NOT_LEADER_OR_FOLLOWER.
//
// Storage decides nothing: after the first image (the whole metadata log replayed), partition
// directories no image names are reported and left alone — never deleted. The logs of that first
// image that exist on disk recover in the background (ReplicaManager); each takes its role from
// the newest image when it is ready.

import type { MetadataDelta, MetadataImage, PartitionRegistration, TopicImage } from "../cluster/image.ts";
import type { TopicConfigs } from "../cluster/topic-configs.ts";
import { readPartitionMetadata, realFs, type StorageFs } from "../storage/index.ts";
import type { LogManager } from "../storage/types.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import { join } from "node:path";
import type { Partition } from "./partition.ts";
import type { ReplicaManager } from "./replica-manager.ts";

export interface ReconcilerOptions {
  nodeId: number;
  /** This process's incarnation id (what it registers with). */
  incarnationId: string;
  replicas: ReplicaManager;
  logs: LogManager;
  topicConfigs: TopicConfigs;
  /** The data directory and its file layer, to read the partition.metadata of unclaimed directories. */
  dataDir?: string;
  fs?: StorageFs;
  logger?: Logger;
  /** Report unclaimed directories only once this node is live in the image (a cluster member catching up). */
  reportUnclaimedWhenLive?: boolean;
}

export class Reconciler {
  private readonly logger: Logger;
  private first = true;
  /** The newest image applied (a log that finishes recovering takes its role from it). */
  private image: MetadataImage | null = null;

  constructor(private readonly options: ReconcilerOptions) {
    this.logger = options.logger ?? createLogger("reconciler");
    options.replicas.onRecovered((replica) => this.applyRole(replica));
  }

  /** A MetadataListener: apply the delta of `image`. */
  readonly apply = async (image: MetadataImage, delta: MetadataDelta): Promise<void> => {
    const { replicas } = this.options;
    this.image = image;
    replicas.setImage(image);
    for (const [id, topic] of delta.deletedTopics) {
      if (image.topicsById.has(id)) continue;
      await this.removeTopic(topic);
    }
    const live = this.isLive(image);
    if (delta.changedBrokers.has(this.options.nodeId)) {
      // Registered, fenced or unfenced: every role this node holds may change.
      for (const topic of image.topicsById.values()) {
        for (const registration of topic.partitions) await this.reconcilePartition(topic, registration, live);
      }
    } else {
      for (const [id, partitions] of delta.changedPartitions) {
        const topic = image.topicsById.get(id);
        if (!topic) continue;
        for (const index of [...partitions].sort((left, right) => left - right)) {
          await this.reconcilePartition(topic, topic.partitions[index]!, live);
        }
      }
    }
    for (const name of delta.changedTopicConfigs) {
      const topic = image.topicsByName.get(name);
      if (topic) this.applyConfig(topic);
    }
    if (this.first && (live || !this.options.reportUnclaimedWhenLive)) {
      this.first = false;
      this.reportUnclaimed(delta);
    }
  };

  /** A replica whose log just finished recovering: its role from the newest image. */
  private applyRole(replica: Partition): void {
    const image = this.image;
    const registration = image?.topicsById.get(replica.topicId)?.partitions[replica.partition];
    if (!image || !registration || !registration.replicas.includes(this.options.nodeId)) return;
    replica.updateConfig(this.options.topicConfigs.of(image.topicsById.get(replica.topicId)!).values);
    if (!this.isLive(image)) return;
    if (registration.leader === this.options.nodeId) this.options.replicas.becomeLeader(replica, registration);
    else this.options.replicas.becomeFollower(replica, registration);
  }

  private async removeTopic(topic: TopicImage): Promise<void> {
    for (const registration of topic.partitions) {
      try {
        await this.options.replicas.removePartition(topic.name, registration.partition, true, topic.id);
      } catch (error) {
        this.logger.error("deleting a partition's log failed", { partition: `${topic.name}-${registration.partition}`, error: String(error) });
      }
    }
    this.options.topicConfigs.forget(topic.name);
  }

  /** This process is registered (its own incarnation) and unfenced in `image`. */
  private isLive(image: MetadataImage): boolean {
    const broker = image.brokers.get(this.options.nodeId);
    return broker !== undefined && broker.incarnationId === this.options.incarnationId && !broker.fenced;
  }

  private async reconcilePartition(topic: TopicImage, registration: PartitionRegistration, live: boolean): Promise<void> {
    const { replicas, nodeId } = this.options;
    const where = `${topic.name}-${registration.partition}`;
    if (!registration.replicas.includes(nodeId)) {
      if (replicas.partition(topic.name, registration.partition)) {
        this.logger.info("no longer a replica: removing the local log", { partition: where });
        await replicas.removePartition(topic.name, registration.partition, true);
      }
      return;
    }
    let replica;
    try {
      // The first image's existing logs recover in the background; later ones open at once.
      replica = await replicas.ensurePartition(topic, registration, this.options.topicConfigs.of(topic).values, this.first);
    } catch (error) {
      this.logger.error("cannot create or open a partition's log; it stays offline on this node", { partition: where, error: String(error) });
      return;
    }
    if (replica === null) return; // recovering: it takes its role when ready
    if (!live) {
      // Not (yet, or no longer) a live broker of this image: serve nothing.
      replicas.resign(replica);
      return;
    }
    if (registration.leader === nodeId) replicas.becomeLeader(replica, registration);
    else replicas.becomeFollower(replica, registration);
  }

  private applyConfig(topic: TopicImage): void {
    const config = this.options.topicConfigs.of(topic).values;
    for (const registration of topic.partitions) this.options.replicas.partition(topic.name, registration.partition)?.updateConfig(config);
  }

  /** After the first image: partition directories nothing named, reported once and left alone. */
  private reportUnclaimed(delta: MetadataDelta): void {
    const fs = this.options.fs ?? realFs;
    for (const found of this.options.logs.unclaimed()) {
      // Queued for recovery in the background: claimed, just not opened yet.
      if (this.options.replicas.recoveryState(found.topic, found.partition) !== null) continue;
      const directory = `${found.topic}-${found.partition}`;
      let topicId: string | null = null;
      try {
        topicId = this.options.dataDir ? readPartitionMetadata(fs, join(this.options.dataDir, directory)) : null;
      } catch {
        topicId = null;
      }
      const deleted = topicId !== null && delta.deletedTopics.has(topicId);
      this.logger.warn("partition directory not named by the metadata image; left alone (remove it by hand when it is not needed)", {
        directory,
        topicId: topicId ?? "unknown",
        why: deleted ? "its topic was deleted (the deletion was interrupted)" : "no topic of this metadata log has it",
      });
    }
  }
}
