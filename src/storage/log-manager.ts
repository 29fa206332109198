// Every partition log of this node, under `<dataDir>/<topic>-<partition>/` (Kafka's layout), with
// the node-wide pieces: the recovery-point, log-start-offset and high-watermark
// (replication-offset-checkpoint) checkpoint files, the LRU of mapped segments, and the background
// schedulers (retention every log.retention.check.interval.ms, checkpoints every
// log.flush.offset.checkpoint.interval.ms).
//
// Storage does not decide which partitions exist: `open()` only reads the checkpoint files and
// lists the partition directories it finds; the node's reconciler (src/replication/) creates or
// opens the logs the metadata image names, with their topic ids. A directory that holds another
// topic's data (its partition.metadata names another id, or none) is moved aside as
// `<topic>-<partition>.<id>-stray`, never deleted; directories nobody claims are left alone
// (`unclaimed()` lists them). Tools and tests that want every directory opened call `openFound()`.

import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { LONG_MAX, topicDefaults, type BrokerConfig, type TopicConfig } from "../config/index.ts";
import { native as defaultNative } from "../native/index.ts";
import type { NativeApi } from "../native/types.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { assert } from "../util/assert.ts";
import { systemClock, type Clock } from "../util/clock.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import {
  highWatermarkCheckpointFile,
  logStartOffsetCheckpointFile,
  partitionKey,
  readCheckpoint,
  recoveryPointCheckpointFile,
  writeCheckpoint,
  type CheckpointEntries,
} from "./checkpoint.ts";
import { readPartitionMetadata, writePartitionMetadata } from "./partition-metadata.ts";
import { realFs, type StorageFs } from "./fs.ts";
import { MappingCache } from "./mapping.ts";
import { Log } from "./partition-log.ts";
import type { CreateLogOptions, LogManager, PartitionDirectory, PartitionLog, ProducerStateManager } from "./types.ts";

export interface LogManagerOptions {
  dataDir: string;
  brokerConfig: BrokerConfig;
  /** Topic config of a partition found on disk at open(); default: the broker's topic defaults. */
  topicConfigFor?(topic: string): TopicConfig;
  fs?: StorageFs;
  native?: NativeApi;
  producerStateFactory?: (topic: string, partition: number) => ProducerStateManager;
  clock?: Clock;
  logger?: Logger;
  /** Most segments mapped at once across all partitions (default 4096; vm.max_map_count is 65530). */
  mappedSegmentsMax?: number;
  /** Start the retention and checkpoint timers (default true; tests call runRetention() instead). */
  backgroundTasks?: boolean;
  /** Test hook, never set in production: awaited before a partition found at open() recovers. */
  beforeRecovery?(topic: string, partition: number): Promise<void>;
}

/**
 * The metadata log's partition (`__cluster_metadata-0`, Kafka's name) lives in the data directory
 * but is not a topic: the cluster layer opens it on its own, and the LogManager never does.
 */
export const clusterMetadataTopic = "__cluster_metadata";

/** Kafka's legal topic names; the directory name is `<topic>-<partition>`. */
const topicNamePattern = /^[a-zA-Z0-9._-]{1,249}$/;
const partitionDirectoryPattern = /^(.+)-(\d+)$/;
/**
 * Written after every log was flushed and closed and the checkpoints were written; removed at open
 * before anything is appended. While it exists, the checkpointed recovery points are exact log end
 * offsets and recovery can skip rescanning the active segments (Kafka's .kafka_cleanshutdown).
 */
export const cleanShutdownFile = ".runnel_cleanshutdown";

/**
 * Most logs closed at once. Closing a log writes the index files of its stale segments (two more
 * descriptors each, held until its last fdatasync): closing 10,000 logs all at once ran out of file
 * descriptors (EMFILE) on top of the one each open segment holds.
 */
const logsClosingMax = 64;

/** `action` on every item, at most `concurrencyMax` at a time; the results in item order. */
async function settleInBatches<T, R>(items: readonly T[], concurrencyMax: number, action: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  assert(concurrencyMax >= 1, "concurrency must be >= 1");
  const results: PromiseSettledResult<R>[] = [];
  for (let start = 0; start < items.length; start += concurrencyMax) {
    results.push(...(await Promise.allSettled(items.slice(start, start + concurrencyMax).map(action))));
  }
  assert(results.length === items.length, "one result per item");
  return results;
}

