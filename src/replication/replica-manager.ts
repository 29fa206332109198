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
//   its log still recovering at start ........... NOT_LEADER_OR_FOLLOWER (retriable); failed to
//                                                 recover: KAFKA_STORAGE_ERROR
//
// Leadership changes are announced to listeners (the group coordinator loads and unloads its
// __consumer_offsets partitions from them).
//
// Recovery at start: the logs of the first image whose directories exist recover in the
// background, `recoveryThreads` at a time (Kafka's num.recovery.threads.per.data.dir), so that the
// node serves the partitions that are ready while the others recover; each becomes a replica (and
// takes its role, through `onRecovered`) when its log is open. A partition created later gets an
// empty log at once.

import type { TopicConfig } from "../config/index.ts";
import { emptyImage, type MetadataImage, type PartitionRegistration, type TopicImage } from "../cluster/image.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { LogManager, PartitionLog } from "../storage/types.ts";
import { assert } from "../util/assert.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import { NotLeaderOrFollowerError, PartitionUnavailable } from "./errors.ts";
import { NO_EPOCH_CHECK, Partition } from "./partition.ts";

export interface LeadershipChange {
  topic: string;
  partition: number;
  /** True: this node now leads (with `leaderEpoch`); false: it stopped leading. */
  isLeader: boolean;
  leaderEpoch: number;
}

export type LeadershipListener = (change: LeadershipChange) => void;

export type PartitionRecoveryState = "recovering" | "failed";

/**
 * Told which replicas follow which leader (the replica fetchers) and when a leader's follower
 * made progress (ISR expansion). Absent: nothing replicates (tests of one node).
 */
export interface ReplicationObserver {
  /** `replica` follows `replica.leaderId` from now on, in `replica.leaderEpoch`. */
  followed(replica: Partition): void;
  /** `replica` follows no one any more (it leads, is stopped or removed). */
  unfollowed(replica: Partition): void;
  /** A follower's fetch of `replica` (led here) was counted. */
  followerFetched?(replica: Partition): void;
}

/** A replica whose log recovers in the background; the newest registration and config wait with it. */
interface Recovering {
  topic: TopicImage;
  registration: PartitionRegistration;
  config: TopicConfig;
  state: PartitionRecoveryState;
  /** Removed (its topic deleted) while it waited: its log is not made a replica. */
  removed: boolean;
}

export interface ReplicaManagerOptions {
  nodeId: number;
  logs: LogManager;
  /** Logs recovered at once in the background (num.recovery.threads.per.data.dir; default 2). */
  recoveryThreads?: number;
  logger?: Logger;
}

export class ReplicaManager {
  readonly nodeId: number;
  private readonly logs: LogManager;
  private readonly logger: Logger;
  private readonly partitions = new Map<string, Map<number, Partition>>();
  private readonly listeners: LeadershipListener[] = [];
  private readonly recovering = new Map<string, Recovering>();
  private readonly recoveryQueue: string[] = [];
  private recoveriesRunning = 0;
  private recoveryStopped = false;
  private recoveredWaiters: (() => void)[] = [];
  private recoveredListener: ((replica: Partition) => void) | null = null;
  private observer: ReplicationObserver | null = null;
  /** Parked replica fetches, woken when this node starts leading a partition (leader epoch). */
  private readonly leadershipWaiters = new Set<() => void>();
  private readonly recoveryThreads: number;
  /** The image the reconciler last applied (what "in the image" means for lookups). */
  private image: MetadataImage = emptyImage;
  private closed = false;

  constructor(options: ReplicaManagerOptions) {
    this.nodeId = options.nodeId;
    this.logs = options.logs;
    this.logger = options.logger ?? createLogger("replicas");
    this.recoveryThreads = Math.max(1, options.recoveryThreads ?? 2);
  }

  /**
   * Calls `wake` once when this node next starts leading a partition in a new leader epoch.
   * Returns a cancel function (idempotent).
   */
  onLeadershipStarted(wake: () => void): () => void {
    const waiter = () => {
      this.leadershipWaiters.delete(waiter);
      wake();
    };
    this.leadershipWaiters.add(waiter);
    return () => void this.leadershipWaiters.delete(waiter);
  }

