// Every partition log of this node, under `<dataDir>/<topic>-<partition>/` (Kafka's layout), with
// the node-wide pieces: the recovery-point, log-start-offset and high-watermark
// (replication-offset-checkpoint) checkpoint files, the LRUs of mapped segments and of open segment
// files, and the background schedulers (retention every log.retention.check.interval.ms,
// checkpoints every log.flush.offset.checkpoint.interval.ms).
//
// Storage does not decide which partitions exist: `open()` only reads the checkpoint files and
// lists the partition directories it finds; the node's replica layer (src/replication/) creates or
// opens — recovers — the logs the metadata image names, with their topic ids (in the background at
// start). A directory that holds another topic's data (its partition.metadata names another id, or
// none) is moved aside as `<topic>-<partition>.<id>-stray`, never deleted; directories nobody
// claims are left alone (`unclaimed()` lists them). Tools and tests that want every directory
// opened call `openFound()`.
//
// A found log that cannot be opened (an unreadable file, an inconsistency recovery will not guess
// about) fails alone (KAFKA_STORAGE_ERROR; the replica layer keeps it offline) and the node goes on
// with the others; a partition that cannot be created (EMFILE, ENOSPC) leaves no directory behind.

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
import { realFs, type StorageFs } from "./fs.ts";
import { DescriptorCache } from "./descriptors.ts";
import { MappingCache } from "./mapping.ts";
import { readPartitionMetadata, writePartitionMetadata } from "./partition-metadata.ts";
import { Log } from "./partition-log.ts";
import { storageError } from "./segment.ts";
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
  /**
   * Most segment files open at once across all partitions (default 1024; the node sizes it from
   * RLIMIT_NOFILE): the descriptors of the least recently used are closed (descriptors.ts).
   */
  segmentDescriptorsMax?: number;
  /** Most logs closed at once at shutdown (default 64): each holds index files open until its last sync. */
  closeConcurrencyMax?: number;
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
 * Most logs closed at once, by default. Closing a log writes the index files of its stale segments
 * (two more descriptors each, held until its last fdatasync): closing 10,000 logs all at once ran
 * out of file descriptors (EMFILE).
 */
const logsClosingMax = 64;