export class DataDirLogManager implements LogManager {
  readonly dataDir: string;
  private readonly fs: StorageFs;
  private readonly native: NativeApi;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly mappings: MappingCache;
  private readonly logs = new Map<string, Log>();
  /**
   * The same logs by topic, then partition: get() needs no key string per call (a Fetch of 1,000
   * partitions looks up 1,000 logs; building and hashing `topic\0partition` was most of it).
   */
  private readonly logsByTopic = new Map<string, Map<number, Log>>();
  private readonly opening = new Map<string, Promise<Log>>();
  private recoveryPoints: CheckpointEntries = new Map();
  private logStartOffsets: CheckpointEntries = new Map();
  private highWatermarks: CheckpointEntries = new Map();
  /** Partition directories found at open and not opened, moved aside or deleted since. */
  private readonly found = new Map<string, PartitionDirectory>();
  /**
   * Found directories whose last shutdown was not clean (no marker): while they stay unopened their
   * recovery points are dropped from the next checkpoint, so that a later clean-shutdown marker does
   * not vouch for logs this run never recovered.
   */
  private readonly uncleanFound = new Set<string>();
  private checkpointChain: Promise<void> = Promise.resolve();
  private checkpointQueued = false;
  private timers: ReturnType<typeof setInterval>[] = [];
  private retentionRunning: Promise<number> | null = null;
  private closed = false;
  private cleanShutdown = false;
  private checkpointFailed = false;

  constructor(private readonly options: LogManagerOptions) {
    this.dataDir = options.dataDir;
    this.fs = options.fs ?? realFs;
    this.native = options.native ?? defaultNative;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? createLogger("storage");
    this.mappings = new MappingCache(options.mappedSegmentsMax ?? 4096);
  }

  /** Read the checkpoint files and the clean-shutdown marker, list the partition directories. Opens no log. */
  async open(): Promise<void> {
    this.fs.mkdir(this.dataDir);
    const recovery = readCheckpoint(this.fs, this.dataDir, recoveryPointCheckpointFile);
    const starts = readCheckpoint(this.fs, this.dataDir, logStartOffsetCheckpointFile);
    const highWatermarks = readCheckpoint(this.fs, this.dataDir, highWatermarkCheckpointFile);
    for (const error of [recovery.error, starts.error, highWatermarks.error]) {
      if (error !== null) this.logger.warn("ignoring a damaged checkpoint file; recovery scans whole logs", { error });
    }
    this.recoveryPoints = recovery.entries;
    this.logStartOffsets = starts.entries;
    this.highWatermarks = highWatermarks.entries;
    const markerPath = join(this.dataDir, cleanShutdownFile);
    this.cleanShutdown = this.fs.exists(markerPath) && recovery.error === null;
    if (this.fs.exists(markerPath)) {
      this.fs.unlink(markerPath);
      await this.fs.fsyncDir(this.dataDir);
    }
    for (const name of this.fs.readdir(this.dataDir).sort()) {
      const match = partitionDirectoryPattern.exec(name);
      if (!match || !topicNamePattern.test(match[1]!)) continue;
      if (!this.fs.exists(join(this.dataDir, name, "."))) continue;
      const topic = match[1]!;
      if (topic === clusterMetadataTopic) continue;
      const key = partitionKey(topic, Number(match[2]));
      this.found.set(key, { topic, partition: Number(match[2]) });
      if (!this.cleanShutdown) this.uncleanFound.add(key);
    }
    this.startBackgroundTasks();
  }

  /** The data directory held the clean-shutdown marker at open (the broker registers with it: KIP-966). */
  get foundCleanShutdown(): boolean {
    return this.cleanShutdown;
  }

  /** Open every partition directory found at open (tools and tests; a node's reconciler opens what the image names). */
  async openFound(): Promise<void> {
    for (const { topic, partition } of [...this.found.values()]) {
      await this.openLog(topic, partition, this.options.topicConfigFor?.(topic) ?? topicDefaults(this.options.brokerConfig));
    }
  }

  unclaimed(): PartitionDirectory[] {
    return [...this.found.values()];
  }

  /** The partition's directory was found at open and its log is not open yet: opening it recovers it. */
  isFound(topic: string, partition: number): boolean {
    return this.found.has(partitionKey(topic, partition));
  }

