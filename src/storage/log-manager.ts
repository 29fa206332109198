// Every partition log of this node, under `<dataDir>/<topic>-<partition>/` (Kafka's layout), with
// the node-wide pieces: the recovery-point and log-start-offset checkpoint files, the LRU of mapped
// segments, and the background schedulers (retention every log.retention.check.interval.ms,
// checkpoints every log.flush.offset.checkpoint.interval.ms).

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
import { MappingCache } from "./mapping.ts";
import { Log } from "./partition-log.ts";
import type { LogManager, PartitionLog, PartitionRecoveryState, ProducerStateManager } from "./types.ts";

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
  /** Logs recovered at once by open({ background: true }) (Kafka's num.recovery.threads.per.data.dir). */
  recoveryThreads?: number;
  /** Test hook, never set in production: awaited before a partition found at open() recovers. */
  beforeRecovery?(topic: string, partition: number): Promise<void>;
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
  /** Partitions found by open({ background: true }) and not served yet. */
  private readonly unrecovered = new Map<string, { topic: string; partition: number; state: PartitionRecoveryState }>();
  private recovering: Promise<void> = Promise.resolve();
  private recoveryStopped = false;
  /** Found by open({ background: true }), waiting for startRecovery(). */
  private found: { topic: string; partition: number }[] | null = null;
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
  }

  async open(options: { background?: boolean } = {}): Promise<void> {
    this.fs.mkdir(this.dataDir);
    const recovery = readCheckpoint(this.fs, this.dataDir, recoveryPointCheckpointFile);
    const starts = readCheckpoint(this.fs, this.dataDir, logStartOffsetCheckpointFile);
    for (const error of [recovery.error, starts.error]) {
      if (error !== null) this.logger.warn("ignoring a damaged checkpoint file; recovery scans whole logs", { error });
    }
    this.recoveryPoints = recovery.entries;
    this.logStartOffsets = starts.entries;
    const markerPath = join(this.dataDir, cleanShutdownFile);
    this.cleanShutdown = this.fs.exists(markerPath) && recovery.error === null;
    if (this.fs.exists(markerPath)) {
      this.fs.unlink(markerPath);
      await this.fs.fsyncDir(this.dataDir);
    }
    const found = this.discover();
    if (options.background) {
      for (const entry of found) this.unrecovered.set(partitionKey(entry.topic, entry.partition), { ...entry, state: "recovering" });
      this.found = found;
    } else {
      for (const { topic, partition } of found) await this.openLog(topic, partition, this.configFor(topic));
      this.cleanShutdown = false; // only the logs found at open were closed cleanly
    }
    this.startBackgroundTasks();
  }

  /** Partition directories under the data directory, in name order. */
  private discover(): { topic: string; partition: number }[] {
    const found: { topic: string; partition: number }[] = [];
    for (const name of this.fs.readdir(this.dataDir).sort()) {
      const match = partitionDirectoryPattern.exec(name);
      if (!match || !topicNamePattern.test(match[1]!)) continue;
      if (!this.fs.exists(join(this.dataDir, name, "."))) continue;
      found.push({ topic: match[1]!, partition: Number(match[2]) });
    }
    return found;
  }

  private configFor(topic: string): TopicConfig {
    return this.options.topicConfigFor?.(topic) ?? topicDefaults(this.options.brokerConfig);
  }

  /**
   * Recovers the partitions found at open() a few at a time while the node already serves the
   * ones that are ready. A partition that fails stays "failed" (logged) instead of failing start.
   */
  private async recoverInBackground(found: readonly { topic: string; partition: number }[]): Promise<void> {
    const started = this.clock.nowMs();
    const queue = [...found];
    let done = 0;
    let lastReport = started;
    const worker = async () => {
      while (queue.length > 0 && !this.closed && !this.recoveryStopped) {
        const { topic, partition } = queue.shift()!;
        const key = partitionKey(topic, partition);
        if (!this.unrecovered.has(key)) continue; // deleted meanwhile
        try {
          await this.options.beforeRecovery?.(topic, partition);
          if (this.closed || !this.unrecovered.has(key)) continue;
          await this.openLog(topic, partition, this.configFor(topic));
          this.unrecovered.delete(key);
        } catch (error) {
          if (this.closed) continue;
          this.unrecovered.set(key, { topic, partition, state: "failed" });
          this.logger.error("partition failed to recover; it stays offline", { topic, partition, error: String(error) });
        }
        done++;
        if (this.clock.nowMs() - lastReport >= 1000) {
          lastReport = this.clock.nowMs();
          this.logger.info("recovering partitions", { done, of: found.length });
        }
      }
    };
    const threads = Math.max(1, this.options.recoveryThreads ?? 2);
    await Promise.all(Array.from({ length: Math.min(threads, Math.max(1, found.length)) }, worker));
    if (this.closed || this.recoveryStopped) return; // stopped early: the rest keeps its checkpointed state
    this.cleanShutdown = false; // only the logs found at open were closed cleanly
    if (found.length > 0) this.logger.info("partitions recovered", { partitions: found.length, ms: this.clock.nowMs() - started });
  }

  /**
   * Starts recovering the partitions open({ background: true }) found (once; the node calls it
   * after its listener opened, so recovery work does not delay accepting connections).
   */
  startRecovery(): Promise<void> {
    if (this.found !== null) {
      const found = this.found;
      this.found = null;
      this.recovering = this.recoverInBackground(found);
    }
    return this.recovering;
  }

  recovered(): Promise<void> {
    return this.recovering;
  }

  /** Shutting down: recover no further partition; resolves when the ones under way are done. */
  stopRecovery(): Promise<void> {
    this.recoveryStopped = true;
    return this.recovering;
  }

  recoveryState(topic: string, partition: number): PartitionRecoveryState | null {
    return this.unrecovered.get(partitionKey(topic, partition))?.state ?? null;
  }

  partitionsOnDisk(): { topic: string; partition: number }[] {
    const entries = [...this.logs.values()].map((log) => ({ topic: log.topic, partition: log.partition }));
    for (const entry of this.unrecovered.values()) entries.push({ topic: entry.topic, partition: entry.partition });
    return entries;
  }

  get(topic: string, partition: number): PartitionLog | undefined {
    return this.logsByTopic.get(topic)?.get(partition);
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
    const existing = this.logs.get(partitionKey(topic, partition));
    if (existing) {
      existing.updateConfig(config);
      return existing;
    }
    return this.openLog(topic, partition, config);
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
      recoveryPoint: this.recoveryPoints.get(key),
      logStartOffset: this.logStartOffsets.get(key),
      cleanShutdown: this.cleanShutdown && this.recoveryPoints.has(key),
      onLogStartOffsetChanged: () => void this.writeCheckpoints(),
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
    const inProgress = this.opening.get(key);
    if (inProgress) await inProgress.catch(() => {});
    if (this.unrecovered.delete(key)) {
      // Found at open and not recovered (yet, or ever): its files go without opening them.
      this.fs.removeDir(join(this.dataDir, `${topic}-${partition}`));
      await this.fs.fsyncDir(this.dataDir);
      this.recoveryPoints.delete(key);
      this.logStartOffsets.delete(key);
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
    this.recoveryPoints.delete(key);
    this.logStartOffsets.delete(key);
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
    await this.recovering;
    await Promise.allSettled([...this.opening.values()]);
    if (this.retentionRunning) await this.retentionRunning;
    const results = await settleInBatches([...this.logs.values()], logsClosingMax, (log) => log.close());
    await this.writeCheckpoints();
    this.logs.clear();
    this.logsByTopic.clear();
    const failed = results.find((result) => result.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    // Partitions never recovered in this run keep the recovery points of the previous one: exact
    // only when that run ended cleanly too (cleanShutdown is still set until recovery finishes).
    const unrecoveredExact = this.unrecovered.size === 0 || this.cleanShutdown;
    if (!this.checkpointFailed && unrecoveredExact) await this.fs.writeFileAtomic(join(this.dataDir, cleanShutdownFile), new Uint8Array(0));
  }
}
