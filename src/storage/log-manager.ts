// Every partition log of this node, under `<dataDir>/<topic>-<partition>/` (Kafka's layout), with
// the node-wide pieces: the recovery-point and log-start-offset checkpoint files, the LRUs of mapped
// segments and of open segment files, and the background schedulers (retention every
// log.retention.check.interval.ms, checkpoints every log.flush.offset.checkpoint.interval.ms).
//
// A partition whose log cannot be opened at start (an unreadable file, an inconsistency recovery
// will not guess about) is taken offline on its own (offline-log.ts: KAFKA_STORAGE_ERROR) and the
// node starts with the others; a partition that cannot be created (EMFILE, ENOSPC) leaves no
// directory behind.

import { join } from "node:path";
import { LONG_MAX, topicDefaults, type BrokerConfig, type TopicConfig } from "../config/index.ts";
import { native as defaultNative } from "../native/index.ts";
import type { NativeApi } from "../native/types.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { assert } from "../util/assert.ts";
import { systemClock, type Clock } from "../util/clock.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import {
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
import { OfflineLog } from "./offline-log.ts";
import { Log } from "./partition-log.ts";
import { storageError } from "./segment.ts";
import type { LogManager, PartitionLog, ProducerStateManager } from "./types.ts";

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
}

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
  /** Partitions found on disk whose log could not be opened (offline-log.ts), by key. */
  private readonly offline = new Map<string, OfflineLog>();
  /** Partitions the last clean shutdown named as not closed cleanly (they were offline). */
  private uncleanAtShutdown = new Set<string>();
  /**
   * The same logs by topic, then partition: get() needs no key string per call (a Fetch of 1,000
   * partitions looks up 1,000 logs; building and hashing `topic\0partition` was most of it).
   */
  private readonly logsByTopic = new Map<string, Map<number, Log>>();
  private readonly opening = new Map<string, Promise<Log>>();
  private recoveryPoints: CheckpointEntries = new Map();
  private logStartOffsets: CheckpointEntries = new Map();
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

  async open(): Promise<void> {
    this.fs.mkdir(this.dataDir);
    const recovery = readCheckpoint(this.fs, this.dataDir, recoveryPointCheckpointFile);
    const starts = readCheckpoint(this.fs, this.dataDir, logStartOffsetCheckpointFile);
    if (recovery.error !== null) {
      this.logger.error("ignoring a damaged recovery checkpoint file; recovery verifies whole logs", { error: recovery.error });
    }
    if (starts.error !== null) {
      this.logger.error("ignoring a damaged log start offset checkpoint file; records deleted by DeleteRecords may be readable again", { error: starts.error });
    }
    this.recoveryPoints = recovery.entries;
    this.logStartOffsets = starts.entries;
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
    // Recovered logs whose scanned segments still wait for an fdatasync hold their descriptors
    // until it is done (descriptors.ts); those syncs run in the background, and the opening waits
    // for them when the open segment files reach three quarters of their budget.
    const recoverySyncs: Promise<void>[] = [];
    for (const name of this.fs.readdir(this.dataDir)) {
      const match = partitionDirectoryPattern.exec(name);
      if (!match || !topicNamePattern.test(match[1]!)) continue;
      if (!this.fs.exists(join(this.dataDir, name, "."))) continue;
      const topic = match[1]!;
      const partition = Number(match[2]);
      const config = this.options.topicConfigFor?.(topic) ?? topicDefaults(this.options.brokerConfig);
      const log = await this.openFound(topic, partition, config);
      const syncing = log?.syncAfterRecovery();
      if (syncing) recoverySyncs.push(syncing);
      if (this.descriptors.openCount * 4 >= this.descriptors.descriptorsMax * 3) await Promise.all(recoverySyncs.splice(0));
    }
    this.cleanShutdown = false; // only the logs found at open were closed cleanly
    // Entries of partitions that have no directory any more (deleted before a crash) are dropped.
    for (const entries of [this.recoveryPoints, this.logStartOffsets]) {
      for (const key of [...entries.keys()]) if (!this.logs.has(key) && !this.offline.has(key)) entries.delete(key);
    }
    if (this.offline.size > 0) {
      this.logger.error("partitions offline (their logs could not be opened; they answer KAFKA_STORAGE_ERROR, every other partition is served)", {
        partitions: [...this.offline.values()].map((log) => `${log.topic}-${log.partition}`).join(","),
      });
    }
    this.startBackgroundTasks();
  }

  /** Open a partition found on disk; on failure it goes offline (logged) and null is returned. */
  private async openFound(topic: string, partition: number, config: TopicConfig): Promise<Log | null> {
    try {
      return await this.openLog(topic, partition, config);
    } catch (error) {
      const key = partitionKey(topic, partition);
      const directory = join(this.dataDir, `${topic}-${partition}`);
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.error("cannot open a partition log; the partition is offline", { directory, error: reason });
      this.offline.set(key, new OfflineLog(topic, partition, directory, reason));
      return null;
    }
  }

  get(topic: string, partition: number): PartitionLog | undefined {
    const log = this.logsByTopic.get(topic)?.get(partition);
    if (log !== undefined || this.offline.size === 0) return log;
    return this.offline.get(partitionKey(topic, partition));
  }

  /** Partitions that could not be opened at start. */
  offlinePartitions(): OfflineLog[] {
    return [...this.offline.values()];
  }

  /** The concrete log (extra methods: runRetention, recoveryPoint, segment listing). */
  getLog(topic: string, partition: number): Log | undefined {
    return this.logsByTopic.get(topic)?.get(partition);
  }

  async create(topic: string, partition: number, config: TopicConfig): Promise<PartitionLog> {
    if (!topicNamePattern.test(topic) || topic === "." || topic === "..") {
      throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `illegal topic name ${JSON.stringify(topic)}`);
    }
    assert(Number.isInteger(partition) && partition >= 0, "partition must be a non-negative integer");
    const key = partitionKey(topic, partition);
    const existing = this.logs.get(key);
    if (existing) {
      existing.updateConfig(config);
      return existing;
    }
    const offline = this.offline.get(key);
    if (offline) return offline;
    const directory = join(this.dataDir, `${topic}-${partition}`);
    const existed = this.fs.exists(directory);
    if (!existed) {
      // A new partition: checkpoint entries of an earlier one of that name (deleted, then a crash
      // before the checkpoints were rewritten) must not make it look like a log whose data vanished.
      this.recoveryPoints.delete(key);
      this.logStartOffsets.delete(key);
    }
    try {
      return await this.openLog(topic, partition, config);
    } catch (error) {
      // Leave no half-created partition behind (it would be adopted as a topic at the next start).
      if (!existed) {
        try {
          this.fs.removeDir(directory);
        } catch (removeError) {
          this.logger.warn("could not remove the directory of a partition that failed to be created", { directory, error: String(removeError) });
        }
      }
      if (error instanceof KafkaError) throw error;
      throw storageError(`creating partition ${topic}-${partition}`, error);
    }
  }

  private openLog(topic: string, partition: number, config: TopicConfig): Promise<Log> {
    if (this.closed) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, "log manager is closed");
    const key = partitionKey(topic, partition);
    const inProgress = this.opening.get(key);
    if (inProgress) return inProgress;
    const opening = Log.open({
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
      cleanShutdown: this.cleanShutdown && this.recoveryPoints.has(key) && !this.uncleanAtShutdown.has(key),
      onLogStartOffsetChanged: () => void this.writeCheckpoints(),
      persistCheckpoints: () => this.writeCheckpoints(),
    }).then(
      (log) => {
        this.opening.delete(key);
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

  async delete(topic: string, partition: number): Promise<void> {
    const key = partitionKey(topic, partition);
    const offline = this.offline.get(key);
    if (offline) {
      this.offline.delete(key);
      this.fs.removeDir(offline.directory);
      await this.fs.fsyncDir(this.dataDir);
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
    this.recoveryPoints.delete(key);
    this.logStartOffsets.delete(key);
    await this.writeCheckpoints();
  }

  all(): Iterable<PartitionLog> {
    return this.offline.size === 0 ? this.logs.values() : [...this.logs.values(), ...this.offline.values()];
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
      }
      await writeCheckpoint(this.fs, this.dataDir, recoveryPointCheckpointFile, this.recoveryPoints);
      await writeCheckpoint(this.fs, this.dataDir, logStartOffsetCheckpointFile, this.logStartOffsets);
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
    const results = await settleInBatches([...this.logs.values()], this.options.closeConcurrencyMax ?? logsClosingMax, (log) => log.close());
    await this.writeCheckpoints();
    this.logs.clear();
    this.logsByTopic.clear();
    const failed = results.find((result) => result.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    // The marker names the partitions that were not closed here (offline ones): their next
    // recovery must not take the checkpoint for their exact end.
    const unclean = [...this.offline.values()].map((log) => `${log.topic} ${log.partition}\n`).join("");
    if (!this.checkpointFailed) await this.fs.writeFileAtomic(join(this.dataDir, cleanShutdownFile), new TextEncoder().encode(unclean));
  }
}
