// The log cleaner: compaction of logs with cleanup.policy=compact (or compact,delete), as Kafka's
// LogCleaner does it, one log at a time in the background.
//
//   logStart ........ firstDirty ................ cleanableEnd ......... active segment
//   | clean (compacted before) | dirty (written since) |  too new / unsynced  |  never touched
//
// A pass over a log:
//  1. Cleanable range: the sealed segments already covered by an fdatasync (Log.cleanableSegments),
//     stopping at the first one holding records newer than min.compaction.lag.ms.
//  2. Eligible when dirtyBytes / cleanableBytes >= min.cleanable.dirty.ratio, or when the oldest
//     dirty segment is older than max.compaction.lag.ms (then regardless of the ratio).
//  3. Offset map: key → latest offset over the dirty part (bounded by keysMax; the range ends at
//     the segment where the map filled up).
//  4. Every cleanable segment is rewritten keeping, for each key, only the record at the latest
//     offset (keys only in the clean part are kept: they were compacted already). Tombstones (null
//     values) go too once their segment's newest timestamp is older than delete.retention.ms.
//     Offsets never change: a cleaned batch keeps each record's own offset (gaps are normal).
//  5. Each segment is swapped in crash-safely, 1:1 (same base offset, so a swap never overlaps
//     another segment): write `<base>.log.cleaned`, fdatasync; rename to `<base>.log.swap`, fsync
//     the directory; then, in the log's single-writer queue, drop the old index files and rename
//     the swap over `<base>.log` (recovery deletes a leftover .cleaned and completes a .swap, so a
//     crash at any point leaves either the old or the cleaned segment, both correct).
//  6. The end of the cleaned range is written to `<partition dir>/cleaner-offset-checkpoint`.
//
// Never blocks appends or reads: segments are read through the cleaner's own file descriptor in
// slices of sliceBytes, yielding to the event loop between slices; the log is locked only for the
// rename in step 5. Transactions (cleaner-transactions.ts): the cleanable range ends below the last
// stable offset; aborted transactions' batches are removed and left out of the offset map; a
// marker goes once nothing of its transaction is left and it is past delete.retention.ms.
// Deliberately not done: merging small cleaned segments into one (Kafka groups them), and keeping
// an emptied batch as a producer's last (Kafka keeps its header so the producer's sequence
// survives a rebuild of the producer state from the log; here the producer-state snapshot keeps
// it). Compressed batches are inflated, filtered and compressed again with their own codec.

import { join } from "node:path";
import type { TopicConfig } from "../config/index.ts";
import { LONG_MAX } from "../config/index.ts";
import type { NativeApi } from "../native/types.ts";
import { assert } from "../util/assert.ts";
import { systemClock, type Clock } from "../util/clock.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import { Attribute, type RecordBatchHeader } from "../protocol/record-batch.ts";
import { deflateBatch, filteredBatch, forEachRecordView, inflateBatch } from "../protocol/record-batch.ts";
import { CleanedTransactions } from "./cleaner-transactions.ts";
import type { StorageFs } from "./fs.ts";
import { Log as LogClass, type Log } from "./partition-log.ts";
import { swapSuffix } from "./recovery.ts";
import { scanBatches, Segment } from "./segment.ts";

export const cleanerCheckpointFile = "cleaner-offset-checkpoint";
const cleanedSuffix = ".cleaned";

/** Points where a test can make the cleaner "crash" (throw) to check recovery. */
export type CleanerCrashPoint = "cleaned-written" | "swap-renamed";

export interface LogCleanerOptions {
  /** The logs to consider (every log of the node); only compacted ones are cleaned. */
  logs: () => Iterable<Log>;
  fs: StorageFs;
  native: NativeApi;
  clock?: Clock;
  logger?: Logger;
  /** Pause between passes when nothing was cleanable (log.cleaner.backoff.ms). */
  backoffMs: number;
  /** Bytes read between yields to the event loop. */
  sliceBytes?: number;
  /** Most distinct keys in one pass's offset map (bounds memory). */
  keysMax?: number;
  /** Test hook: throw from here to simulate a crash at that point. */
  crashPoint?: (point: CleanerCrashPoint, segmentBase: bigint) => void;
}

