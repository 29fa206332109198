// Every partition replica of this node (Kafka's ReplicaManager): the reconciler creates, promotes,
// demotes and removes them from the metadata image; the Kafka handlers (and the HTTP API) look up
// the partition a client's request names and get it, or the error Kafka answers:
//
//   topic or partition not in the image ........ UNKNOWN_TOPIC_OR_PARTITION
//   in the image, not led by this node .......... NOT_LEADER_OR_FOLLOWER (with the leader's id)
//   in the image, no leader at all .............. NOT_LEADER_OR_FOLLOWER (leader -1; Metadata says
//                                                 LEADER_NOT_AVAILABLE)
//   currentLeaderEpoch older / newer ............ FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH
//
// Leadership changes are announced to listeners (the group coordinator loads and unloads its
// __consumer_offsets partitions from them).

import type { TopicConfig } from "../config/index.ts";
import { emptyImage, type MetadataImage, type PartitionRegistration, type TopicImage } from "../cluster/image.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { LogManager } from "../storage/types.ts";
import { assert } from "../util/assert.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import { NotLeaderOrFollowerError } from "./errors.ts";
import { NO_EPOCH_CHECK, Partition } from "./partition.ts";

export interface LeadershipChange {
  topic: string;
  partition: number;
  /** True: this node now leads (with `leaderEpoch`); false: it stopped leading. */
  isLeader: boolean;
  leaderEpoch: number;
}

export type LeadershipListener = (change: LeadershipChange) => void;

export interface ReplicaManagerOptions {
  nodeId: number;
  logs: LogManager;
  logger?: Logger;
}

export class ReplicaManager {
  readonly nodeId: number;
  private readonly logs: LogManager;
  private readonly logger: Logger;
  private readonly partitions = new Map<string, Map<number, Partition>>();
  private readonly listeners: LeadershipListener[] = [];
  /** The image the reconciler last applied (what "in the image" means for lookups). */
  private image: MetadataImage = emptyImage;
  private closed = false;

  constructor(options: ReplicaManagerOptions) {
    this.nodeId = options.nodeId;
    this.logs = options.logs;
    this.logger = options.logger ?? createLogger("replicas");
  }

  onLeadershipChange(listener: LeadershipListener): void {
    this.listeners.push(listener);
  }

  /** The local replica of a partition, whatever its role. */
  partition(topic: string, partition: number): Partition | undefined {
    return this.partitions.get(topic)?.get(partition);
  }

  /** Every local replica (tests, diagnostics). */
  all(): Partition[] {
    return [...this.partitions.values()].flatMap((byIndex) => [...byIndex.values()]);
  }

  /**
   * The partition a client's request names, if this node leads it in `currentLeaderEpoch` (-1:
   * any); otherwise throws the KafkaError Kafka answers (see the table at the top).
   */
  leaderPartition(topic: string, partition: number, currentLeaderEpoch: number = NO_EPOCH_CHECK): Partition {
    const local = this.partition(topic, partition);
    if (local) {
      local.checkLeader(currentLeaderEpoch);
      return local;
    }
    const registration = this.image.topicsByName.get(topic)?.partitions[partition];
    if (!registration) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `This server does not host this topic-partition: ${topic}-${partition}`);
    throw new NotLeaderOrFollowerError(topic, partition, registration.leader, registration.leaderEpoch);
  }

  // ----- the reconciler's side ------------------------------------------------------------------

  /** The image being applied: lookups classify errors against it. */
  setImage(image: MetadataImage): void {
    this.image = image;
  }

  /** Create or open the partition's log (with its topic id) and its replica, role not set yet. */
  async ensurePartition(topic: TopicImage, registration: PartitionRegistration, config: TopicConfig): Promise<Partition> {
    assert(!this.closed, "the replica manager is closed");
    const existing = this.partition(topic.name, registration.partition);
    if (existing) {
      assert(existing.topicId === topic.id, `${topic.name}-${registration.partition} is still the replica of topic id ${existing.topicId}`);
      return existing;
    }
    const log = await this.logs.create(topic.name, registration.partition, config, { topicId: topic.id });
    const replica = new Partition(topic.name, registration.partition, topic.id, log, this.nodeId, registration, config, this.logger.child(`${topic.name}-${registration.partition}`));
    let byIndex = this.partitions.get(topic.name);
    if (!byIndex) this.partitions.set(topic.name, (byIndex = new Map()));
    byIndex.set(registration.partition, replica);
    return replica;
  }

  becomeLeader(replica: Partition, registration: PartitionRegistration): void {
    if (replica.makeLeader(registration)) {
      this.announce({ topic: replica.topic, partition: replica.partition, isLeader: true, leaderEpoch: registration.leaderEpoch });
    }
  }

  /** Follower role: a stub until the replica fetcher (issue 9, next step); see Partition.makeFollower. */
  becomeFollower(replica: Partition, registration: PartitionRegistration): void {
    if (replica.makeFollower(registration)) {
      this.announce({ topic: replica.topic, partition: replica.partition, isLeader: false, leaderEpoch: registration.leaderEpoch });
    }
  }

  /** Serve nothing from this replica for now (this node is not a live broker of the image). */
  resign(replica: Partition): void {
    if (replica.role === "none") return;
    const wasLeader = replica.isLeader;
    replica.stop();
    if (wasLeader) this.announce({ topic: replica.topic, partition: replica.partition, isLeader: false, leaderEpoch: replica.leaderEpoch });
  }

  /**
   * Stop a replica and drop it; with `deleteLog` its files go too (the topic was deleted). With
   * `topicId`, only a replica of that topic (not of a newer topic of the same name).
   */
  async removePartition(topic: string, partition: number, deleteLog: boolean, topicId?: string): Promise<void> {
    const replica = this.partition(topic, partition);
    if (!replica || (topicId !== undefined && replica.topicId !== topicId)) return;
    const wasLeader = replica.isLeader;
    replica.stop();
    const byIndex = this.partitions.get(topic)!;
    byIndex.delete(partition);
    if (byIndex.size === 0) this.partitions.delete(topic);
    if (wasLeader) this.announce({ topic, partition, isLeader: false, leaderEpoch: replica.leaderEpoch });
    if (deleteLog) await this.logs.delete(topic, partition);
  }

  private announce(change: LeadershipChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.logger.error("leadership listener failed", { topic: change.topic, partition: change.partition, error: String(error) });
      }
    }
  }

  /** Stop every replica (waiters wake and answer); the logs are closed by their LogManager. */
  close(): void {
    this.closed = true;
    for (const replica of this.all()) replica.stop();
  }
}
