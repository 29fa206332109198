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
// Durability (group commit): appends since the last sync share one `pending` promise; a sync
// takes it over, fdatasyncs every dirty file (off the event loop) and resolves it. Only one sync
// runs at a time; requests that arrive meanwhile are served by the next one, which covers every
// batch appended until it starts. A sync starts when flush.messages records are unsynced, when
// flush.ms passes, on roll (like Kafka), on flush() and on close(). A failed fdatasync takes the
// log offline (every later append answers KAFKA_STORAGE_ERROR until it is reopened), because
// after a failed fsync the kernel may have dropped the dirty pages and the file's state is unknown.

import type { TopicConfig } from "../config/index.ts";
import { LONG_MAX } from "../config/index.ts";
import type { NativeApi } from "../native/types.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { decodeRecords, isControl, splitBatches } from "../protocol/record-batch.ts";
import { assert } from "../util/assert.ts";
import { systemClock, type Clock } from "../util/clock.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import {
  Attribute,
  lastOffsetOf,
  stampBaseOffset,
  stampLeaderEpoch,
  stampLogAppendTime,
  recordsInflatedBytesMaxFor,
  validateIncomingBatches,
  validateReplicatedBatches,
  type RecordBatchHeader,
  type ValidatedBatch,
} from "../protocol/record-batch.ts";
import { producerInfoOf } from "./producer-state.ts";
import type { StorageFs } from "./fs.ts";
import { DescriptorCache } from "./descriptors.ts";
import { FailureReporter } from "./failure-reporter.ts";
import { LeaderEpochCache, type EpochEndOffset } from "./leader-epoch-cache.ts";
import { MappingCache } from "./mapping.ts";
import { deleteSnapshotsAfter, writeSnapshotAtomic, writeSnapshotNow } from "./producer-snapshots.ts";
import { recoverSegments } from "./recovery.ts";
import { offsetIndexEntryBytes, timeIndexEntryBytes } from "./segment-index.ts";
import { scanBatches, Segment, storageError, type SegmentContext } from "./segment.ts";
import type {
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

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((resolveFn, rejectFn) => {
    resolve = resolveFn;
    reject = rejectFn;
  });
  // Nobody may be waiting for durability (acks=1): never report that as an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

const resolved = Promise.resolve();
const noop = () => {};
const int32Max = 0x7fffffff;
const int32MaxBig = BigInt(int32Max);

/** A config long at or above Kafka's Long.MAX_VALUE means "never". */
function isNever(value: number): boolean {
  return value >= LONG_MAX;
}

interface AppendWaiter {
  offset: bigint;
  resolve(): void;
}

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

  // Group commit.
  private pending: Deferred | null = null;
  private inflight: Deferred | null = null;
  private syncRunning: Promise<void> | null = null;
  private syncAgain = false;
  private unflushedRecords = 0;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private pendingIndexFds: number[] = [];
  private directoryDirty = false;
  private afterSyncActions: (() => void)[] = [];
  private syncIdleWaiters: (() => void)[] = [];

  private failure: KafkaError | null = null;
  private corruptionReported = false;
  /** Storage errors logged once per state change (failure-reporter.ts). */
  private readonly writeFailures: FailureReporter;
  private readonly readFailures: FailureReporter;
  private closed = false;
  private readonly appendWaiters = new Set<AppendWaiter>();

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
    log.pickRollJitter();
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
    this.markDirty();
    return this.requestSync().catch(() => {
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
      this.markDirty();
      void this.requestSync().catch(() => {
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
    for (const header of headers) {
      this.producerState?.update(producerInfoOf(header));
      this.epochCache.assignFromBatch(header.partitionLeaderEpoch, header.baseOffset);
    }
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
    this.checkWritable();
    const config = this.config;
    const validated = validateIncomingBatches(this.native, bytes, { maxMessageBytes: config["max.message.bytes"] });
    if (options.origin !== "coordinator") this.refuseControlBatches(validated);
    this.checkTimestamps(bytes, validated);
    this.checkKeys(bytes, validated);

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
    const duplicate = this.checkProducers(headers, firstOffset, appendTime >= 0n);
    if (duplicate) return duplicate;

    try {
      this.maybeRoll(bytes.length, nextOffset - 1n);
      const epoch = options.leaderEpoch ?? 0;
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
      this.epochCache.assignFromBatch(epoch, firstOffset);
      return this.afterAppend(headers, firstOffset, nextOffset - 1n, appendTime);
    } catch (error) {
      // Nothing was written: forget the producer state recorded for this append.
      this.producerState?.truncateTo(firstOffset);
      throw error;
    }
  }

  /**
   * Clients may not write control batches (attributes bit 5: transaction markers): Kafka's
   * LogValidator refuses them with INVALID_RECORD. Accepted, they were acknowledged and then
   * invisible to consumers (which skip control batches).
   */
  private refuseControlBatches(validated: readonly ValidatedBatch[]): void {
    for (const { header } of validated) {
      if ((header.attributes & Attribute.control) !== 0) {
        throw new KafkaError(ErrorCode.INVALID_RECORD, `Clients are not allowed to write control records in topic partition ${this.topic}-${this.partition}.`);
      }
    }
  }

  /**
   * A compacted topic refuses records without a key with INVALID_RECORD naming each of them (index
   * in its batch), as Kafka's LogValidator does: compaction keeps the latest record per key, so a
   * keyless record has no meaning there. Decodes the batches of compacted topics only.
   */
  private checkKeys(bytes: Uint8Array, validated: readonly ValidatedBatch[]): void {
    if (!this.config["cleanup.policy"].includes("compact")) return;
    const inflatedBytesMax = recordsInflatedBytesMaxFor(this.config["max.message.bytes"]);
    for (const { position, header } of validated) {
      const [view] = splitBatches(bytes.subarray(position, position + header.sizeBytes), { verifyCrc: false });
      if (isControl(view!.header.attributes)) continue;
      const recordErrors = decodeRecords(view!, { inflatedBytesMax }).flatMap((record, batchIndex) =>
        record.key === null ? [{ batchIndex, message: `compacted topic ${this.topic} cannot accept a record without a key` }] : []);
      if (recordErrors.length > 0) {
        throw new KafkaError(ErrorCode.INVALID_RECORD, `compacted topic ${this.topic} cannot accept records without a key`, recordErrors);
      }
    }
  }

  /**
   * message.timestamp.before/after.max.ms (CreateTime topics): a batch whose base or max timestamp
   * is out of range is refused with INVALID_TIMESTAMP naming each refused record (index in its
   * batch), as Kafka's RecordValidationException does (Produce v8+ recordErrors). Only the failing
   * batch is decoded, so the check costs two comparisons per batch when timestamps are in range.
   */
  private checkTimestamps(bytes: Uint8Array, validated: readonly ValidatedBatch[]): void {
    if (this.config["message.timestamp.type"] !== "CreateTime") return;
    const beforeMs = this.config["message.timestamp.before.max.ms"];
    const afterMs = this.config["message.timestamp.after.max.ms"];
    if (isNever(beforeMs) && isNever(afterMs)) return;
    const now = BigInt(this.clock.nowMs());
    const earliest = isNever(beforeMs) ? null : now - BigInt(beforeMs);
    const latest = isNever(afterMs) ? null : now + BigInt(afterMs);
    const outOfRange = (timestamp: bigint) => timestamp >= 0n && ((earliest !== null && timestamp < earliest) || (latest !== null && timestamp > latest));
    for (const { position, header } of validated) {
      if (!outOfRange(header.baseTimestamp) && !outOfRange(header.maxTimestamp)) continue;
      const batch = bytes.subarray(position, position + header.sizeBytes);
      const [view] = splitBatches(batch, { verifyCrc: false });
      const records = decodeRecords(view!, { inflatedBytesMax: recordsInflatedBytesMaxFor(this.config["max.message.bytes"]) });
      const range = `[${earliest ?? "-inf"}, ${latest ?? "+inf"}] (message.timestamp.before.max.ms=${beforeMs}, message.timestamp.after.max.ms=${afterMs})`;
      const recordErrors = records.flatMap((record, batchIndex) =>
        outOfRange(record.timestamp) ? [{ batchIndex, message: `timestamp ${record.timestamp} of record ${batchIndex} is out of range ${range}` }] : []);
      throw new KafkaError(ErrorCode.INVALID_TIMESTAMP, "one or more records have been rejected due to invalid timestamp", recordErrors);
    }
  }

  /** Run the producer checks; returns the result for a duplicate append, else null. */
  private checkProducers(headers: readonly RecordBatchHeader[], firstOffset: bigint, logAppendTime: boolean): AppendResult | null {
    const state = this.producerState;
    if (!state) return null;
    try {
      for (const header of headers) {
        const info = producerInfoOf(header);
        const verdict = state.check(info);
        if (verdict.kind === "duplicate") {
          state.truncateTo(firstOffset);
          return {
            baseOffset: verdict.baseOffset,
            lastOffset: verdict.lastOffset,
            logAppendTimeMs: logAppendTime ? this.storedMaxTimestamp(verdict.baseOffset) : -1n,
            logStartOffset: this.logStartOffsetValue,
            durable: this.durableThrough(verdict.lastOffset),
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
      const found = this.segments[this.segmentIndexFor(offset)]!.findBatch(offset);
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
    this.unflushedRecords += records;
    const durable = this.markDirty().promise;
    if (this.unflushedRecords >= this.config["flush.messages"] || this.config["flush.ms"] === 0) void this.requestSync();
    this.notifyAppendWaiters();
    return {
      baseOffset,
      lastOffset,
      logAppendTimeMs: appendTime,
      logStartOffset: this.logStartOffsetValue,
      durable,
      duplicate: false,
    };
  }

  /** A promise for the durability of everything up to `offset` (inclusive). */
  private durableThrough(offset: bigint): Promise<void> {
    if (offset < this.recoveryPointValue) return resolved;
    return (this.pending ?? this.inflight)?.promise ?? resolved;
  }

  // ----- rolling ---------------------------------------------------------------------------

  private maybeRoll(incomingBytes: number, lastOffset: bigint): void {
    const segment = this.active;
    if (segment.isEmpty) return;
    const config = this.config;
    const segmentMs = config["segment.ms"] - this.rollJitterMs;
    const indexBytesMax = config["segment.index.bytes"];
    const reason =
      segment.sizeBytes + incomingBytes > config["segment.bytes"] ? "segment.bytes"
      : !isNever(config["segment.ms"]) && this.clock.nowMs() - segment.rollBaseMs >= segmentMs ? "segment.ms"
      : (segment.offsetIndex.entries + 1) * offsetIndexEntryBytes > indexBytesMax ? "offset index full"
      : (segment.timeIndex.entries + 1) * timeIndexEntryBytes > indexBytesMax ? "time index full"
      : lastOffset - segment.baseOffset > int32MaxBig ? "relative offset overflow"
      : null;
    if (reason !== null) this.roll(reason);
  }

  /**
   * segment.jitter.ms as Kafka applies it: each active segment rolls a random share of the jitter
   * early, at most segment.ms (so that partitions created together do not all roll at once, and a
   * jitter above segment.ms never means a roll on every append).
   */
  private pickRollJitter(): void {
    const jitterMs = Math.min(this.config["segment.jitter.ms"], this.config["segment.ms"]);
    const draw = this.random();
    assert(draw >= 0 && draw < 1, "random() must be in [0, 1)");
    this.rollJitterMs = jitterMs > 0 && !isNever(jitterMs) ? Math.floor(draw * jitterMs) : 0;
    assert(this.rollJitterMs >= 0 && this.rollJitterMs <= this.config["segment.ms"], "roll jitter within segment.ms");
  }

  /** Seal the active segment and start a new one at the log end offset. */
  private roll(reason: string): void {
    const old = this.active;
    const baseOffset = this.logEndOffset;
    old.seal();
    try {
      old.trimFile(); // cut the reserved tail of the finished segment
    } catch (error) {
      throw storageError(`trimming ${old.paths.log}`, error);
    }
    const indexFds = old.writeIndexFiles();
    let next: Segment;
    try {
      next = Segment.create(this.context, this.directory, baseOffset, this.clock.nowMs());
    } catch (error) {
      for (const fd of indexFds) this.fs.close(fd);
      throw storageError(`creating segment ${baseOffset} of ${this.topic}-${this.partition}`, error);
    }
    next.mapLengthHint = this.config["segment.bytes"];
    old.mapLengthHint = 0;
    next.nextOffset = baseOffset;
    this.segments.push(next);
    this.pickRollJitter();
    this.pendingIndexFds.push(...indexFds);
    this.directoryDirty = true;
    this.logger.debug("rolled segment", { reason, baseOffset: String(baseOffset), previousBytes: old.sizeBytes });
    if (this.producerState?.encodeSnapshot) {
      try {
        writeSnapshotNow(this.fs, this.directory, this.producerState, baseOffset);
      } catch (error) {
        // Only recovery time depends on it: recovery then replays from an older snapshot.
        this.logger.warn("writing a producer state snapshot failed", { error: String(error) });
      }
    }
    this.markDirty();
    // Like Kafka, flush the finished segment (and its indexes) soon after a roll.
    void this.requestSync();
  }

  // ----- group commit ----------------------------------------------------------------------

  /** There is something to sync; returns the deferred that the next sync will resolve. */
  private markDirty(): Deferred {
    if (this.pending === null) {
      this.pending = deferred();
      const flushMs = this.config["flush.ms"];
      if (!isNever(flushMs) && flushMs > 0 && this.flushTimer === null) {
        this.flushTimer = setTimeout(() => {
          this.flushTimer = null;
          void this.requestSync();
        }, flushMs);
        this.flushTimer.unref?.();
      }
    }
    return this.pending;
  }

  /** Resolves once everything appended before this call is durable. */
  private requestSync(): Promise<void> {
    const waitFor = this.pending ?? this.inflight;
    if (waitFor === null) return resolved;
    if (this.syncRunning === null) this.startSync();
    else if (this.pending !== null) this.syncAgain = true;
    return waitFor.promise;
  }

  private startSync(): void {
    assert(this.syncRunning === null, "one sync at a time");
    const covering = this.pending;
    if (covering === null) return;
    this.pending = null;
    this.inflight = covering;
    this.unflushedRecords = 0;
    if (this.flushTimer !== null) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    const target = this.logEndOffset;
    const segments = this.segments.filter((segment) => segment.dirty && segment.isOpen);
    // Pinned open until the syncs end (the descriptor LRU must not close, and so let the kernel
    // reuse, a descriptor an fdatasync is using), and pinned before `dirty` is cleared: a dirty
    // segment's descriptor is always open (the LRU never closes one), so none is reopened here.
    const fds = segments.map((segment) => segment.syncStarted());
    for (const segment of segments) segment.dirty = false;
    const indexFds = this.pendingIndexFds.splice(0);
    const directoryDirty = this.directoryDirty;
    this.directoryDirty = false;
    // In offset order, one after the other, and the directory last: a power loss can then never
    // keep a later segment's data (or a new segment's name) while losing an earlier segment's
    // tail. Usually only the active segment is dirty, so this costs nothing; around a roll it
    // serializes two or three fdatasyncs.
    const syncAll = async () => {
      for (const fd of fds) await this.fs.datasync(fd);
      if (indexFds.length > 0) await Promise.all(indexFds.map((fd) => this.fs.datasync(fd)));
      if (directoryDirty) await this.fs.fsyncDir(this.directory);
    };
    this.syncRunning = syncAll().then(
      () => {
        if (target > this.recoveryPointValue) this.recoveryPointValue = target < this.logEndOffset ? target : this.logEndOffset;
        covering.resolve();
      },
      (error: unknown) => {
        for (const segment of segments) segment.dirty = true;
        this.failure = storageError(`fdatasync of ${this.topic}-${this.partition}`, error);
        this.logger.error("fdatasync failed; the log is offline until reopened", { error: String(error) });
        covering.reject(this.failure);
        if (this.pending) this.pending.reject(this.failure);
        this.pending = null;
      },
    ).finally(() => {
      for (const segment of segments) segment.syncFinished();
      this.finishSync(indexFds);
    });
  }

  private finishSync(indexFds: number[]): void {
    for (const fd of indexFds) {
      try {
        this.fs.close(fd);
      } catch (error) {
        this.logger.warn("closing an index file failed", { error: String(error) });
      }
    }
    this.inflight = null;
    this.syncRunning = null;
    for (const action of this.afterSyncActions.splice(0)) action();
    if (this.syncAgain && this.failure === null) {
      this.syncAgain = false;
      this.startSync();
      return;
    }
    this.syncAgain = false;
    for (const wake of this.syncIdleWaiters.splice(0)) wake();
  }

  /** Run `action` now, or after the running sync (it may be syncing the fds `action` closes). */
  private afterSync(action: () => void): void {
    if (this.syncRunning === null) action();
    else this.afterSyncActions.push(action);
  }

  private waitSyncIdle(): Promise<void> {
    if (this.syncRunning === null) return resolved;
    return new Promise((resolve) => this.syncIdleWaiters.push(resolve));
  }

  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return this.requestSync();
  }

  // ----- reading ---------------------------------------------------------------------------

  private segmentIndexFor(offset: bigint): number {
    let low = 0;
    let high = this.segments.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (this.segments[middle]!.baseOffset <= offset) low = middle;
      else high = middle - 1;
    }
    return low;
  }

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
    const chunks: Uint8Array[] = [];
    const releases: (() => void)[] = [];
    let bytes = 0;
    let cursor = offset;
    try {
      for (let index = this.segmentIndexFor(offset); index < this.segments.length && cursor < limit; index++) {
        const segment = this.segments[index]!;
        const found = segment.findBatch(cursor);
        if (found === null) continue;
        let end = found.position;
        let batch = { sizeBytes: found.header.sizeBytes, lastOffset: lastOffsetOf(found.header) };
        let full = false;
        for (;;) {
          if (batch.lastOffset >= limit || (bytes > 0 && bytes + batch.sizeBytes > maxBytes)) {
            full = true;
            break;
          }
          // First read of a batch not verified since this process opened the log: check its CRC
          // (once). A damaged one ends the read before it, or fails a read that starts at it.
          if (!segment.batchIntact(end, batch.sizeBytes)) {
            if (end === found.position) segment.findBatch(cursor); // throws CORRUPT_MESSAGE for it now
            full = true;
            break;
          }
          end += batch.sizeBytes;
          bytes += batch.sizeBytes;
          cursor = batch.lastOffset + 1n;
          if (end >= segment.sizeBytes || bytes >= maxBytes) break;
          // A damaged header ends this read before it; the read that starts there gets the error.
          const next = segment.extentAt(end, batch.lastOffset);
          if (next === null) {
            full = true;
            break;
          }
          batch = next;
        }
        if (end > found.position) {
          const part = segment.bytesAt(found.position, end - found.position);
          chunks.push(part.bytes);
          releases.push(part.release);
        }
        if (full || bytes >= maxBytes) break;
      }
    } catch (error) {
      for (const release of releases) release();
      if (error instanceof KafkaError && error.code === ErrorCode.CORRUPT_MESSAGE) this.reportCorruption(error);
      if (error instanceof KafkaError && error.code === ErrorCode.KAFKA_STORAGE_ERROR) this.readFailures.failed(error);
      throw error;
    }
    if (this.readFailures.isFailing) this.readFailures.succeeded();
    let released = false;
    return {
      chunks,
      bytes,
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

  /**
   * Kafka's answer to ListOffsets by time: the first record at or after the log start offset whose
   * timestamp is >= `timestampMs`, with that record's timestamp. The indexes find the first batch
   * whose max timestamp reaches the target; only that batch (or the next few, when its matching
   * records lie below the log start offset) is decoded — records of one batch may carry different
   * timestamps, out of order too.
   */
  offsetForTimestamp(timestampMs: bigint): TimestampOffset | null {
    const start = this.logStartOffsetValue;
    for (const segment of this.segments) {
      if (segment.nextOffset <= start || segment.maxTimestamp < timestampMs) continue;
      let minOffset = start;
      for (;;) {
        const found = segment.findTimestamp(timestampMs, minOffset);
        if (found === null) break;
        const exact = this.firstRecordReaching(segment, found.position, found.header, timestampMs, start);
        if (exact !== null) return exact;
        minOffset = lastOffsetOf(found.header) + 1n;
      }
    }
    return null;
  }

  /** The first record of a stored batch with offset >= minOffset and timestamp >= timestampMs. */
  private firstRecordReaching(segment: Segment, position: number, header: RecordBatchHeader, timestampMs: bigint, minOffset: bigint): TimestampOffset | null {
    assert(header.maxTimestamp >= timestampMs, "the batch reaches the target timestamp");
    const part = segment.bytesAt(position, header.sizeBytes);
    try {
      const [view] = splitBatches(part.bytes, { verifyCrc: false });
      const inflatedBytesMax = recordsInflatedBytesMaxFor(this.config["max.message.bytes"]);
      for (const record of decodeRecords(view!, { inflatedBytesMax })) {
        if (record.offset >= minOffset && record.timestamp >= timestampMs) return { offset: record.offset, timestamp: record.timestamp };
      }
      return null;
    } catch (error) {
      // Stored batches were checked at append and at recovery; should one not decode now (a bad
      // disk), answer at batch granularity rather than fail the request.
      this.logger.warn("could not decode a stored batch for offsetForTimestamp", { baseOffset: String(header.baseOffset), error: String(error) });
      const offset = header.baseOffset > minOffset ? header.baseOffset : minOffset;
      return { offset, timestamp: header.maxTimestamp };
    } finally {
      part.release();
    }
  }

  maxTimestampOffset(): TimestampOffset | null {
    let best: TimestampOffset | null = null;
    for (const segment of this.segments) {
      if (segment.maxTimestamp < 0n) continue;
      if (best === null || segment.maxTimestamp > best.timestamp) {
        best = { offset: segment.offsetOfMaxTimestamp, timestamp: segment.maxTimestamp };
      }
    }
    return best;
  }

  waitForAppend(offset: bigint, signal: AbortSignal): Promise<void> {
    if (this.logEndOffset > offset || signal.aborted || this.closed) return resolved;
    return new Promise((resolve) => {
      const onAbort = () => {
        cancel();
        resolve();
      };
      const cancel = this.onAppend(offset, () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  onAppend(offset: bigint, wake: () => void): () => void {
    if (this.logEndOffset > offset || this.closed) {
      wake();
      return noop;
    }
    const waiter: AppendWaiter = {
      offset,
      resolve: () => {
        this.appendWaiters.delete(waiter);
        wake();
      },
    };
    this.appendWaiters.add(waiter);
    return () => void this.appendWaiters.delete(waiter);
  }

  /** Callbacks registered by onAppend/waitForAppend and not yet woken or cancelled (tests). */
  get appendWaiterCount(): number {
    return this.appendWaiters.size;
  }

  private notifyAppendWaiters(): void {
    if (this.appendWaiters.size === 0) return;
    const end = this.logEndOffset;
    for (const waiter of [...this.appendWaiters]) if (end > waiter.offset) waiter.resolve();
  }

  // ----- truncation, deletion, retention -----------------------------------------------------

  truncateTo(offset: bigint): Promise<void> {
    return this.enqueue(async () => {
      this.checkWritable();
      assert(offset >= 0n, "truncation offset must be >= 0");
      await this.waitSyncIdle();
      if (offset >= this.logEndOffset) return;
      if (offset < this.recoveryPointValue) {
        this.recoveryPointValue = offset;
        await this.persistCheckpoints();
      }
      if (offset < this.logStartOffsetValue || offset <= this.segments[0]!.baseOffset) {
        this.truncateFully(offset < this.logStartOffsetValue ? offset : this.segments[0]!.baseOffset);
      } else {
        const index = this.segmentIndexFor(offset);
        this.removeSegments(this.segments.splice(index + 1), "truncation");
        const segment = this.active;
        const found = segment.findBatch(offset);
        segment.truncateTo(found === null ? segment.sizeBytes : found.position, this.config["index.interval.bytes"]);
        segment.mapLengthHint = this.config["segment.bytes"];
      }
      this.afterTruncation();
      await this.requestSync();
    });
  }

  truncateFullyAndStartAt(offset: bigint): Promise<void> {
    return this.enqueue(async () => {
      this.checkWritable();
      assert(offset >= 0n, "start offset must be >= 0");
      await this.waitSyncIdle();
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
      await this.requestSync();
      await this.persistCheckpoints();
    });
  }

  private truncateFully(startOffset: bigint): void {
    const reused = this.segments.find((segment) => segment.baseOffset === startOffset);
    let segment: Segment;
    if (reused !== undefined) {
      // Truncating in place keeps a reader's mapping of this file safe (see Segment.truncateTo).
      reused.truncateTo(0, this.config["index.interval.bytes"]);
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
    this.directoryDirty = true;
    this.markDirty();
    this.logger.info("truncated", { logEndOffset: String(end) });
    this.check();
  }

  /** Take segments out of the log now; close and unlink their files once no sync uses them. */
  private removeSegments(removed: Segment[], why: string): void {
    if (removed.length === 0) return;
    this.directoryDirty = true;
    for (const segment of removed) {
      this.logger.debug("deleting segment", { why, baseOffset: String(segment.baseOffset), bytes: segment.sizeBytes });
      this.afterSync(() => {
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
    let count = 0;
    while (count < this.segments.length - 1 && this.segments[count]!.nextOffset <= this.logStartOffsetValue) count++;
    // A segment that ends below the start offset but whose next segment starts above it keeps the
    // gap: the next one becomes the first, and the log start offset stays where it was set.
    this.removeSegments(this.segments.splice(0, count), why);
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
      const retentionMs = this.config["retention.ms"];
      const retentionBytes = this.config["retention.bytes"];
      let count = 0;
      if (retentionMs >= 0 && !isNever(retentionMs)) {
        while (count < this.segments.length - 1) {
          const segment = this.segments[count]!;
          if (segment.maxTimestamp < 0n || nowMs - Number(segment.maxTimestamp) <= retentionMs) break;
          count++;
        }
      }
      if (retentionBytes >= 0 && !isNever(retentionBytes)) {
        let excess = this.sizeBytes - retentionBytes;
        for (let index = 0; index < count; index++) excess -= this.segments[index]!.sizeBytes;
        while (count < this.segments.length - 1 && excess - this.segments[count]!.sizeBytes >= 0) {
          excess -= this.segments[count]!.sizeBytes;
          count++;
        }
      }
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
    if (this.rollJitterMs > config["segment.ms"] || this.rollJitterMs > config["segment.jitter.ms"]) this.pickRollJitter();
    if (this.closed || this.failure) return;
    // Unsynced appends waited under the old flush settings: sync them now rather than re-arm.
    if (previousFlushMs !== config["flush.ms"] && this.pending !== null) {
      if (this.flushTimer !== null) clearTimeout(this.flushTimer);
      this.flushTimer = null;
      void this.requestSync();
    } else if (this.unflushedRecords >= config["flush.messages"]) {
      void this.requestSync();
    }
  }

  // ----- log cleaner hooks (storage/cleaner.ts) ----------------------------------------------

  /**
   * What the cleaner may rewrite: the sealed segments (never the active one), oldest first. They
   * need not be synced yet: a cleaned copy is fdatasync'd before it replaces a segment (and after a
   * crash recovery, segments stay unsynced until the next append's sync).
   */
  cleanableSegments(): Segment[] {
    // Never a damaged segment, nor past one: cleaning rewrites whole files, and the damaged bytes
    // must stay as they are (and keep being reported) until the operator deals with them.
    const sealed = this.segments.slice(0, -1);
    const firstDamaged = sealed.findIndex((segment) => segment.isDamaged);
    return firstDamaged < 0 ? sealed : sealed.slice(0, firstDamaged);
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
      await this.waitSyncIdle();
      const index = this.segments.indexOf(old);
      if (index < 0 || index === this.segments.length - 1) return false;
      const fresh = install();
      if (fresh === null) return false;
      assert(fresh.baseOffset === old.baseOffset && fresh.nextOffset === old.nextOffset, "a cleaned segment covers the same offsets");
      this.segments[index] = fresh;
      old.close();
      this.check();
      return true;
    });
  }

  // ----- close -----------------------------------------------------------------------------

  close(): Promise<void> {
    return this.enqueue(async () => {
      if (this.closed) return;
      this.closed = true;
      for (const waiter of [...this.appendWaiters]) waiter.resolve();
      let error: unknown = null;
      if (this.failure === null) {
        try {
          // Indexes of every segment whose files are stale, so reopening need not rebuild them.
          const active = this.active;
          active.seal();
          for (const segment of this.segments) {
            // Cut reserved tails before the last sync, so that the trimmed sizes are durable too.
            segment.trimFile();
            if (!segment.indexesOnDisk) this.pendingIndexFds.push(...segment.writeIndexFiles());
          }
          this.markDirty();
          await this.requestSync();
          await this.waitSyncIdle();
          if (this.producerState?.encodeSnapshot) await writeSnapshotAtomic(this.fs, this.directory, this.producerState, this.logEndOffset);
        } catch (caught) {
          error = caught;
        }
      }
      await this.waitSyncIdle();
      if (this.flushTimer !== null) clearTimeout(this.flushTimer);
      this.flushTimer = null;
      for (const segment of this.segments) {
        try {
          segment.trimFile();
        } catch (caught) {
          error ??= caught;
        }
        segment.close();
      }
      for (const fd of this.pendingIndexFds.splice(0)) this.fs.close(fd);
      await this.epochCache.flushed();
      if (error !== null) throw error instanceof KafkaError ? error : storageError(`closing ${this.topic}-${this.partition}`, error);
    });
  }
}