export interface CleanStats {
  topic: string;
  partition: number;
  segmentsRewritten: number;
  /** Log bytes (segment sizes) of the cleaned range. */
  bytesCleaned: number;
  /** Bytes read from disk: the dirty part twice (offset map, then cleaning), the clean part once. */
  bytesRead: number;
  bytesWritten: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
  /** Records of aborted transactions removed (counted in recordsRemoved too). */
  abortedRecordsRemoved: number;
  /** COMMIT / ABORT markers removed (no record of their transaction left, past delete.retention.ms). */
  markersRemoved: number;
  firstDirtyOffset: bigint;
  cleanableEnd: bigint;
  durationMs: number;
}

interface CleanablePlan {
  segments: Segment[];
  firstDirty: bigint;
  dirtyRatio: number;
  forced: boolean;
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function isNever(value: number): boolean {
  return value >= LONG_MAX;
}

/** The key bytes as a string (latin1: one char per byte), the offset map's key. */
function keyString(batch: Uint8Array, start: number, length: number): string {
  return Buffer.from(batch.buffer, batch.byteOffset + start, length).toString("latin1");
}

export class LogCleaner {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly sliceBytes: number;
  private readonly keysMax: number;
  /** Largest inflated size of one compressed batch the cleaner will decompress. */
  private readonly inflatedBytesMax = 64 * 1024 * 1024;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;
  private readonly checkpoints = new Map<string, bigint>();
  /** Logs whose last cleaning failed (their error was logged once). */
  private readonly failing = new Set<string>();

  constructor(private readonly options: LogCleanerOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? createLogger("cleaner");
    this.sliceBytes = options.sliceBytes ?? 256 * 1024;
    this.keysMax = options.keysMax ?? 1_000_000;
    assert(this.sliceBytes > 0 && this.keysMax > 0, "cleaner limits must be positive");
  }

