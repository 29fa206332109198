// The log of one topic-partition: an ordered list of segments under `<dataDir>/<topic>-<partition>/`.
//
//   logStartOffset ........ highWatermark ........ logEndOffset
//   |  segment 0  |  segment 1  | ... |  active segment (appends go here)  |
//                 ^ recoveryPoint: everything below was covered by an fdatasync
//
// The high watermark is not the log's to decide: the replica layer (src/replication/partition.ts)
// sets it (updateHighWatermark) once the in-sync replicas hold the records; the log keeps it within
// [logStartOffset, logEndOffset] and the LogManager checkpoints it (replication-offset-checkpoint).
// Reads are bounded by the caller's maxOffset (a consumer's is the high watermark), by the log end
// offset otherwise.
//
// Single writer: `append` runs synchronously (validate → producer check → stamp → pwrite → index)
// when nothing else is queued, so appends are applied in call order with no await inside; the
// operations that must await (truncateTo, deleteRecordsBefore, retention, close) go through the
// same FIFO queue, and an append that arrives while one of them runs waits behind it.
//
// This file holds the log's state, its single-writer queue and the order of each operation; the
// concerns live beside it, one per file: log-group-commit.ts (durability: group commit, flush.ms,
// flush.messages), log-append-checks.ts (per-topic checks of produced batches), log-roll.ts (when
// to roll), log-reads.ts (reads, timestamps), log-retention.ts (what retention deletes),
// log-cleaner-hooks.ts (what the cleaner may rewrite), log-append-waiters.ts (long-poll wake-ups).
// A failed fdatasync takes the log offline (every later append answers KAFKA_STORAGE_ERROR until it
// is reopened), because after a failed fsync the kernel may have dropped the dirty pages and the
// file's state is unknown.

import type { TopicConfig } from "../config/index.ts";
import type { NativeApi } from "../native/types.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import {
  lastOffsetOf,
  recordsInflatedBytesMaxFor,
  stampBaseOffset,
  stampLeaderEpoch,
  stampLogAppendTime,
  validateIncomingBatches,
  validateReplicatedBatches,
  type RecordBatchHeader,
} from "../protocol/record-batch.ts";
import { assert } from "../util/assert.ts";
import { systemClock, type Clock } from "../util/clock.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import type { StorageFs } from "./fs.ts";
import { DescriptorCache } from "./descriptors.ts";
import { FailureReporter } from "./failure-reporter.ts";
import { LeaderEpochCache, type EpochEndOffset } from "./leader-epoch-cache.ts";
import { checkKeys, checkTimestamps, refuseControlBatches } from "./log-append-checks.ts";
import { AppendWaiters } from "./log-append-waiters.ts";
import { cleanableSegments, swapCleanedSegment } from "./log-cleaner-hooks.ts";
import { GroupCommit } from "./log-group-commit.ts";
import { maxTimestampOffset, offsetForTimestamp, readRange, segmentIndexFor } from "./log-reads.ts";
import { pickRollJitter, rollReason } from "./log-roll.ts";
import { countBelowStart, retentionCount } from "./log-retention.ts";
import { MappingCache } from "./mapping.ts";
import { producerInfoOf } from "./producer-state.ts";
import { deleteSnapshotsAfter, writeSnapshotAtomic, writeSnapshotInBackground } from "./producer-snapshots.ts";
import { recoverSegments } from "./recovery.ts";
import { scanBatches, Segment, storageError, type SegmentContext } from "./segment.ts";
import type {
  AbortedTransaction,
  AbortedTransactionEntry,
  ActiveProducer,
  AppendOptions,
  AppendResult,
  PartitionLog,
  ProducerStateManager,
  ReadResult,
  TimestampOffset,
} from "./types.ts";

export interface PartitionLogOptions {
  /** The partition directory, `<dataDir>/<topic>-<partition>`. */
  directory: string;
  topic: string;
  partition: number;
  config: TopicConfig;
  fs: StorageFs;
  native: NativeApi;
  clock?: Clock;
  logger?: Logger;
  producerState?: ProducerStateManager;
  /** Shared LRU of mapped segments (LogManager passes one for the node). */
  mappings?: MappingCache;
  /** Shared LRU of open segment files (LogManager passes one for the node). */
  descriptors?: DescriptorCache;
  /** From recovery-point-offset-checkpoint; recovery scans from the segment holding it. */
  recoveryPoint?: bigint;
  /** From log-start-offset-checkpoint. */
  logStartOffset?: bigint;
  /** From replication-offset-checkpoint; clamped to the recovered log. Default: the log start offset. */
  highWatermark?: bigint;
  /** The node shut down cleanly and recoveryPoint is the exact log end offset (see recovery.ts). */
  cleanShutdown?: boolean;
  /** Called when the log start offset moved (DeleteRecords, retention) so checkpoints get written. */
  onLogStartOffsetChanged?: () => void;
  /**
   * Persist the checkpoints now (LogManager: write both files). Awaited by truncateTo after it
   * lowered the recovery point and before it cuts any file: a checkpoint above the log end can then
   * only mean data that vanished, which the next start reports and never gives out again.
   */
  persistCheckpoints?: () => Promise<void>;
  /** Uniform in [0, 1): picks each active segment's segment.jitter.ms (default Math.random). */
  random?: () => number;
}

const resolved = Promise.resolve();