  get(topic: string, partition: number): PartitionLog | undefined {
    return this.logsByTopic.get(topic)?.get(partition);
  }

  /** The concrete log (extra methods: runRetention, recoveryPoint, segment listing). */
  getLog(topic: string, partition: number): Log | undefined {
    return this.logsByTopic.get(topic)?.get(partition);
  }

  async create(topic: string, partition: number, config: TopicConfig, options: CreateLogOptions = {}): Promise<PartitionLog> {
    if (!topicNamePattern.test(topic) || topic === "." || topic === ".." || topic === clusterMetadataTopic) {
      throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `illegal topic name ${JSON.stringify(topic)}`);
    }
    assert(Number.isInteger(partition) && partition >= 0, "partition must be a non-negative integer");
    const key = partitionKey(topic, partition);
    const existing = this.logs.get(key);
    if (existing) {
      existing.updateConfig(config);
      return existing;
    }
    if (options.topicId !== undefined && !this.opening.has(key)) await this.claimDirectory(topic, partition, options.topicId);
    return this.openLog(topic, partition, config);
  }

  /**
   * Make `<topic>-<partition>` the directory of topic id `topicId`: keep it when its
   * partition.metadata names that id, else move it aside (`….<id>-stray`: another topic's data, or
   * a directory of unknown origin — never deleted) and start an empty one with the id written first.
   */
  private async claimDirectory(topic: string, partition: number, topicId: string): Promise<void> {
    const key = partitionKey(topic, partition);
    const directory = join(this.dataDir, `${topic}-${partition}`);
    if (this.fs.exists(directory)) {
      let recorded: string | null;
      try {
        recorded = readPartitionMetadata(this.fs, directory);
      } catch (error) {
        recorded = `damaged (${String(error)})`;
      }
      if (recorded === topicId) return;
      const stray = `${directory}.${randomUUID().replaceAll("-", "")}-stray`;
      this.logger.warn("moving aside a partition directory that belongs to another topic", {
        directory, recordedTopicId: recorded ?? "none", topicId, movedTo: stray,
      });
      this.fs.rename(directory, stray);
      await this.fs.fsyncDir(this.dataDir);
      this.forget(key);
    }
    await writePartitionMetadata(this.fs, directory, topicId);
  }

  /** Drop what the checkpoints and the found list say about a partition whose directory is gone. */
  private forget(key: string): void {
    this.recoveryPoints.delete(key);
    this.logStartOffsets.delete(key);
    this.highWatermarks.delete(key);
    this.found.delete(key);
    this.uncleanFound.delete(key);
  }

  private openLog(topic: string, partition: number, config: TopicConfig): Promise<Log> {
    if (this.closed) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, "log manager is closed");
    const key = partitionKey(topic, partition);
    const inProgress = this.opening.get(key);
    if (inProgress) return inProgress;
    const hook = this.found.has(key) ? this.options.beforeRecovery : undefined;
    const ready = hook ? hook(topic, partition) : Promise.resolve();
    const opening = ready.then(() => {
      if (this.closed) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, "log manager is closed");
      return this.recover(topic, partition, config);
    }).then(
      (log) => {
        this.opening.delete(key);
        this.found.delete(key);
        this.uncleanFound.delete(key);
        this.logs.set(key, log);
        let partitions = this.logsByTopic.get(topic);
        if (!partitions) this.logsByTopic.set(topic, (partitions = new Map()));
        partitions.set(partition, log);
        return log;
      },
      (error: unknown) => {
        this.opening.delete(key);
        throw error;
      },
    );
    this.opening.set(key, opening);
    return opening;
  }

  private recover(topic: string, partition: number, config: TopicConfig): Promise<Log> {
    const key = partitionKey(topic, partition);
    return Log.open({
      directory: join(this.dataDir, `${topic}-${partition}`),
      topic,
      partition,
      config,
      fs: this.fs,
      native: this.native,
      clock: this.clock,
      logger: this.logger.child(`${topic}-${partition}`),
      producerState: this.options.producerStateFactory?.(topic, partition),
      mappings: this.mappings,
      recoveryPoint: this.recoveryPoints.get(key),
      logStartOffset: this.logStartOffsets.get(key),
      highWatermark: this.highWatermarks.get(key),
      // Only logs found at open were closed by the shutdown that wrote the marker.
      cleanShutdown: this.cleanShutdown && this.found.has(key) && this.recoveryPoints.has(key),
      onLogStartOffsetChanged: () => void this.writeCheckpoints(),
    });
  }

  async delete(topic: string, partition: number): Promise<void> {
    const key = partitionKey(topic, partition);
    const inProgress = this.opening.get(key);
    if (inProgress) await inProgress.catch(() => {});
    if (!this.logs.has(key) && this.found.has(key)) {
      // Found at open and not opened (its topic was deleted while it waited to recover): its files
      // go without opening them.
      this.fs.removeDir(join(this.dataDir, `${topic}-${partition}`));
      await this.fs.fsyncDir(this.dataDir);
      this.forget(key);
      await this.writeCheckpoints();
      return;
    }
    const log = this.logs.get(key);
    if (!log) return;
    this.logs.delete(key);
    const partitions = this.logsByTopic.get(topic);
    partitions?.delete(partition);
    if (partitions?.size === 0) this.logsByTopic.delete(topic);
    await log.close();
    this.fs.removeDir(log.directory);
    await this.fs.fsyncDir(this.dataDir);
    this.forget(key);
    await this.writeCheckpoints();
  }

  all(): Iterable<PartitionLog> {
    return this.logs.values();
  }

  /** Apply retention to every log now (the background timer calls this too). */
  runRetention(): Promise<number> {
    if (this.retentionRunning) return this.retentionRunning;
    const run = (async () => {
      let deleted = 0;
      const now = this.clock.nowMs();
      for (const log of [...this.logs.values()]) {
        try {
          deleted += await log.applyRetention(now);
        } catch (error) {
          this.logger.warn("retention failed", { topic: log.topic, partition: log.partition, error: String(error) });
        }
      }
      return deleted;
    })();
    this.retentionRunning = run;
    void run.finally(() => {
      this.retentionRunning = null;
    });
    return run;
  }

  /**
   * Write both checkpoint files from the logs' current recovery points and start offsets. Calls
   * are serialized; a call made while one is being written is folded into the next write.
   */
  writeCheckpoints(): Promise<void> {
    if (this.checkpointQueued) return this.checkpointChain;
    this.checkpointQueued = true;
    this.checkpointChain = this.checkpointChain.then(async () => {
      this.checkpointQueued = false;
      for (const [key, log] of this.logs) {
        this.recoveryPoints.set(key, log.recoveryPoint);
        this.logStartOffsets.set(key, log.logStartOffset);
        this.highWatermarks.set(key, log.highWatermark);
      }
      for (const key of this.uncleanFound) this.recoveryPoints.delete(key);
      await writeCheckpoint(this.fs, this.dataDir, recoveryPointCheckpointFile, this.recoveryPoints);
      await writeCheckpoint(this.fs, this.dataDir, logStartOffsetCheckpointFile, this.logStartOffsets);
      await writeCheckpoint(this.fs, this.dataDir, highWatermarkCheckpointFile, this.highWatermarks);
      this.checkpointFailed = false;
    }).catch((error: unknown) => {
      this.checkpointFailed = true;
      this.logger.error("writing checkpoint files failed", { error: String(error) });
    });
    return this.checkpointChain;
  }

  private startBackgroundTasks(): void {
    if (this.options.backgroundTasks === false) return;
    const config = this.options.brokerConfig;
    const every = (intervalMs: number, task: () => void) => {
      if (intervalMs <= 0 || intervalMs >= LONG_MAX) return;
      const timer = setInterval(task, Math.min(intervalMs, 0x7fffffff));
      timer.unref?.();
      this.timers.push(timer);
    };
    every(config["log.retention.check.interval.ms"], () => void this.runRetention());
    every(config["log.flush.offset.checkpoint.interval.ms"], () => void this.writeCheckpoints());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await Promise.allSettled([...this.opening.values()]);
    if (this.retentionRunning) await this.retentionRunning;
    const results = await settleInBatches([...this.logs.values()], logsClosingMax, (log) => log.close());
    await this.writeCheckpoints();
    this.logs.clear();
    this.logsByTopic.clear();
    const failed = results.find((result) => result.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    // Directories not opened in this run keep the recovery points of the previous one only when it
    // ended cleanly (writeCheckpoints drops the others'), so the marker vouches for nothing unseen.
    if (!this.checkpointFailed) await this.fs.writeFileAtomic(join(this.dataDir, cleanShutdownFile), new Uint8Array(0));
  }
}