/** "topic partition" lines of the clean-shutdown marker: partitions that were not closed cleanly. */
function parseUncleanList(bytes: Uint8Array): string[] {
  const keys: string[] = [];
  for (const line of new TextDecoder().decode(bytes).split("\n")) {
    const match = /^(\S+) (\d+)$/.exec(line);
    if (match) keys.push(partitionKey(match[1]!, Number(match[2])));
  }
  return keys;
}

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
  /** Open segment files of every log (descriptors.ts). */
  readonly descriptors: DescriptorCache;
  private readonly logs = new Map<string, Log>();
  /** Whether the previous run ended with a clean shutdown (cleanShutdown is reset after recovery). */
  private previousShutdownClean = false;
  /** Partitions the last clean shutdown named as not closed cleanly (they were offline). */
  private uncleanAtShutdown = new Set<string>();
  /**
   * The same logs by topic, then partition: get() needs no key string per call (a Fetch of 1,000
   * partitions looks up 1,000 logs; building and hashing `topic\0partition` was most of it).
   */
  private readonly logsByTopic = new Map<string, Map<number, Log>>();
  private readonly opening = new Map<string, Promise<Log>>();
  /** Partition directories found at open and not opened, moved aside or deleted since. */
  private readonly found = new Map<string, PartitionDirectory>();
  /** Found directories whose log failed to open (their files may be half-recovered). */
  private readonly failedFound = new Set<string>();
  /** fdatasyncs of recovered logs still holding descriptors (descriptors.ts). */
  private readonly recoverySyncs: Promise<void>[] = [];
  private recoveryPoints: CheckpointEntries = new Map();
  private logStartOffsets: CheckpointEntries = new Map();
  private highWatermarks: CheckpointEntries = new Map();
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
    this.descriptors = new DescriptorCache(options.segmentDescriptorsMax ?? 1024);
  }

  /** Read the checkpoint files and the clean-shutdown marker, list the partition directories. Opens no log. */
  async open(): Promise<void> {
    this.fs.mkdir(this.dataDir);
    const recovery = readCheckpoint(this.fs, this.dataDir, recoveryPointCheckpointFile);
    const starts = readCheckpoint(this.fs, this.dataDir, logStartOffsetCheckpointFile);
    const highWatermarks = readCheckpoint(this.fs, this.dataDir, highWatermarkCheckpointFile);
    if (recovery.error !== null) {
      this.logger.error("ignoring a damaged recovery checkpoint file; recovery verifies whole logs", { error: recovery.error });
    }
    if (starts.error !== null) {
      this.logger.error("ignoring a damaged log start offset checkpoint file; records deleted by DeleteRecords may be readable again", { error: starts.error });
    }
    if (highWatermarks.error !== null) {
      this.logger.error("ignoring a damaged high watermark checkpoint file; each leader recomputes its high watermark", { error: highWatermarks.error });
    }
    this.recoveryPoints = recovery.entries;
    this.logStartOffsets = starts.entries;
    this.highWatermarks = highWatermarks.entries;
    const markerPath = join(this.dataDir, cleanShutdownFile);
    const marker = this.fs.readFile(markerPath);
    if (marker !== null) {
      // Written just before the marker at every clean shutdown: missing now means removed by hand.
      for (const name of [recoveryPointCheckpointFile, logStartOffsetCheckpointFile]) {
        if (!this.fs.exists(join(this.dataDir, name))) this.logger.error("a checkpoint file written at the last clean shutdown is missing; recovery verifies whole logs", { file: join(this.dataDir, name) });
      }
    }
    this.cleanShutdown = marker !== null && recovery.error === null;
    this.uncleanAtShutdown = new Set(marker === null ? [] : parseUncleanList(marker));
    if (marker !== null) {
      this.fs.unlink(markerPath);
      await this.fs.fsyncDir(this.dataDir);
    }
    this.previousShutdownClean = this.cleanShutdown;
    for (const name of this.fs.readdir(this.dataDir).sort()) {
      const match = partitionDirectoryPattern.exec(name);
      if (!match || !topicNamePattern.test(match[1]!) || match[1] === clusterMetadataTopic) continue;
      if (!this.fs.exists(join(this.dataDir, name, "."))) continue;
      this.found.set(partitionKey(match[1]!, Number(match[2])), { topic: match[1]!, partition: Number(match[2]) });
    }
    // Entries of partitions that have no directory any more (deleted before a crash) are dropped.
    for (const entries of [this.recoveryPoints, this.logStartOffsets, this.highWatermarks]) {
      for (const key of [...entries.keys()]) if (!this.found.has(key)) entries.delete(key);
    }
    this.startBackgroundTasks();
  }

  /** The data directory held the clean-shutdown marker at open (the broker registers with it: KIP-966). */
  get foundCleanShutdown(): boolean {
    return this.previousShutdownClean;
  }

  /** Open every partition directory found at open (tools and tests; a node's replica layer opens what the image names). */
  async openFound(): Promise<void> {
    for (const { topic, partition } of [...this.found.values()]) {
      try {
        await this.create(topic, partition, this.configFor(topic));
      } catch (error) {
        if (this.closed) return;
      }
    }
  }

  unclaimed(): PartitionDirectory[] {
    return [...this.found.values()];
  }

  /** The partition's directory was found at open and its log is not open yet: opening it recovers it. */
  isFound(topic: string, partition: number): boolean {
    return this.found.has(partitionKey(topic, partition));
  }

  private configFor(topic: string): TopicConfig {
    return this.options.topicConfigFor?.(topic) ?? topicDefaults(this.options.brokerConfig);
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
    const inProgress = this.opening.get(key);
    if (inProgress) return inProgress;
    if (options.topicId !== undefined) await this.claimDirectory(topic, partition, options.topicId);
    const directory = join(this.dataDir, `${topic}-${partition}`);
    // Found at open (and not moved aside): opening it recovers it. Otherwise a new partition.
    const found = this.found.has(key);
    if (!found) {
      // Checkpoint entries of an earlier partition of that name (deleted, then a crash before the
      // checkpoints were rewritten) must not make it look like a log whose data vanished.
      this.recoveryPoints.delete(key);
      this.logStartOffsets.delete(key);
      this.highWatermarks.delete(key);
    }
    try {
      const log = await this.openLog(topic, partition, config);
      if (found) await this.afterRecovered(log);
      return log;
    } catch (error) {
      if (found && !this.closed) {
        this.failedFound.add(key);
        this.logger.error("partition failed to recover; it stays offline (KAFKA_STORAGE_ERROR) until the node restarts, every other partition is served", {
          directory, error: error instanceof Error ? error.message : String(error),
        });
      }
      // Leave no half-created partition behind.
      if (!found) this.removeQuietly(directory);
      if (error instanceof KafkaError) throw error;
      throw storageError(`${found ? "recovering" : "creating"} partition ${topic}-${partition}`, error);
    }
  }

  private removeQuietly(directory: string): void {
    try {
      this.fs.removeDir(directory);
    } catch (removeError) {
      this.logger.warn("could not remove the directory of a partition that failed to be created", { directory, error: String(removeError) });
    }
  }

  /**
   * A recovered log whose scanned segments still wait for an fdatasync holds their descriptors
   * until it is done (descriptors.ts): that sync runs in the background, and recovery waits for the
   * pending ones when the open segment files reach three quarters of their budget.
   */
  private async afterRecovered(log: Log): Promise<void> {
    const syncing = log.syncAfterRecovery();
    if (syncing) this.recoverySyncs.push(syncing.catch(() => {}));
    if (this.descriptors.openCount * 4 >= this.descriptors.descriptorsMax * 3) await Promise.all(this.recoverySyncs.splice(0));
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
    this.failedFound.delete(key);
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
        this.failedFound.delete(key);
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
      descriptors: this.descriptors,
      recoveryPoint: this.recoveryPoints.get(key),
      logStartOffset: this.logStartOffsets.get(key),
      highWatermark: this.highWatermarks.get(key),
      // Only logs found at open were closed by the shutdown that wrote the marker.
      cleanShutdown: this.cleanShutdown && this.found.has(key) && this.recoveryPoints.has(key) && !this.uncleanAtShutdown.has(key),
      onLogStartOffsetChanged: () => void this.writeCheckpoints(),
      persistCheckpoints: () => this.writeCheckpoints(),
    });
  }

  async delete(topic: string, partition: number): Promise<void> {
    const key = partitionKey(topic, partition);
    const inProgress = this.opening.get(key);
    if (inProgress) await inProgress.catch(() => {});
    if (!this.logs.has(key) && this.found.has(key)) {
      // Found at open and not opened (not yet, or it failed to): its files go without opening them.
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
    await Promise.all(this.recoverySyncs.splice(0));
    if (this.retentionRunning) await this.retentionRunning;
    const results = await settleInBatches([...this.logs.values()], this.options.closeConcurrencyMax ?? logsClosingMax, (log) => log.close());
    await this.writeCheckpoints();
    this.logs.clear();
    this.logsByTopic.clear();
    const failed = results.find((result) => result.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    // The marker names the partitions whose files this run may have left unclean: those that failed
    // to recover (recovery may have changed their files before it failed), and those never opened
    // in this run whose previous shutdown was not clean either. Their next recovery must not take
    // the checkpoint for their exact end; every other partition's is exact.
    const unclean = [...this.found.entries()]
      .filter(([key]) => this.failedFound.has(key) || !this.previousShutdownClean || this.uncleanAtShutdown.has(key))
      .map(([, entry]) => `${entry.topic} ${entry.partition}\n`)
      .join("");
    if (!this.checkpointFailed) await this.fs.writeFileAtomic(join(this.dataDir, cleanShutdownFile), new TextEncoder().encode(unclean));
  }
}