export class Log implements PartitionLog {
  readonly topic: string;
  readonly partition: number;
  readonly directory: string;
  private config: TopicConfig;
  private readonly fs: StorageFs;
  private readonly native: NativeApi;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly producerState: ProducerStateManager | undefined;
  private readonly context: SegmentContext;
  private readonly onLogStartOffsetChanged: () => void;
  private readonly persistCheckpoints: () => Promise<void>;
  private readonly random: () => number;
  /** The active segment's share of segment.jitter.ms, picked when it became active (Kafka's rule). */
  private rollJitterMs = 0;

  private segments: Segment[] = [];
  /** Leader epoch → first offset (leader-epoch-checkpoint); set by open(). */
  private epochCache!: LeaderEpochCache;
  private logStartOffsetValue = 0n;
  private recoveryPointValue = 0n;
  private highWatermarkValue = 0n;

  // Single-writer queue.
  private queueTail: Promise<unknown> = resolved;
  private queueDepth = 0;

  private readonly commit: GroupCommit;

  private failure: KafkaError | null = null;
  private corruptionReported = false;
  /** Storage errors logged once per state change (failure-reporter.ts). */
  private readonly writeFailures: FailureReporter;
  private readonly readFailures: FailureReporter;
  private closed = false;
  private readonly appendWaiters = new AppendWaiters();

  private constructor(options: PartitionLogOptions) {
    this.topic = options.topic;
    this.partition = options.partition;
    this.directory = options.directory;
    this.config = { ...options.config };
    this.fs = options.fs;
    this.native = options.native;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? createLogger(`log ${options.topic}-${options.partition}`);
    this.producerState = options.producerState;
    this.context = {
      fs: options.fs,
      native: options.native,
      mappings: options.mappings ?? new MappingCache(64),
      descriptors: options.descriptors ?? new DescriptorCache(1024),
      onDescriptorPressure: () => this.syncForDescriptors(),
      indexIntervalBytes: () => this.config["index.interval.bytes"],
      onDamageFound: (segment, range) => {
        this.logger.error("damaged data in a segment file found on read; reads of it answer CORRUPT_MESSAGE, the rest is served", {
          segment: segment.paths.log,
          position: range.position,
          bytes: range.endPosition - range.position,
          offsets: `${range.fromOffset}..${range.toOffset - 1n}`,
          reason: range.reason,
        });
      },
      onIndexRepaired: (segment, why) => {
        this.logger.warn("an index file did not match its segment; rebuilt it from the segment's batches", { segment: segment.paths.log, why });
      },
    };
    this.writeFailures = new FailureReporter(this.logger, `writing to ${options.topic}-${options.partition}`);
    this.readFailures = new FailureReporter(this.logger, `reading ${options.topic}-${options.partition}`);
    this.onLogStartOffsetChanged = options.onLogStartOffsetChanged ?? (() => {});
    this.persistCheckpoints = options.persistCheckpoints ?? (() => resolved);
    this.random = options.random ?? Math.random;
    this.commit = new GroupCommit({
      fs: this.fs,
      logger: this.logger,
      directory: this.directory,
      segments: () => this.segments,
      logEndOffset: () => this.logEndOffset,
      advanceRecoveryPoint: (offset) => {
        if (offset > this.recoveryPointValue) this.recoveryPointValue = offset;
      },
      flushMs: () => this.config["flush.ms"],
      syncFailed: (error) => {
        this.failure = storageError(`fdatasync of ${this.topic}-${this.partition}`, error);
        this.logger.error("fdatasync failed; the log is offline until reopened", { error: String(error) });
        return this.failure;
      },
      isFailed: () => this.failure !== null,
    });
  }

  /** Open (creating the directory if needed) and recover a partition log. */
  static async open(options: PartitionLogOptions): Promise<Log> {
    const log = new Log(options);
    const epochs = LeaderEpochCache.load(options.fs, options.directory, log.logger);
    log.epochCache = epochs.cache;
    const recovered = await recoverSegments({
      context: log.context,
      directory: options.directory,
      config: log.config,
      clock: log.clock,
      logger: log.logger,
      recoveryPoint: options.recoveryPoint ?? 0n,
      logStartOffset: options.logStartOffset ?? 0n,
      producerState: options.producerState,
      cleanShutdown: options.cleanShutdown,
      // Batches rescanned after a crash carry epochs the checkpoint file may not have reached.
      onBatch: epochs.found ? (header) => log.epochCache.assignFromBatch(header.partitionLeaderEpoch, header.baseOffset) : undefined,
    });
    log.segments = recovered.segments;
    log.logStartOffsetValue = recovered.logStartOffset;
    log.recoveryPointValue = recovered.recoveryPoint;
    log.highWatermarkValue = log.clampedToLog(options.highWatermark ?? recovered.logStartOffset);
    if (!epochs.found) log.rebuildEpochCache();
    log.epochCache.truncateFromEnd(log.logEndOffset);
    log.epochCache.truncateFromStart(log.logStartOffsetValue);
    log.active.mapLengthHint = log.config["segment.bytes"];
    log.rollJitterMs = pickRollJitter(log.config, log.random);
    log.check();
    return log;
  }

