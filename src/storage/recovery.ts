// Opening a partition directory after a clean shutdown or a crash.
//
//  1. Leftovers of interrupted operations: `*.tmp`, `*.deleted` and `*.cleaned` files are removed;
//     a `*.swap` file (a finished replacement written by the cleaner) is renamed over its target.
//     Index files whose .log is missing are removed.
//  2. Segments below the recovery point (all covered by an fdatasync before the checkpoint was
//     written) are trusted: their index files are loaded and sanity-checked, and rebuilt by
//     scanning when missing or implausible.
//  3. From the segment holding the recovery point — and always the last (active) segment, whose
//     index files are never up to date after a crash (unless the node shut down cleanly: then its
//     index files and the checkpoint are trusted, see `cleanShutdown`) — every batch is read and its length, magic,
//     CRC-32C and offset order checked while the indexes are rebuilt. The first bad batch (torn
//     write, zero-filled tail, bit flip) and everything after it is cut: the file is truncated
//     there and later segments are deleted, and the cut is logged with offsets and byte counts.
//  4. The idempotent-producer state is rebuilt by feeding every batch header to
//     ProducerStateManager.update, oldest first.

import type { TopicConfig } from "../config/index.ts";
import type { Clock } from "../util/clock.ts";
import { assert } from "../util/assert.ts";
import type { Logger } from "../util/logger.ts";
import { producerInfoOf, type BatchHeader } from "./batch-header.ts";
import { loadNewestSnapshot } from "./producer-snapshots.ts";
import {
  logSuffix,
  offsetIndexSuffix,
  parseSegmentFileName,
  scanBatches,
  Segment,
  timeIndexSuffix,
  type SegmentContext,
} from "./segment.ts";
import { dirname, join } from "node:path";
import type { ProducerStateManager } from "./types.ts";

export interface RecoveryInput {
  context: SegmentContext;
  directory: string;
  config: TopicConfig;
  clock: Clock;
  logger: Logger;
  recoveryPoint: bigint;
  logStartOffset: bigint;
  producerState?: ProducerStateManager;
  /**
   * The node shut down cleanly (LogManager's marker file) and `recoveryPoint` is the exact log end
   * offset: the active segment is trusted like the sealed ones instead of being rescanned.
   */
  cleanShutdown?: boolean;
  /** Called for every batch rescanned, in offset order (the leader-epoch cache learns from it). */
  onBatch?: (header: BatchHeader) => void;
}

export interface RecoveryOutput {
  segments: Segment[];
  logStartOffset: bigint;
  recoveryPoint: bigint;
  /** Bytes cut from torn or corrupt tails (0 after a clean shutdown). */
  bytesCut: number;
}

/** Suffixes of files that only exist while an operation runs; the cleaner uses them too. */
export const temporarySuffixes = [".tmp", ".deleted", ".cleaned"] as const;
export const swapSuffix = ".swap";

function cleanLeftovers(input: RecoveryInput): string[] {
  const { fs } = input.context;
  const names = fs.readdir(input.directory);
  let changed = false;
  for (const name of names) {
    const path = join(input.directory, name);
    if (temporarySuffixes.some((suffix) => name.endsWith(suffix))) {
      input.logger.info("removing leftover file", { path });
      fs.unlink(path);
      changed = true;
    } else if (name.endsWith(swapSuffix)) {
      input.logger.info("completing an interrupted segment swap", { path });
      fs.rename(path, path.slice(0, -swapSuffix.length));
      changed = true;
    }
  }
  return changed ? fs.readdir(input.directory) : names;
}

function removeOrphanIndexes(input: RecoveryInput, names: string[], bases: Set<bigint>): void {
  for (const name of names) {
    const base = parseSegmentFileName(name, offsetIndexSuffix) ?? parseSegmentFileName(name, timeIndexSuffix);
    if (base !== null && !bases.has(base)) {
      input.logger.info("removing an index without its segment", { path: join(input.directory, name) });
      input.context.fs.unlink(join(input.directory, name));
    }
  }
}