  /** The replica fetchers and the ISR manager (set once, before any role is taken). */
  setReplicationObserver(observer: ReplicationObserver): void {
    this.observer = observer;
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
    const state = this.recoveryState(topic, partition);
    if (state === "recovering") throw new PartitionUnavailable(ErrorCode.NOT_LEADER_OR_FOLLOWER, topic, partition, `${topic}-${partition} is still recovering`);
    if (state === "failed") throw new PartitionUnavailable(ErrorCode.KAFKA_STORAGE_ERROR, topic, partition, `${topic}-${partition} failed to recover`);
    const registration = this.image.topicsByName.get(topic)?.partitions[partition];
    if (!registration) throw new PartitionUnavailable(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, topic, partition);
    throw new NotLeaderOrFollowerError(topic, partition, registration.leader, registration.leaderEpoch);
  }

  /** A local replica whose log is not open yet: still recovering, or failed to. */
  recoveryState(topic: string, partition: number): PartitionRecoveryState | null {
    return this.recovering.get(recoveryKey(topic, partition))?.state ?? null;
  }

  /** Resolves once every background recovery started so far has finished (or failed). */
  recovered(): Promise<void> {
    if (this.recoveryQueue.length === 0 && this.recoveriesRunning === 0) return Promise.resolve();
    return new Promise((resolve) => this.recoveredWaiters.push(resolve));
  }

  /** Shutting down: start no further recovery; resolves when the ones under way are done. */
  stopRecovery(): Promise<void> {
    this.recoveryStopped = true;
    this.recoveryQueue.length = 0;
    return this.recovered();
  }

  /** Called with each replica whose log finished recovering in the background (the reconciler gives it its role). */
  onRecovered(listener: (replica: Partition) => void): void {
    this.recoveredListener = listener;
  }

  // ----- the reconciler's side ------------------------------------------------------------------

  /** The image being applied: lookups classify errors against it. */
  setImage(image: MetadataImage): void {
    this.image = image;
  }

  /**
   * Create or open the partition's log (with its topic id) and its replica, role not set yet. With
   * `background`, a log found on disk (it must recover) is queued instead and this resolves null:
   * the replica appears through `onRecovered`. A partition already recovering resolves null too,
   * its newest registration kept for then.
   */
  async ensurePartition(topic: TopicImage, registration: PartitionRegistration, config: TopicConfig, background = false): Promise<Partition | null> {
    assert(!this.closed, "the replica manager is closed");
    const index = registration.partition;
    const existing = this.partition(topic.name, index);
    if (existing) {
      assert(existing.topicId === topic.id, `${topic.name}-${index} is still the replica of topic id ${existing.topicId}`);
      return existing;
    }
    const key = recoveryKey(topic.name, index);
    const pending = this.recovering.get(key);
    if (pending && pending.topic.id === topic.id) {
      Object.assign(pending, { topic, registration, config });
      return null;
    }
    if (background && this.logs.isFound?.(topic.name, index)) {
      this.recovering.set(key, { topic, registration, config, state: "recovering", removed: false });
      this.recoveryQueue.push(key);
      this.pumpRecoveries();
      return null;
    }
    const log = await this.logs.create(topic.name, index, config, { topicId: topic.id });
    return this.addReplica(topic, registration, config, log);
  }

  private addReplica(topic: TopicImage, registration: PartitionRegistration, config: TopicConfig, log: PartitionLog): Partition {
    const replica = new Partition(topic.name, registration.partition, topic.id, log, this.nodeId, registration, config, this.logger.child(`${topic.name}-${registration.partition}`));
    replica.onFollowerFetched = (fetched) => this.observer?.followerFetched?.(fetched);
    let byIndex = this.partitions.get(topic.name);
    if (!byIndex) this.partitions.set(topic.name, (byIndex = new Map()));
    byIndex.set(registration.partition, replica);
    return replica;
  }