  /**
   * After open: when recovery left verified segments that no fdatasync covers yet (a crash before
   * their sync), sync them now in the background, so that their descriptors can be closed by the
   * LRU and the recovery point moves past them. Null when there is nothing to sync.
   */
  syncAfterRecovery(): Promise<void> | null {
    if (!this.segments.some((segment) => segment.dirty)) return null;
    this.commit.markDirty();
    return this.commit.requestSync().catch(() => {
      // A failed sync took the log offline and was logged (startSync).
    });
  }

  private descriptorSyncQueued = false;

  /**
   * The descriptor LRU is over budget and our unsynced segments hold descriptors: sync them. Called
   * from inside the LRU's eviction (an append or read of another log), so the sync starts in a
   * microtask, not re-entrantly; calls before it starts are folded into one.
   */
  private syncForDescriptors(): void {
    if (this.descriptorSyncQueued) return;
    this.descriptorSyncQueued = true;
    queueMicrotask(() => {
      this.descriptorSyncQueued = false;
      // Not before open() returned (recovery syncs what it scanned itself) and not after close.
      if (this.segments.length === 0 || this.closed || this.failure !== null) return;
      this.commit.markDirty();
      void this.commit.requestSync().catch(() => {
        // A failed sync took the log offline and was logged (startSync).
      });
    });
  }

  // ----- positions -------------------------------------------------------------------------

  get logStartOffset(): bigint {
    return this.logStartOffsetValue;
  }

  get logEndOffset(): bigint {
    return this.active.nextOffset;
  }

  get highWatermark(): bigint {
    return this.highWatermarkValue;
  }

  /**
   * Set the high watermark (the replica layer's decision), clamped to [logStartOffset,
   * logEndOffset]; returns the value set. It may move back only through truncation or a follower
   * learning its leader's, never by this call on a leader — that rule is the replica layer's.
   */
  updateHighWatermark(offset: bigint): bigint {
    this.highWatermarkValue = this.clampedToLog(offset);
    return this.highWatermarkValue;
  }

  /**
   * The last stable offset (read_committed consumers read below it): the high watermark, or the
   * first offset of an open transaction below it once the producer state tracks transactions
   * (ProducerStateManager.firstUnstableOffset, issue 14).
   */
  get lastStableOffset(): bigint {
    const unstable = this.producerState?.firstUnstableOffset?.() ?? null;
    return unstable !== null && unstable < this.highWatermarkValue ? unstable : this.highWatermarkValue;
  }

  /**
   * The aborted transactions with data in [fromOffset, toOffset), from the `.txnindex` files (Kafka's
   * collectAbortedTransactions): from the segment holding fromOffset forward, until an entry's last
   * stable offset reaches toOffset. Only the files of segments with entries are read.
   */
  abortedTransactions(fromOffset: bigint, toOffset: bigint): AbortedTransaction[] {
    const found: AbortedTransaction[] = [];
    if (toOffset <= fromOffset) return found;
    const first = fromOffset <= this.segments[0]!.baseOffset ? 0 : segmentIndexFor(this.segments, fromOffset);
    for (let index = first; index < this.segments.length; index++) {
      if (this.segments[index]!.transactionIndex.collect(fromOffset, toOffset, found)) break;
    }
    return found;
  }

  activeProducers(): ActiveProducer[] {
    return this.producerState?.activeProducers?.() ?? [];
  }

  /** Whether the producer has a transaction open in this log (KIP-890: its first batch here was verified). */
  hasOngoingTransaction(producerId: bigint): boolean {
    return this.producerState?.ongoingTransactions?.().has(producerId) ?? false;
  }

  private clampedToLog(offset: bigint): bigint {
    if (offset < this.logStartOffsetValue) return this.logStartOffsetValue;
    return offset > this.logEndOffset ? this.logEndOffset : offset;
  }

  /** Offset below which everything was covered by an fdatasync. */
  get recoveryPoint(): bigint {
    return this.recoveryPointValue;
  }

  get sizeBytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.sizeBytes;
    return total;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Base offsets of the segments, oldest first (tests, tools). */
  segmentBaseOffsets(): bigint[] {
    return this.segments.map((segment) => segment.baseOffset);
  }

  /** Segments mapped right now in the mapping LRU this log uses (shared by a LogManager). */
  get mappedSegments(): number {
    return this.context.mappings.mappedCount;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  currentConfig(): Readonly<TopicConfig> {
    return this.config;
  }

  private get active(): Segment {
    const segment = this.segments[this.segments.length - 1];
    assert(segment !== undefined, "a log always has an active segment");
    return segment;
  }

  private check(): void {
    assert(this.segments.length > 0, "a log always has an active segment");
    for (let index = 1; index < this.segments.length; index++) {
      assert(this.segments[index - 1]!.baseOffset < this.segments[index]!.baseOffset, "segments are sorted by base offset");
      assert(this.segments[index - 1]!.nextOffset <= this.segments[index]!.baseOffset, "segments do not overlap");
    }
    assert(this.logStartOffsetValue <= this.logEndOffset, "log start offset <= log end offset");
    assert(this.recoveryPointValue <= this.logEndOffset, "recovery point <= log end offset");
    assert(this.logStartOffsetValue <= this.highWatermarkValue && this.highWatermarkValue <= this.logEndOffset, "log start <= high watermark <= log end");
  }

  /**
   * No usable leader-epoch-checkpoint (a log written before epochs were tracked, or a lost file):
   * walk every batch header once, oldest first. Headers only, no CRC: recovery checked the bytes.
   */
  private rebuildEpochCache(): void {
    for (const segment of this.segments) {
      if (segment.isEmpty) continue;
      scanBatches(this.fs, this.native, segment.fd, 0, segment.sizeBytes, (batch) => {
        this.epochCache.assignFromBatch(batch.header.partitionLeaderEpoch, batch.header.baseOffset);
      }, false);
    }
  }

  // ----- leader epochs -----------------------------------------------------------------------

  get latestEpoch(): number {
    return this.epochCache.latestEpoch;
  }

  /** Where `epoch` ended in this log (OffsetForLeaderEpoch; see leader-epoch-cache.ts). */
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    return this.epochCache.endOffsetFor(epoch, this.logEndOffset);
  }