  /** Runs passes in the background: right away, then backoffMs after each pass. */
  start(): void {
    const schedule = (delayMs: number) => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.timer = null;
        this.running = this.cleanOnce()
          .catch((error: unknown) => this.logger.error("cleaner pass failed", { error: String(error) }))
          .finally(() => {
            this.running = null;
            schedule(this.options.backoffMs);
          });
      }, delayMs);
      this.timer.unref?.();
    };
    schedule(0);
  }

  /** Stops scheduling and waits for a pass in progress (it stops at the next segment). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass: cleans every eligible compacted log, dirtiest first. */
  async cleanOnce(): Promise<CleanStats[]> {
    const now = this.clock.nowMs();
    const candidates: { log: Log; plan: CleanablePlan }[] = [];
    for (const log of this.options.logs()) {
      if (log.isClosed || !log.currentConfig()["cleanup.policy"].includes("compact")) continue;
      const plan = this.plan(log, now);
      if (plan) candidates.push({ log, plan });
    }
    candidates.sort((left, right) => Number(right.plan.forced) - Number(left.plan.forced) || right.plan.dirtyRatio - left.plan.dirtyRatio);
    const results: CleanStats[] = [];
    for (const candidate of candidates) {
      if (this.stopped) break;
      // One log that cannot be cleaned (damaged data found while cleaning) must not stop the others,
      // nor fill the log with the same error every pass.
      try {
        const stats = await this.cleanLog(candidate.log, true);
        if (stats) results.push(stats);
        this.failing.delete(candidate.log.directory);
      } catch (error) {
        if (!this.failing.has(candidate.log.directory)) {
          this.logger.error("cleaning a log failed; it is retried every pass, logged again once it has worked", { log: `${candidate.log.topic}-${candidate.log.partition}`, error: String(error) });
        }
        this.failing.add(candidate.log.directory);
      }
    }
    return results;
  }

  /** The cleanable range of a log and whether it is due, or null when nothing is cleanable. */
  plan(log: Log, now: number = this.clock.nowMs()): CleanablePlan | null {
    const config = log.currentConfig();
    const minLagMs = config["min.compaction.lag.ms"];
    const segments: Segment[] = [];
    for (const segment of log.cleanableSegments()) {
      if (minLagMs > 0 && Number(segment.maxTimestamp) > now - minLagMs) break;
      segments.push(segment);
    }
    if (segments.length === 0) return null;
    const firstDirty = this.firstDirtyOffset(log);
    let totalBytes = 0;
    let dirtyBytes = 0;
    let oldestDirty: Segment | undefined;
    for (const segment of segments) {
      totalBytes += segment.sizeBytes;
      if (segment.nextOffset > firstDirty) {
        dirtyBytes += segment.sizeBytes;
        oldestDirty ??= segment;
      }
    }
    if (oldestDirty === undefined || totalBytes === 0) return null;
    const maxLagMs = config["max.compaction.lag.ms"];
    const forced = !isNever(maxLagMs) && oldestDirty.maxTimestamp >= 0n && now - Number(oldestDirty.maxTimestamp) > maxLagMs;
    const dirtyRatio = dirtyBytes / totalBytes;
    if (!forced && dirtyRatio < config["min.cleanable.dirty.ratio"]) return null;
    return { segments, firstDirty, dirtyRatio, forced };
  }

  private checkpointPath(log: Log): string {
    return join(log.directory, cleanerCheckpointFile);
  }

  /** Where the dirty part of a log starts (the end of the last cleaning), at least its start. */
  firstDirtyOffset(log: Log): bigint {
    let offset = this.checkpoints.get(log.directory);
    if (offset === undefined) {
      const bytes = this.options.fs.readFile(this.checkpointPath(log));
      const text = bytes ? new TextDecoder().decode(bytes).trim() : "";
      offset = /^\d+$/.test(text) ? BigInt(text) : 0n;
      this.checkpoints.set(log.directory, offset);
    }
    return offset > log.logStartOffset ? offset : log.logStartOffset;
  }

  /**
   * Cleans one log now (when `ignoreRatio`, even below min.cleanable.dirty.ratio). Null when it has
   * no cleanable segment.
   */
  async cleanLog(log: Log, ignoreRatio = false): Promise<CleanStats | null> {
    const started = performance.now();
    const now = this.clock.nowMs();
    let plan = this.plan(log, now);
    if (!plan && ignoreRatio) {
      const segments = log.cleanableSegments();
      if (segments.length > 0) plan = { segments, firstDirty: this.firstDirtyOffset(log), dirtyRatio: 0, forced: true };
    }
    if (!plan) return null;
    const config = log.currentConfig();
    const stats: CleanStats = {
      topic: log.topic, partition: log.partition, segmentsRewritten: 0, bytesCleaned: 0, bytesRead: 0, bytesWritten: 0,
      recordsRemoved: 0, tombstonesRemoved: 0, abortedRecordsRemoved: 0, markersRemoved: 0, firstDirtyOffset: plan.firstDirty, cleanableEnd: plan.firstDirty, durationMs: 0,
    };
    const planEnd = plan.segments[plan.segments.length - 1]!.nextOffset;
    const aborted = () => new CleanedTransactions(log.abortedTransactions(log.logStartOffset, planEnd));
    const { map, segments } = await this.buildOffsetMap(plan, aborted(), stats);
    // Offsets are kept as numbers in the map (exact below 2^53, as every real offset is).
    if (segments.length === 0) return null;
    const deleteHorizonMs = now - config["delete.retention.ms"];
    const transactions = aborted();
    for (const segment of segments) {
      if (this.stopped || log.isClosed) break;
      stats.bytesCleaned += segment.sizeBytes;
      await this.cleanSegment(log, segment, { map, transactions, deleteHorizonMs }, config, stats);
    }
    const cleanableEnd = segments[segments.length - 1]!.nextOffset;
    stats.cleanableEnd = cleanableEnd;
    if (!this.stopped && !log.isClosed) {
      this.checkpoints.set(log.directory, cleanableEnd);
      await this.options.fs.writeFileAtomic(this.checkpointPath(log), new TextEncoder().encode(`${cleanableEnd}\n`));
    }
    stats.durationMs = performance.now() - started;
    this.logger.info("cleaned log", {
      log: `${log.topic}-${log.partition}`, segments: stats.segmentsRewritten, removed: stats.recordsRemoved,
      tombstones: stats.tombstonesRemoved, aborted: stats.abortedRecordsRemoved, markers: stats.markersRemoved, bytesRead: stats.bytesRead, bytesWritten: stats.bytesWritten, ms: Math.round(stats.durationMs),
    });
    return stats;
  }

  /**
   * key → latest offset over the dirty part (records of aborted transactions left out); the
   * segments to clean end where the map filled.
   */
  private async buildOffsetMap(plan: CleanablePlan, transactions: CleanedTransactions, stats: CleanStats): Promise<{ map: Map<string, number>; segments: Segment[] }> {
    const map = new Map<string, number>();
    const segments: Segment[] = [];
    const firstDirty = Number(plan.firstDirty);
    for (const segment of plan.segments) {
      segments.push(segment);
      if (segment.nextOffset <= plan.firstDirty) continue;
      await this.forEachBatch(segment, stats, (header, bytes) => {
        if ((header.attributes & Attribute.control) !== 0 || transactions.isAborted(header)) return;
        const baseOffset = Number(header.baseOffset);
        const plain = inflateBatch(bytes, header, this.inflatedBytesMax);
        forEachRecordView(plain.batch, plain.header, (record) => {
          const offset = baseOffset + record.offsetDelta;
          if (record.keyLength >= 0 && offset >= firstDirty) map.set(keyString(plain.batch, record.keyStart, record.keyLength), offset);
        });
      });
      if (map.size >= this.keysMax) break;
    }
    return { map, segments };
  }

  /** Visits the segment's batches through a private fd, in slices, yielding between them. */
  private async forEachBatch(segment: Segment, stats: CleanStats, visit: (header: RecordBatchHeader, bytes: Uint8Array) => void): Promise<number> {
    const { fs, native } = this.options;
    const end = segment.sizeBytes;
    const fd = fs.open(segment.paths.log, "read");
    try {
      let position = 0;
      while (position < end) {
        const sliceEnd = position + this.sliceBytes;
        const result = scanBatches(fs, native, fd, position, end, (batch) => {
          if (batch.position >= sliceEnd) return "slice";
          visit(batch.header, batch.bytes);
        });
        stats.bytesRead += result.endPosition - position;
        if (result.stopReason !== null && result.stopReason !== "slice") {
          throw new Error(`cannot clean ${segment.paths.log} at ${result.endPosition}: ${result.stopReason}`);
        }
        position = result.endPosition;
        if (position < end) await yieldToLoop();
      }
      return end;
    } finally {
      fs.close(fd);
    }
  }

  private async cleanSegment(
    log: Log,
    segment: Segment,
    pass: { map: Map<string, number>; transactions: CleanedTransactions; deleteHorizonMs: number },
    config: TopicConfig,
    stats: CleanStats,
  ): Promise<void> {
    const { map, transactions, deleteHorizonMs } = pass;
    const { fs, native } = this.options;
    const sizeBefore = segment.sizeBytes;
    const cleanedPath = segment.paths.log + cleanedSuffix;
    const swapPath = segment.paths.log + swapSuffix;
    const tombstonesExpire = Number(segment.maxTimestamp) < deleteHorizonMs;
    let changed = false;
    let removed = 0;
    let tombstones = 0;
    let abortedRecords = 0;
    let markers = 0;
    const out = fs.open(cleanedPath, "create");
    let written = 0;
    const write = (bytes: Uint8Array) => {
      let done = 0;
      while (done < bytes.length) done += fs.pwrite(out, bytes.subarray(done), written + done);
      written += bytes.length;
    };
    try {
      if (fs.size(out) > 0) fs.ftruncate(out, 0);
      await this.forEachBatch(segment, stats, (header, bytes) => {
        if ((header.attributes & Attribute.control) !== 0) {
          if (transactions.markerRead(header) && tombstonesExpire) {
            changed = true;
            markers++;
            return;
          }
          write(bytes);
          return;
        }
        if (transactions.isAborted(header)) {
          transactions.dataRead(header, false);
          changed = true;
          abortedRecords += header.recordsCount;
          return;
        }
        const baseOffset = Number(header.baseOffset);
        const kept: { start: number; end: number }[] = [];
        let total = 0;
        const plain = inflateBatch(bytes, header, this.inflatedBytesMax);
        const decoded = forEachRecordView(plain.batch, plain.header, (record) => {
          total++;
          if (record.keyLength >= 0) {
            const latest = map.get(keyString(plain.batch, record.keyStart, record.keyLength));
            if (latest !== undefined && baseOffset + record.offsetDelta < latest) {
              removed++;
              return;
            }
            if (record.valueLength < 0 && tombstonesExpire) {
              tombstones++;
              return;
            }
          }
          kept.push({ start: record.start, end: record.end });
        });
        if (!decoded || kept.length === total) {
          transactions.dataRead(header, true);
          write(bytes);
          return;
        }
        transactions.dataRead(header, kept.length > 0);
        changed = true;
        if (kept.length > 0) write(deflateBatch(filteredBatch(plain.batch, kept), plain.codec, header.attributes));
      });
      if (!changed) {
        fs.close(out);
        fs.unlink(cleanedPath);
        return;
      }
      await fs.datasync(out);
    } catch (error) {
      fs.close(out);
      fs.unlink(cleanedPath);
      throw error;
    }
    fs.close(out);
    this.options.crashPoint?.("cleaned-written", segment.baseOffset);
    fs.rename(cleanedPath, swapPath);
    await fs.fsyncDir(log.directory);
    this.options.crashPoint?.("swap-renamed", segment.baseOffset);
    const installed = await log.replaceSegment(segment, () => this.install(log, segment, sizeBefore, config));
    if (!installed) {
      if (fs.exists(swapPath)) fs.unlink(swapPath);
      return;
    }
    await fs.fsyncDir(log.directory);
    stats.segmentsRewritten += 1;
    stats.bytesWritten += written;
    stats.recordsRemoved += removed + abortedRecords;
    stats.tombstonesRemoved += tombstones;
    stats.abortedRecordsRemoved += abortedRecords;
    stats.markersRemoved += markers;
  }

  /** Runs inside the log's single-writer queue: put the swap file in place of the segment. */
  private install(log: Log, old: Segment, sizeBefore: number, config: TopicConfig): Segment | null {
    const { fs } = this.options;
    if (old.sizeBytes !== sizeBefore) return null; // truncated and rewritten meanwhile
    for (const path of [old.paths.offsetIndex, old.paths.timeIndex]) {
      // Recovery rebuilds missing indexes; stale ones would not match the cleaned file.
      if (fs.exists(path)) fs.unlink(path);
    }
    fs.rename(old.paths.log + swapSuffix, old.paths.log);
    const fresh = Segment.open(log.segmentContext, log.directory, old.baseOffset, this.clock.nowMs());
    const result = fresh.rebuild(config["index.interval.bytes"], fs.size(fresh.fd));
    assert(result.stopReason === null, `cleaned segment ${fresh.paths.log} does not scan: ${result.stopReason}`);
    fresh.sizeBytes = result.endPosition;
    fresh.reservedBytes = result.endPosition;
    // The cleaned segment still covers the same offsets (its last records may be gone).
    fresh.nextOffset = old.nextOffset;
    fresh.seal();
    fresh.dirty = false;
    fresh.indexesOnDisk = false;
    fresh.rollBaseMs = old.rollBaseMs;
    // The `.txnindex` stays as it is (same base offset, same offsets): like Kafka, the entries of
    // transactions whose data and marker the cleaner removed are kept (they match nothing any more).
    fresh.transactionIndex.adopt(old.transactionIndex);
    return fresh;
  }
}

/**
 * The node's cleaner over every log of a LogManager (node.ts), or null when log.cleaner.enable is
 * off. Started at once; stop() it before closing the logs.
 */
export function startLogCleaner(
  manager: { all(): Iterable<unknown> },
  config: { "log.cleaner.enable": boolean; "log.cleaner.backoff.ms": number },
  fs: StorageFs,
  native: NativeApi,
): LogCleaner | null {
  if (!config["log.cleaner.enable"]) return null;
  const cleaner = new LogCleaner({
    logs: function* () {
      for (const log of manager.all()) if (log instanceof LogClass) yield log;
    },
    fs,
    native,
    backoffMs: config["log.cleaner.backoff.ms"],
  });
  cleaner.start();
  return cleaner;
}