export async function recoverSegments(input: RecoveryInput): Promise<RecoveryOutput> {
  const { fs } = input.context;
  fs.mkdir(input.directory);
  const names = cleanLeftovers(input);
  const bases = names
    .map((name) => parseSegmentFileName(name, logSuffix))
    .filter((base): base is bigint => base !== null)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  removeOrphanIndexes(input, names, new Set(bases));

  const now = input.clock.nowMs();
  if (bases.length === 0) {
    const segment = Segment.create(input.context, input.directory, input.logStartOffset, now);
    // The new segment's entry, and the partition directory's own entry in the data directory.
    await fs.fsyncDir(input.directory);
    await fs.fsyncDir(dirname(input.directory));
    return { segments: [segment], logStartOffset: input.logStartOffset, recoveryPoint: input.logStartOffset, bytesCut: 0 };
  }

  const segments = bases.map((base) => Segment.open(input.context, input.directory, base, now));
  const interval = input.config["index.interval.bytes"];
  // Scan from the segment holding the recovery point, and at least the last one.
  let scanFrom = segments.length - 1;
  while (scanFrom > 0 && segments[scanFrom]!.baseOffset > input.recoveryPoint) scanFrom--;

  let bytesCut = 0;
  let cutAt: number | null = null;
  const cutSegments: Segment[] = [];
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index]!;
    const next = segments[index + 1];
    const fileSize = fs.size(segment.fd);
    const trusted = index < scanFrom && next !== undefined;
    if (trusted) {
      segment.nextOffset = next.baseOffset;
      if (segment.loadIndexFiles()) continue;
      input.logger.warn("rebuilding missing or damaged indexes", { segment: segment.paths.log });
    }
    if (next === undefined && input.cleanShutdown && segment.loadAfterCleanShutdown(input.recoveryPoint)) continue;
    const onBatch = input.onBatch;
    const result = segment.rebuild(interval, fileSize, onBatch && ((batch) => onBatch(batch.header)));
    segment.sizeBytes = result.endPosition;
    // Verified, but perhaps only in the page cache (after kill -9): the next sync covers it.
    segment.dirty = true;
    const overlaps = next !== undefined && next.baseOffset < segment.nextOffset;
    if (result.stopReason !== null || fileSize > result.endPosition) {
      bytesCut += fileSize - result.endPosition;
      input.logger.warn("cutting a torn or corrupt segment tail", {
        segment: segment.paths.log,
        position: result.endPosition,
        bytesCut: fileSize - result.endPosition,
        fromOffset: String(segment.nextOffset),
        reason: result.stopReason ?? "bytes beyond the last batch",
      });
      fs.ftruncate(segment.fd, result.endPosition);
      segment.reservedBytes = result.endPosition;
      cutSegments.push(segment);
      // A sealed segment whose batches still reach the next segment's base offset lost only a
      // tail after its data (a reserved zero-filled tail whose trim was not yet synced): the later
      // segments follow on without a gap and stay. Otherwise records are missing: cut from here.
      const complete = next !== undefined && segment.nextOffset === next.baseOffset;
      if (result.stopReason !== null && !complete) {
        cutAt = index + 1;
        break;
      }
    }
    if (overlaps) {
      input.logger.warn("a segment starts inside the previous one; cutting from there", { segment: next.paths.log });
      cutAt = index + 1;
      break;
    }
    // A trusted (synced) segment covers the offsets up to the next one even when its last
    // records are gone (compaction); the scan only rebuilt its indexes.
    if (trusted && result.stopReason === null) segment.nextOffset = next.baseOffset;
    if (next !== undefined) {
      segment.seal();
      for (const fd of segment.writeIndexFiles()) {
        await fs.datasync(fd);
        fs.close(fd);
      }
    }
  }
  if (cutAt !== null) {
    for (const removed of segments.splice(cutAt)) {
      bytesCut += removed.sizeBytes;
      input.logger.warn("deleting a segment after a cut", { segment: removed.paths.log, bytes: fs.size(removed.fd), baseOffset: String(removed.baseOffset) });
      removed.delete();
    }
  }
  const holeRemoved = removeEmptyTailAfterHole(input, segments, scanFrom);
  for (const segment of cutSegments) if (segment.isOpen) await fs.datasync(segment.fd);
  if (cutAt !== null || bytesCut > 0 || holeRemoved) await fs.fsyncDir(input.directory);

  const last = segments[segments.length - 1]!;
  const logEndOffset = last.nextOffset;
  let logStartOffset = input.logStartOffset > segments[0]!.baseOffset ? input.logStartOffset : segments[0]!.baseOffset;
  if (logStartOffset > logEndOffset) logStartOffset = logEndOffset;
  const recoveryPoint = input.recoveryPoint < logEndOffset ? input.recoveryPoint : logEndOffset;
  if (input.producerState) replayProducerState(input, segments);
  return { segments, logStartOffset, recoveryPoint, bytesCut };
}

/**
 * After a power loss an unsynced segment may have lost its last batches while the empty segments
 * created by the rolls after it survived (file creation is journaled; their data was never
 * written). Offsets between them would then be a hole with nothing in it: drop every empty segment
 * at the end that follows such a hole — there can be several when several rolls happened since the
 * last sync — so that the log ends where its data ends. Nothing is lost: they hold no bytes.
 */
function removeEmptyTailAfterHole(input: RecoveryInput, segments: Segment[], scanFrom: number): boolean {
  let removed = false;
  for (;;) {
    const last = segments[segments.length - 1]!;
    const previous = segments[segments.length - 2];
    if (previous === undefined || segments.length - 2 < scanFrom) break;
    if (!last.isEmpty || previous.nextOffset >= last.baseOffset) break;
    input.logger.warn("removing an empty segment after a hole left by lost unsynced data", {
      segment: last.paths.log,
      holeFrom: String(previous.nextOffset),
      holeTo: String(last.baseOffset),
    });
    segments.pop();
    last.delete();
    removed = true;
  }
  assert(segments.length > 0, "recovery keeps at least one segment");
  return removed;
}

/** Producer state: the newest usable snapshot, then every batch header after it, oldest first. */
function replayProducerState(input: RecoveryInput, segments: Segment[]): void {
  const state = input.producerState!;
  const { fs, native } = input.context;
  const endOffset = segments[segments.length - 1]!.nextOffset;
  const from = loadNewestSnapshot(fs, input.directory, state, endOffset, input.logger) ?? -1n;
  for (const segment of segments) {
    if (segment.nextOffset <= from || segment.isEmpty) continue;
    const start = from > segment.baseOffset ? segment.offsetIndex.lookup(native, segment.relative(from)) : 0;
    scanBatches(fs, native, segment.fd, start, segment.sizeBytes, (batch) => {
      if (batch.header.baseOffset >= from) state.update(producerInfoOf(batch.header));
    }, false);
  }
}