  epochForOffset(offset: bigint): number {
    return this.epochCache.epochForOffset(offset);
  }

  /** A new leader's epoch starts at the log end offset, before its first append (Kafka does too). */
  assignEpochStartOffset(epoch: number, startOffset: bigint): void {
    assert(startOffset <= this.logEndOffset, "an epoch cannot start beyond the log end");
    this.epochCache.assign(epoch, startOffset);
  }

  /** The cache's entries, oldest first (tests, tools). */
  epochEntries(): { epoch: number; startOffset: bigint }[] {
    return this.epochCache.all();
  }

  // ----- single-writer queue ---------------------------------------------------------------

  private enqueue<T>(operation: () => T | Promise<T>): Promise<T> {
    this.queueDepth += 1;
    const run = this.queueTail.then(operation);
    this.queueTail = run.then(
      () => {
        this.queueDepth -= 1;
      },
      () => {
        this.queueDepth -= 1;
      },
    );
    return run;
  }

  private checkWritable(): void {
    if (this.closed) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${this.topic}-${this.partition} is closed`);
    if (this.failure) throw this.failure;
  }

  // ----- append ----------------------------------------------------------------------------

  append(batches: Uint8Array, options: AppendOptions = {}): Promise<AppendResult> {
    if (this.queueDepth > 0) return this.enqueue(() => this.appendReporting(batches, options));
    try {
      return Promise.resolve(this.appendReporting(batches, options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  appendAsFollower(batches: Uint8Array): Promise<AppendResult> {
    if (this.queueDepth > 0) return this.enqueue(() => this.appendAsFollowerNow(batches));
    try {
      return Promise.resolve(this.appendAsFollowerNow(batches));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * A replica's append: the batches are the leader's, with its offsets and leader epochs, written
   * byte for byte. Checked (lengths, magic, CRC-32C, offsets after the log end and increasing) but
   * not re-validated as a client's produce would be, and never stamped. The producer state and the
   * leader-epoch cache learn from every batch, as on the leader.
   */
  private appendAsFollowerNow(bytes: Uint8Array): AppendResult {
    this.checkWritable();
    const validated = validateReplicatedBatches(this.native, bytes, this.logEndOffset);
    const headers = validated.map((batch) => batch.header);
    const firstOffset = headers[0]!.baseOffset;
    const lastOffset = lastOffsetOf(headers[headers.length - 1]!);
    this.maybeRoll(bytes.length, lastOffset);
    this.active.append(bytes, headers, this.config["index.interval.bytes"]);
    const aborted: AbortedTransactionEntry[] = [];
    for (const { position, header } of validated) {
      const entry = this.producerState?.update(producerInfoOf(header, bytes.subarray(position, position + header.sizeBytes)));
      if (entry) aborted.push(entry);
      this.epochCache.assignFromBatch(header.partitionLeaderEpoch, header.baseOffset);
    }
    this.indexAbortedTransactions(aborted);
    return this.afterAppend(headers, firstOffset, lastOffset, -1n);
  }

  /** appendNow, with storage failures (a full disk, no descriptors) logged once per state change. */
  private appendReporting(bytes: Uint8Array, options: AppendOptions): AppendResult {
    let result: AppendResult;
    try {
      result = this.appendNow(bytes, options);
    } catch (error) {
      if (error instanceof KafkaError && error.code === ErrorCode.KAFKA_STORAGE_ERROR && error !== this.failure) this.writeFailures.failed(error);
      throw error;
    }
    if (this.writeFailures.isFailing) this.writeFailures.succeeded();
    return result;
  }

  private appendNow(bytes: Uint8Array, options: AppendOptions): AppendResult {
    let epoch = 0;
    this.checkWritable();
    const config = this.config;
    const validated = validateIncomingBatches(this.native, bytes, { maxMessageBytes: config["max.message.bytes"] });
    if (options.origin !== "coordinator") refuseControlBatches(`${this.topic}-${this.partition}`, validated);
    checkTimestamps(config, this.clock.nowMs(), bytes, validated);
    checkKeys(this.topic, config, bytes, validated);

    // Offsets, then the idempotent-producer check of each batch (in order; see producer-state.ts).
    const firstOffset = this.logEndOffset;
    let nextOffset = firstOffset;
    const headers: RecordBatchHeader[] = new Array(validated.length);
    for (let index = 0; index < validated.length; index++) {
      const header = validated[index]!.header;
      header.baseOffset = nextOffset;
      nextOffset += BigInt(header.lastOffsetDelta + 1);
      headers[index] = header;
    }
    const appendTime = this.appendTimeFor(options);
    // Roll before the producer state learns these batches (Kafka's order): the producer snapshot a
    // roll writes is the state at the new segment's base offset, and recovery replays from there —
    // a snapshot that already held an ABORT marker of this append would lose its `.txnindex` entry.
    this.maybeRoll(bytes.length, nextOffset - 1n);
    const aborted: AbortedTransactionEntry[] = [];
    const duplicate = this.checkProducers(bytes, validated, firstOffset, appendTime >= 0n, options.origin === "coordinator", aborted);
    if (duplicate) return duplicate;

    try {
      epoch = options.leaderEpoch ?? 0;
      for (const { position, header } of validated) {
        stampBaseOffset(bytes, position, header.baseOffset);
        stampLeaderEpoch(bytes, position, epoch);
        header.partitionLeaderEpoch = epoch;
        if (appendTime >= 0n) {
          stampLogAppendTime(this.native, bytes, position, header.sizeBytes, appendTime);
          header.maxTimestamp = appendTime;
        }
      }
      this.active.append(bytes, headers, config["index.interval.bytes"]);
    } catch (error) {
      // Nothing was written: forget the producer state recorded for this append.
      this.producerState?.truncateTo(firstOffset);
      throw error;
    }
    this.epochCache.assignFromBatch(epoch, firstOffset);
    this.indexAbortedTransactions(aborted);
    return this.afterAppend(headers, firstOffset, nextOffset - 1n, appendTime);
  }

  /**
   * Append the aborted transactions ended by the markers just written to the active segment's
   * `.txnindex`. The descriptors are synced (and closed) by the next group commit, with the markers.
   * A failed write takes the log offline like a failed fdatasync: the index would no longer match
   * the segment (reopening rebuilds it from the batches).
   */
  private indexAbortedTransactions(aborted: readonly AbortedTransactionEntry[]): void {
    if (aborted.length === 0) return;
    const index = this.active.transactionIndex;
    try {
      for (const entry of aborted) this.commit.addIndexFds([index.append(entry)]);
    } catch (error) {
      this.failure = storageError(`appending to ${index.path}`, error);
      this.logger.error("writing the transaction index failed; the log is offline until reopened", { error: String(error) });
      throw this.failure;
    }
    // Every entry holds a descriptor until the next sync: do not let them pile up.
    if (this.commit.pendingIndexFdCount >= 16) void this.commit.requestSync().catch(() => {});
  }

  /** Run the producer checks; returns the result for a duplicate append, else null. */
  private checkProducers(
    bytes: Uint8Array,
    validated: readonly { position: number; header: RecordBatchHeader }[],
    firstOffset: bigint,
    logAppendTime: boolean,
    fromCoordinator: boolean,
    aborted: AbortedTransactionEntry[],
  ): AppendResult | null {
    const state = this.producerState;
    if (!state) return null;
    try {
      for (const { position, header } of validated) {
        const info = producerInfoOf(header, bytes.subarray(position, position + header.sizeBytes));
        // A coordinator's batches (markers, transactional offsets) carry no sequence: recorded, not checked.
        if (fromCoordinator) {
          const entry = state.update(info);
          if (entry) aborted.push(entry);
          continue;
        }
        const verdict = state.check(info);
        if (verdict.kind === "duplicate") {
          state.truncateTo(firstOffset);
          return {
            baseOffset: verdict.baseOffset,
            lastOffset: verdict.lastOffset,
            logAppendTimeMs: logAppendTime ? this.storedMaxTimestamp(verdict.baseOffset) : -1n,
            logStartOffset: this.logStartOffsetValue,
            durable: this.commit.durableThrough(verdict.lastOffset, this.recoveryPointValue),
            duplicate: true,
          };
        }
        state.update(info);
      }
    } catch (error) {
      state.truncateTo(firstOffset);
      throw error;
    }
    return null;
  }

  /**
   * The maxTimestamp of the stored batch holding `offset`: under LogAppendTime, the time it was
   * appended, which Kafka answers to a duplicate (an idempotent retry) as its logAppendTimeMs.
   * Read from the log rather than remembered by the producer state, so it survives restarts. -1
   * when the batch is gone (retention) — only duplicates pay for this lookup.
   */
  private storedMaxTimestamp(offset: bigint): bigint {
    if (offset < this.logStartOffsetValue || offset >= this.logEndOffset) return -1n;
    try {
      const found = this.segments[segmentIndexFor(this.segments, offset)]!.findBatch(offset);
      return found?.header.maxTimestamp ?? -1n;
    } catch (error) {
      if (error instanceof KafkaError) return -1n; // the batch is damaged: its time is unknown
      throw error;
    }
  }

  private appendTimeFor(options: AppendOptions): bigint {
    if (options.logAppendTimeMs !== undefined) return options.logAppendTimeMs;
    if (this.config["message.timestamp.type"] === "LogAppendTime") return BigInt(this.clock.nowMs());
    return -1n;
  }

  private afterAppend(headers: readonly RecordBatchHeader[], baseOffset: bigint, lastOffset: bigint, appendTime: bigint): AppendResult {
    assert(this.logEndOffset === lastOffset + 1n, "log end offset follows the appended batches");
    let records = 0;
    for (const header of headers) records += header.recordsCount;
    this.commit.unflushedRecords += records;
    const durable = this.commit.markDirty().promise;
    if (this.commit.unflushedRecords >= this.config["flush.messages"] || this.config["flush.ms"] === 0) void this.commit.requestSync();
    this.appendWaiters.notify(this.logEndOffset);
    return {
      baseOffset,
      lastOffset,
      logAppendTimeMs: appendTime,
      logStartOffset: this.logStartOffsetValue,
      durable,
      duplicate: false,
    };
  }

  // ----- rolling ---------------------------------------------------------------------------

  private maybeRoll(incomingBytes: number, lastOffset: bigint): void {
    const reason = rollReason(this.active, this.config, this.rollJitterMs, this.clock.nowMs(), incomingBytes, lastOffset);
    if (reason !== null) this.roll(reason);
  }

  /** Seal the active segment and start a new one at the log end offset. */
  private roll(reason: string): void {
    const old = this.active;
    const baseOffset = this.logEndOffset;
    let next: Segment;
    try {
      next = Segment.create(this.context, this.directory, baseOffset, this.clock.nowMs());
    } catch (error) {
      throw storageError(`creating segment ${baseOffset} of ${this.topic}-${this.partition}`, error);
    }
    old.seal();
    // The trim of the finished segment's reserved tail and its index files are written off the event
    // loop (each can wait milliseconds on the file system's journal, and every connection would wait
    // with it); the sync requested below awaits both before its fdatasyncs (log-group-commit.ts).
    const warn = (what: string) => (error: unknown) => this.logger.warn(`${what} after a roll failed (close or recovery does it again)`, { path: old.paths.log, error: String(error) });
    const trimmed = old.trimFileInBackground(warn("cutting the reserved tail"));
    const indexes = old.writeIndexFilesInBackground(warn("writing the index files"));
    this.commit.addBackgroundWork(trimmed.then(() => indexes));
    next.mapLengthHint = this.config["segment.bytes"];
    old.mapLengthHint = 0;
    next.nextOffset = baseOffset;
    this.segments.push(next);
    this.rollJitterMs = pickRollJitter(this.config, this.random);
    this.commit.directoryDirty = true;
    this.logger.debug("rolled segment", { reason, baseOffset: String(baseOffset), previousBytes: old.sizeBytes });
    if (this.producerState?.encodeSnapshot) {
      // Only recovery time depends on it: on failure recovery replays from an older snapshot.
      // Background work of the commit, so that truncation (which deletes snapshots past its end)
      // and close wait for it.
      const snapshot = writeSnapshotInBackground(this.fs, this.directory, this.producerState, baseOffset, (error) => {
        this.logger.warn("writing a producer state snapshot failed", { error: String(error) });
      });
      this.commit.addBackgroundWork(snapshot.then(() => []));
    }
    this.commit.markDirty();
    // Like Kafka, flush the finished segment (and its indexes) soon after a roll.
    void this.commit.requestSync();
  }

  // ----- durability (log-group-commit.ts) -----------------------------------------------------

  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return this.commit.requestSync();
  }

  // ----- reading ---------------------------------------------------------------------------

  /** Log damage found by a read once per open log (a consumer retrying would repeat it forever). */
  private reportCorruption(error: KafkaError): void {
    if (this.corruptionReported) return;
    this.corruptionReported = true;
    this.logger.error("damaged data in the log; reads of it answer CORRUPT_MESSAGE", { partition: `${this.topic}-${this.partition}`, error: error.message });
  }

  read(offset: bigint, maxBytes: number, maxOffset?: bigint): ReadResult {
    if (this.closed) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${this.topic}-${this.partition} is closed`);
    if (offset < this.logStartOffsetValue || offset > this.logEndOffset) {
      throw new KafkaError(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `offset ${offset} is outside [${this.logStartOffsetValue}, ${this.logEndOffset}] of ${this.topic}-${this.partition}`,
      );
    }
    const limit = maxOffset ?? this.logEndOffset;
    let range;
    try {
      range = readRange(this.segments, offset, maxBytes, limit);
    } catch (error) {
      if (error instanceof KafkaError && error.code === ErrorCode.CORRUPT_MESSAGE) this.reportCorruption(error);
      if (error instanceof KafkaError && error.code === ErrorCode.KAFKA_STORAGE_ERROR) this.readFailures.failed(error);
      throw error;
    }
    const { chunks, bytes, releases, nextOffset } = range;
    if (this.readFailures.isFailing) this.readFailures.succeeded();
    let released = false;
    return {
      chunks,
      bytes,
      nextOffset,
      highWatermark: this.highWatermark,
      logStartOffset: this.logStartOffsetValue,
      logEndOffset: this.logEndOffset,
      release: () => {
        if (released) return;
        released = true;
        for (const release of releases) release();
      },
    };
  }

  /** Kafka's answer to ListOffsets by time (log-reads.ts). */
  offsetForTimestamp(timestampMs: bigint): TimestampOffset | null {
    const inflatedBytesMax = recordsInflatedBytesMaxFor(this.config["max.message.bytes"]);
    return offsetForTimestamp(this.segments, this.logStartOffsetValue, timestampMs, inflatedBytesMax, this.logger);
  }

  maxTimestampOffset(): TimestampOffset | null {
    return maxTimestampOffset(this.segments);
  }

  waitForAppend(offset: bigint, signal: AbortSignal): Promise<void> {
    return this.appendWaiters.waitForAppend(offset, this.logEndOffset, this.closed, signal);
  }

  onAppend(offset: bigint, wake: () => void): () => void {
    return this.appendWaiters.onAppend(offset, this.logEndOffset, this.closed, wake);
  }

  /** Callbacks registered by onAppend/waitForAppend and not yet woken or cancelled (tests). */
  get appendWaiterCount(): number {
    return this.appendWaiters.size;
  }

  // ----- truncation, deletion, retention -----------------------------------------------------

  truncateTo(offset: bigint): Promise<void> {
    return this.enqueue(async () => {
      this.checkWritable();
      assert(offset >= 0n, "truncation offset must be >= 0");
      await this.commit.waitSyncIdle();
      if (offset >= this.logEndOffset) return;
      if (offset < this.recoveryPointValue) {
        this.recoveryPointValue = offset;
        await this.persistCheckpoints();
      }
      let reopened: AbortedTransactionEntry[] = [];
      if (offset < this.logStartOffsetValue || offset <= this.segments[0]!.baseOffset) {
        this.truncateFully(offset < this.logStartOffsetValue ? offset : this.segments[0]!.baseOffset);
      } else {
        const index = segmentIndexFor(this.segments, offset);
        // Entries whose ABORT marker is cut go; their transactions reopen if data of them stays.
        for (const segment of this.segments.slice(index)) reopened = reopened.concat(segment.transactionIndex.truncateTo(offset));
        this.removeSegments(this.segments.splice(index + 1), "truncation");
        const segment = this.active;
        const found = segment.findBatch(offset);
        segment.truncateTo(found === null ? segment.sizeBytes : found.position, this.config["index.interval.bytes"]);
        segment.mapLengthHint = this.config["segment.bytes"];
      }
      this.afterTruncation();
      for (const entry of reopened) if (entry.firstOffset < this.logEndOffset) this.producerState?.reopenTransaction?.(entry.producerId, entry.firstOffset);
      await this.commit.requestSync();
    });
  }

  truncateFullyAndStartAt(offset: bigint): Promise<void> {
    return this.enqueue(async () => {
      this.checkWritable();
      assert(offset >= 0n, "start offset must be >= 0");
      await this.commit.waitSyncIdle();
      // The checkpoint must not name a recovery point inside records that are about to go.
      this.recoveryPointValue = 0n;
      await this.persistCheckpoints();
      this.truncateFully(offset);
      this.producerState?.truncateTo(0n);
      // Every producer snapshot describes records that are gone.
      if (this.producerState?.encodeSnapshot) deleteSnapshotsAfter(this.fs, this.directory, -1n);
      this.afterTruncation();
      this.recoveryPointValue = offset;
      this.highWatermarkValue = offset;
      await this.commit.requestSync();
      await this.persistCheckpoints();
    });
  }

  private truncateFully(startOffset: bigint): void {
    const reused = this.segments.find((segment) => segment.baseOffset === startOffset);
    let segment: Segment;
    if (reused !== undefined) {
      // Truncating in place keeps a reader's mapping of this file safe (see Segment.truncateTo).
      reused.truncateTo(0, this.config["index.interval.bytes"]);
      reused.transactionIndex.deleteFile();
      segment = reused;
    } else {
      try {
        segment = Segment.create(this.context, this.directory, startOffset, this.clock.nowMs());
      } catch (error) {
        throw storageError(`creating segment ${startOffset} of ${this.topic}-${this.partition}`, error);
      }
    }
    const removed = this.segments.splice(0);
    this.removeSegments(removed.filter((old) => old !== segment), "truncation");
    segment.mapLengthHint = this.config["segment.bytes"];
    this.segments.push(segment);
    this.logStartOffsetValue = startOffset;
    // Every record is gone: so is every epoch's history (Kafka's truncateFullyAndStartAt).
    this.epochCache.clear();
    this.onLogStartOffsetChanged();
  }

  private afterTruncation(): void {
    const end = this.logEndOffset;
    if (this.recoveryPointValue > end) this.recoveryPointValue = end;
    if (this.logStartOffsetValue > end) this.logStartOffsetValue = end;
    this.highWatermarkValue = this.clampedToLog(this.highWatermarkValue);
    this.epochCache.truncateFromEnd(end);
    this.epochCache.truncateFromStart(this.logStartOffsetValue);
    this.producerState?.truncateTo(end);
    if (this.producerState?.encodeSnapshot) deleteSnapshotsAfter(this.fs, this.directory, end);
    this.commit.directoryDirty = true;
    this.commit.markDirty();
    this.logger.info("truncated", { logEndOffset: String(end) });
    this.check();
  }

  /** Take segments out of the log now; close and unlink their files once no sync uses them. */
  private removeSegments(removed: Segment[], why: string): void {
    if (removed.length === 0) return;
    this.commit.directoryDirty = true;
    for (const segment of removed) {
      this.logger.debug("deleting segment", { why, baseOffset: String(segment.baseOffset), bytes: segment.sizeBytes });
      this.commit.afterSync(() => {
        try {
          segment.delete();
        } catch (error) {
          this.logger.warn("deleting a segment failed", { path: segment.paths.log, error: String(error) });
        }
      });
    }
  }

  deleteRecordsBefore(offset: bigint): Promise<bigint> {
    return this.enqueue(() => {
      this.checkWritable();
      // The replica layer refuses offsets past the high watermark; the log, past its end.
      if (offset < 0n || offset > this.logEndOffset) {
        throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `cannot delete records before ${offset}: log end offset is ${this.logEndOffset}`);
      }
      if (offset > this.logStartOffsetValue) {
        this.logStartOffsetValue = offset;
        if (this.highWatermarkValue < offset) this.highWatermarkValue = offset;
        this.deleteSegmentsBelowStart("delete-records");
        this.epochCache.truncateFromStart(offset);
        this.onLogStartOffsetChanged();
      }
      return this.logStartOffsetValue;
    });
  }

  /** Whole segments (never the active one) entirely below the log start offset go. */
  private deleteSegmentsBelowStart(why: string): void {
    this.removeSegments(this.segments.splice(0, countBelowStart(this.segments, this.logStartOffsetValue)), why);
  }

  /**
   * Delete old segments by retention.ms (a segment's newest timestamp) and retention.bytes, from the
   * front, never the active one. Returns how many were deleted.
   */
  applyRetention(nowMs: number = this.clock.nowMs()): Promise<number> {
    if (this.closed || this.failure) return Promise.resolve(0);
    // cleanup.policy=compact alone: no time or size retention (the log cleaner keeps it small).
    if (!this.config["cleanup.policy"].includes("delete")) return Promise.resolve(0);
    return this.enqueue(() => {
      if (this.closed) return 0;
      const count = retentionCount(this.segments, this.config, nowMs, this.sizeBytes);
      if (count === 0) return 0;
      const removed = this.segments.splice(0, count);
      const newStart = this.segments[0]!.baseOffset;
      if (newStart > this.logStartOffsetValue) this.logStartOffsetValue = newStart;
      this.highWatermarkValue = this.clampedToLog(this.highWatermarkValue);
      this.epochCache.truncateFromStart(this.logStartOffsetValue);
      this.removeSegments(removed, "retention");
      this.logger.info("retention deleted segments", { segments: count, logStartOffset: String(this.logStartOffsetValue) });
      this.onLogStartOffsetChanged();
      return count;
    });
  }

  updateConfig(config: TopicConfig): void {
    const previousFlushMs = this.config["flush.ms"];
    this.config = { ...config };
    this.active.mapLengthHint = config["segment.bytes"];
    if (this.rollJitterMs > config["segment.ms"] || this.rollJitterMs > config["segment.jitter.ms"]) this.rollJitterMs = pickRollJitter(config, this.random);
    if (this.closed || this.failure) return;
    // Unsynced appends waited under the old flush settings: sync them now rather than re-arm.
    if (previousFlushMs !== config["flush.ms"] && this.commit.flushNowIfPending()) {
      // synced under the new settings
    } else if (this.commit.unflushedRecords >= config["flush.messages"]) {
      void this.commit.requestSync();
    }
  }

  // ----- log cleaner hooks (storage/cleaner.ts) ----------------------------------------------

  /** What the cleaner may rewrite (log-cleaner-hooks.ts). */
  cleanableSegments(): Segment[] {
    return cleanableSegments(this.segments, this.lastStableOffset);
  }

  get segmentContext(): SegmentContext {
    return this.context;
  }

  /**
   * Swap a sealed segment for its cleaned copy, in the single-writer queue once no sync runs.
   * `install` renames the files into place and returns the new Segment (or null to give up); the
   * old one is then closed (a reader's mapping of it lives on until released). False when `old`
   * is no longer a sealed segment of this log (truncated, deleted, closed).
   */
  replaceSegment(old: Segment, install: () => Segment | null): Promise<boolean> {
    if (this.closed || this.failure) return Promise.resolve(false);
    return this.enqueue(async () => {
      if (this.closed || this.failure) return false;
      await this.commit.waitSyncIdle();
      if (!swapCleanedSegment(this.segments, old, install)) return false;
      this.check();
      return true;
    });
  }

  // ----- close -----------------------------------------------------------------------------

  close(): Promise<void> {
    return this.enqueue(async () => {
      if (this.closed) return;
      this.closed = true;
      this.appendWaiters.wakeAll();
      let error: unknown = null;
      if (this.failure === null) {
        try {
          // Indexes of every segment whose files are stale, so reopening need not rebuild them.
          const active = this.active;
          active.seal();
          for (const segment of this.segments) {
            // Cut reserved tails before the last sync, so that the trimmed sizes are durable too.
            segment.trimFile();
            if (!segment.indexesOnDisk) this.commit.addIndexFds(segment.writeIndexFiles());
          }
          this.commit.markDirty();
          await this.commit.requestSync();
          await this.commit.waitSyncIdle();
          if (this.producerState?.encodeSnapshot) await writeSnapshotAtomic(this.fs, this.directory, this.producerState, this.logEndOffset);
        } catch (caught) {
          error = caught;
        }
      }
      await this.commit.waitSyncIdle();
      this.commit.stopTimer();
      for (const segment of this.segments) {
        try {
          segment.trimFile();
        } catch (caught) {
          error ??= caught;
        }
        segment.close();
      }
      this.commit.closeIndexFds();
      await this.epochCache.flushed();
      if (error !== null) throw error instanceof KafkaError ? error : storageError(`closing ${this.topic}-${this.partition}`, error);
    });
  }
}