  private pumpRecoveries(): void {
    while (this.recoveriesRunning < this.recoveryThreads && this.recoveryQueue.length > 0 && !this.recoveryStopped && !this.closed) {
      const key = this.recoveryQueue.shift()!;
      this.recoveriesRunning += 1;
      void this.recoverOne(key).finally(() => {
        this.recoveriesRunning -= 1;
        this.pumpRecoveries();
        if (this.recoveriesRunning === 0 && this.recoveryQueue.length === 0) {
          for (const wake of this.recoveredWaiters.splice(0)) wake();
        }
      });
    }
  }

  private async recoverOne(key: string): Promise<void> {
    const entry = this.recovering.get(key);
    if (!entry || entry.removed) return;
    const where = `${entry.topic.name}-${entry.registration.partition}`;
    try {
      const log = await this.logs.create(entry.topic.name, entry.registration.partition, entry.config, { topicId: entry.topic.id });
      if (entry.removed || this.closed) return;
      this.recovering.delete(key);
      const replica = this.addReplica(entry.topic, entry.registration, entry.config, log);
      replica.updateConfig(entry.config);
      this.recoveredListener?.(replica);
    } catch (error) {
      if (entry.removed || this.closed) return;
      entry.state = "failed";
      this.logger.error("a partition's log failed to recover; it stays offline on this node", { partition: where, error: String(error) });
    }
  }

  becomeLeader(replica: Partition, registration: PartitionRegistration): void {
    this.observer?.unfollowed(replica);
    if (replica.makeLeader(registration)) {
      // A follower's fetch parked here for its other partitions returns now, so that its next
      // fetch carries this one too (it would otherwise wait out replica.fetch.wait.max.ms).
      for (const wake of [...this.leadershipWaiters]) wake();
      this.announce({ topic: replica.topic, partition: replica.partition, isLeader: true, leaderEpoch: registration.leaderEpoch });
    }
  }

  /** Follower role: the replica fetchers fetch it from its leader (none while it has no leader). */
  becomeFollower(replica: Partition, registration: PartitionRegistration): void {
    const wasLeader = replica.makeFollower(registration);
    if (registration.leader >= 0) this.observer?.followed(replica);
    else this.observer?.unfollowed(replica);
    if (wasLeader) {
      this.announce({ topic: replica.topic, partition: replica.partition, isLeader: false, leaderEpoch: registration.leaderEpoch });
    }
  }

  /** Serve nothing from this replica for now (this node is not a live broker of the image). */
  resign(replica: Partition): void {
    if (replica.role === "none") return;
    const wasLeader = replica.isLeader;
    this.observer?.unfollowed(replica);
    replica.stop();
    if (wasLeader) this.announce({ topic: replica.topic, partition: replica.partition, isLeader: false, leaderEpoch: replica.leaderEpoch });
  }

  /**
   * Stop a replica and drop it; with `deleteLog` its files go too (the topic was deleted). With
   * `topicId`, only a replica of that topic (not of a newer topic of the same name).
   */
  async removePartition(topic: string, partition: number, deleteLog: boolean, topicId?: string): Promise<void> {
    const key = recoveryKey(topic, partition);
    const pending = this.recovering.get(key);
    if (pending && (topicId === undefined || pending.topic.id === topicId)) {
      pending.removed = true;
      this.recovering.delete(key);
      const queued = this.recoveryQueue.indexOf(key);
      if (queued >= 0) this.recoveryQueue.splice(queued, 1);
      // The LogManager waits for an opening under way, then deletes the log or the unopened directory.
      if (deleteLog) await this.logs.delete(topic, partition);
      return;
    }
    const replica = this.partition(topic, partition);
    if (!replica || (topicId !== undefined && replica.topicId !== topicId)) return;
    const wasLeader = replica.isLeader;
    this.observer?.unfollowed(replica);
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
    this.recoveryQueue.length = 0;
    for (const replica of this.all()) {
      this.observer?.unfollowed(replica);
      replica.stop();
    }
  }
}

function recoveryKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
