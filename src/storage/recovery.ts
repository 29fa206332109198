// Opening a partition directory after a clean shutdown or a crash.
//
//  1. Leftovers of interrupted operations: `*.tmp`, `*.deleted` and `*.cleaned` files are removed;
//     a `*.swap` file (a finished replacement written by the cleaner) is renamed over its target.
//     Index files whose .log is missing are removed; where that cannot be an interrupted deletion
//     (after a clean shutdown, or between two segments) the .log vanished: logged at ERROR.
//  2. Segments below the recovery point (all covered by an fdatasync before the checkpoint was
//     written) are trusted: their index files are loaded and spot-checked, and the file is
//     rescanned when they are missing or do not match it (never an error: a damaged header seen
//     by the spot check only means "rescan").
//  3. From the segment holding the recovery point — and always the last (active) segment, whose
//     index files are never up to date after a crash (unless the node shut down cleanly: then its
//     index files and the checkpoint are trusted, see `cleanShutdown`) — every batch is read and
//     its length, magic, CRC-32C and offset order checked while the indexes are rebuilt.
//  4. What a bad region becomes (damage.ts explains the two kinds):
//       - the unflushed tail of the log (at or above the recovery point, nothing valid after it, in
//         the last segment or shaped like a crash: zeros or a short batch) is cut, and, as Kafka
//         does, later segments after a hole in unflushed data are deleted. Logged at WARN.
//       - anything else — flushed data, or a bad region followed by valid batches — is kept: the
//         segment records it as damaged, reads of those offsets answer CORRUPT_MESSAGE, every other
//         batch stays readable, nothing else is deleted. Logged at ERROR with file and position. A
//         damaged last segment is sealed and a new one started past the damage.
//     Flushed data that vanished (a .log file deleted or shortened below the recovery point) is
//     logged at ERROR. After a clean shutdown the log then continues at the checkpointed end offset,
//     so that offsets are never given out twice.
//  5. The idempotent-producer state is rebuilt by feeding every readable batch header to
//     ProducerStateManager.update, oldest first, from its newest usable snapshot. The `.txnindex`
//     files are checked and rebuilt on the way (transaction-index-recovery.ts).
//
// Anything else that goes wrong (a file that cannot be opened, overlapping segments below the
// recovery point) throws: the LogManager then takes this one partition offline (KAFKA_STORAGE_ERROR)
// and the node starts with every other partition.

import type { TopicConfig } from "../config/index.ts";
import type { Clock } from "../util/clock.ts";
import { assert } from "../util/assert.ts";
import type { Logger } from "../util/logger.ts";
import { batchHeaderBytes, readBatchHeader, type RecordBatchHeader } from "../protocol/record-batch.ts";
import { loadNewestSnapshot } from "./producer-snapshots.ts";
import { producerInfoOf } from "./producer-state.ts";
import { forEachReadableBatch, TransactionIndexRecovery } from "./transaction-index-recovery.ts";
import { transactionIndexSuffix } from "./transaction-index.ts";
import {
  logSuffix,
  offsetIndexSuffix,
  parseSegmentFileName,
  Segment,
  segmentFileStem,
  timeIndexSuffix,
  type ScanProblem,
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
  onBatch?: (header: RecordBatchHeader) => void;
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

/**
 * Index files whose .log is gone. An interrupted deletion leaves them at either end of the log
 * (retention deletes from the front, truncation from the back, each .log before its indexes); one
 * between two segments, or any after a clean shutdown, means the .log vanished: that is reported at
 * ERROR. Either way the orphans are removed.
 */
function removeOrphanIndexes(input: RecoveryInput, names: string[], bases: bigint[]): void {
  const present = new Set(bases);
  const orphans = new Map<bigint, string[]>();
  for (const name of names) {
    const base = parseSegmentFileName(name, offsetIndexSuffix) ?? parseSegmentFileName(name, timeIndexSuffix) ?? parseSegmentFileName(name, transactionIndexSuffix);
    if (base === null || present.has(base)) continue;
    orphans.set(base, [...(orphans.get(base) ?? []), name]);
  }
  for (const [base, files] of orphans) {
    const between = bases.length > 0 && base > bases[0]! && base < bases[bases.length - 1]!;
    if (input.cleanShutdown || between) {
      input.logger.error("a segment file vanished: its index files remain but its .log is missing; its records are lost", {
        segment: join(input.directory, `${segmentFileStem(base)}${logSuffix}`),
        baseOffset: String(base),
      });
    } else {
      input.logger.info("removing index files without their segment (an interrupted deletion)", { baseOffset: String(base) });
    }
    for (const name of files) input.context.fs.unlink(join(input.directory, name));
  }
}

/** What one recovery pass did, beyond the segments it returns. */
interface Pass {
  bytesCut: number;
  cutSegments: Segment[];
  directoryChanged: boolean;
}

export async function recoverSegments(input: RecoveryInput): Promise<RecoveryOutput> {
  const { fs } = input.context;
  fs.mkdir(input.directory);
  const names = cleanLeftovers(input);
  const bases = names
    .map((name) => parseSegmentFileName(name, logSuffix))
    .filter((base): base is bigint => base !== null)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  removeOrphanIndexes(input, names, bases);

  const now = input.clock.nowMs();
  if (bases.length === 0) return recoverEmptyDirectory(input, now);

  const segments: Segment[] = [];
  try {
    for (const base of bases) segments.push(Segment.open(input.context, input.directory, base, now));
    return await recoverOpened(input, segments, now);
  } catch (error) {
    // The partition goes offline (LogManager): leave no descriptor or mapping behind.
    for (const segment of segments) segment.close();
    throw error;
  }
}

async function recoverOpened(input: RecoveryInput, segments: Segment[], now: number): Promise<RecoveryOutput> {
  const { fs } = input.context;
  // Scan from the segment holding the recovery point, and at least the last one.
  let scanFrom = segments.length - 1;
  while (scanFrom > 0 && segments[scanFrom]!.baseOffset > input.recoveryPoint) scanFrom--;

  const pass: Pass = { bytesCut: 0, cutSegments: [], directoryChanged: false };
  let cutAt: number | null = null;
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index]!;
    const next = segments[index + 1];
    const trusted = index < scanFrom && next !== undefined;
    if (trusted) {
      segment.nextOffset = next.baseOffset;
      if (segment.loadIndexFiles(input.config["index.interval.bytes"])) continue;
      input.logger.warn("rebuilding missing or damaged indexes", { segment: segment.paths.log });
    }
    if (next === undefined && input.cleanShutdown && segment.loadAfterCleanShutdown(input.recoveryPoint, input.config["index.interval.bytes"])) continue;
    if (recoverSegment(input, segment, next, trusted, pass)) {
      cutAt = index + 1;
      break;
    }
    if (next !== undefined) await sealRecovered(input, segment);
  }
  if (cutAt !== null) {
    for (const removed of segments.splice(cutAt)) {
      assert(removed.baseOffset >= input.recoveryPoint, "only unflushed segments are deleted");
      pass.bytesCut += removed.sizeBytes;
      input.logger.warn("deleting a segment after a cut", { segment: removed.paths.log, bytes: fs.size(removed.fd), baseOffset: String(removed.baseOffset) });
      removed.delete();
    }
    pass.directoryChanged = true;
  }
  if (removeEmptyTailAfterHole(input, segments, scanFrom)) pass.directoryChanged = true;
  await continuePastDamage(input, segments, pass, now);
  for (const segment of pass.cutSegments) if (segment.isOpen) await fs.datasync(segment.fd);
  if (pass.directoryChanged || pass.bytesCut > 0) await fs.fsyncDir(input.directory);

  const last = segments[segments.length - 1]!;
  const logEndOffset = last.nextOffset;
  const firstBase = segments[0]!.baseOffset;
  if (input.cleanShutdown && firstBase > input.logStartOffset) {
    input.logger.error("the first segment files vanished: offsets below the first remaining segment are lost", {
      logStartOffset: String(input.logStartOffset),
      firstSegmentBaseOffset: String(firstBase),
    });
  }
  let logStartOffset = input.logStartOffset > firstBase ? input.logStartOffset : firstBase;
  if (logStartOffset > logEndOffset) logStartOffset = logEndOffset;
  const recoveryPoint = input.recoveryPoint < logEndOffset ? input.recoveryPoint : logEndOffset;
  const indexFds = input.producerState ? replayProducerState(input, segments) : loadTransactionIndexes(input, segments);
  for (const fd of indexFds) {
    await fs.datasync(fd);
    fs.close(fd);
  }
  return { segments, logStartOffset, recoveryPoint, bytesCut: pass.bytesCut };
}

/** No segment file at all: a new log, or every file vanished (reported when data was flushed). */
async function recoverEmptyDirectory(input: RecoveryInput, now: number): Promise<RecoveryOutput> {
  const { fs } = input.context;
  let start = input.logStartOffset;
  if (input.recoveryPoint > start) {
    input.logger.error("every segment file of the partition vanished; its records are lost", {
      directory: input.directory,
      lostOffsets: `${input.logStartOffset}..${input.recoveryPoint - 1n}`,
    });
    // Continue where the log ended: offsets are never given out twice.
    start = input.recoveryPoint;
  }
  const segment = Segment.create(input.context, input.directory, start, now);
  // The new segment's entry, and the partition directory's own entry in the data directory.
  await fs.fsyncDir(input.directory);
  await fs.fsyncDir(dirname(input.directory));
  return { segments: [segment], logStartOffset: start, recoveryPoint: start, bytesCut: 0 };
}

/** A sealed segment after recovery checked it: final time index entry, index files written. */
async function sealRecovered(input: RecoveryInput, segment: Segment): Promise<void> {
  const { fs } = input.context;
  segment.seal();
  for (const fd of segment.writeIndexFiles()) {
    await fs.datasync(fd);
    fs.close(fd);
  }
}

/**
 * Scan one segment and decide about each bad region (see the file header). Returns true when the
 * segments after it must be deleted (a hole in unflushed data, as Kafka's recovery does).
 */
function recoverSegment(input: RecoveryInput, segment: Segment, next: Segment | undefined, trusted: boolean, pass: Pass): boolean {
  const { fs } = input.context;
  const fileSize = fs.size(segment.fd);
  const offsetEnd = next?.baseOffset ?? segment.baseOffset + 0x80000000n;
  const problems = segment.recoveryScan(input.config["index.interval.bytes"], fileSize, offsetEnd, input.onBatch);
  segment.sizeBytes = fileSize;
  // Verified, but perhaps only in the page cache (after kill -9): the next sync covers it.
  segment.dirty = true;
  const validEnd = segment.nextOffset;
  for (const problem of problems) {
    const tail = problem.resumeOffset === null;
    const unflushed = problem.expectedOffset >= input.recoveryPoint;
    const crashShaped = next === undefined || problem.shape !== "corrupt";
    const complete = next !== undefined && segment.nextOffset === next.baseOffset;
    if (tail && ((unflushed && crashShaped) || complete)) {
      if (complete && problem.shape !== "zeros" && !unflushed) {
        // The batches reach the next segment: no offset is missing, the bytes after them cannot
        // hold a record. Cut, but say it: something wrote into a flushed file.
        input.logger.error("bytes after the last batch of a complete sealed segment (nothing is lost); cutting them", {
          segment: segment.paths.log, position: problem.position, bytes: fileSize - problem.position, reason: problem.reason,
        });
      }
      cutTail(input, segment, problem.position, fileSize, problem.reason, pass);
      // A sealed segment whose batches reach the next segment's base offset lost only a tail after
      // its data (a reserved zero-filled tail whose trim was not yet synced): the later segments
      // follow on without a gap and stay. Otherwise unflushed records are missing: cut from here.
      if (next !== undefined && !complete) return true;
      break;
    }
    keepDamage(input, segment, next, problem);
  }
  if (next !== undefined && next.baseOffset < segment.nextOffset) {
    if (next.baseOffset < input.recoveryPoint) {
      throw new Error(`segment ${next.paths.log} starts at ${next.baseOffset}, inside ${segment.paths.log} (which reaches ${segment.nextOffset}), below the recovery point ${input.recoveryPoint}`);
    }
    input.logger.warn("a segment starts inside the previous one; cutting from there", { segment: next.paths.log });
    return true;
  }
  // Every batch kept was CRC-checked by the scan (damaged ranges are never read).
  segment.crcVerifiedTo = segment.sizeBytes;
  // A trusted (synced) or damaged segment covers the offsets up to the next one even when its last
  // records are gone (compaction) or unreadable; the scan only rebuilt its indexes.
  if (next !== undefined && (trusted || segment.isDamaged) && segment.sizeBytes === fileSize && validEnd <= next.baseOffset) {
    segment.nextOffset = next.baseOffset;
  }
  return false;
}

function cutTail(input: RecoveryInput, segment: Segment, position: number, fileSize: number, reason: string, pass: Pass): void {
  input.logger.warn("cutting a torn or corrupt segment tail", {
    segment: segment.paths.log,
    position,
    bytesCut: fileSize - position,
    fromOffset: String(segment.nextOffset),
    reason,
  });
  input.context.fs.ftruncate(segment.fd, position);
  segment.sizeBytes = position;
  segment.reservedBytes = position;
  pass.bytesCut += fileSize - position;
  pass.cutSegments.push(segment);
}

/** Record a bad region that is not cut, and say so at ERROR (file, byte position, offsets). */
function keepDamage(input: RecoveryInput, segment: Segment, next: Segment | undefined, problem: ScanProblem): void {
  const toOffset = problem.resumeOffset ?? (next !== undefined ? next.baseOffset : lastSegmentDamageEnd(input, segment, problem));
  segment.damage.push({
    position: problem.position,
    endPosition: problem.endPosition,
    fromOffset: problem.expectedOffset,
    toOffset,
    reason: problem.reason,
  });
  if (problem.resumeOffset === null) segment.nextOffset = toOffset;
  input.logger.error("damaged data in a segment file; kept, and reads of it answer CORRUPT_MESSAGE", {
    segment: segment.paths.log,
    position: problem.position,
    bytes: problem.endPosition - problem.position,
    offsets: toOffset > problem.expectedOffset ? `${problem.expectedOffset}..${toOffset - 1n}` : "none known",
    reason: problem.reason,
    readableAgainFrom: problem.resumeOffset === null ? "the next segment" : String(problem.resumeOffset),
  });
}

/**
 * Where a damaged tail of the last segment ends, in offsets: at least the recovery point (those
 * offsets were flushed, so they existed) and what the damaged batch's own header claims when it
 * starts at the expected offset (a payload bit flip leaves the header intact).
 */
function lastSegmentDamageEnd(input: RecoveryInput, segment: Segment, problem: ScanProblem): bigint {
  let end = problem.expectedOffset > input.recoveryPoint ? problem.expectedOffset : input.recoveryPoint;
  if (problem.position + batchHeaderBytes <= problem.endPosition) {
    const bytes = new Uint8Array(batchHeaderBytes);
    if (input.context.fs.pread(segment.fd, bytes, problem.position) === batchHeaderBytes) {
      const header = readBatchHeader(bytes, 0);
      const claimed = header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
      if (header.baseOffset === problem.expectedOffset && header.lastOffsetDelta >= 0 && claimed > end) end = claimed;
    }
  }
  return end;
}

/**
 * The log must go on past anything that may have been given out: a last segment whose tail is kept
 * as damaged is sealed and a new segment starts after the damage; a log that ends below its
 * recovery point lost flushed data (a truncation persists the lowered recovery point before it cuts
 * a file, so nothing else explains it), which is reported, and continues at that offset.
 */
async function continuePastDamage(input: RecoveryInput, segments: Segment[], pass: Pass, now: number): Promise<void> {
  const last = segments[segments.length - 1]!;
  const tailDamaged = last.damage.some((range) => range.endPosition === last.sizeBytes);
  let start = last.nextOffset;
  if (!tailDamaged && last.nextOffset < input.recoveryPoint && last.baseOffset < input.recoveryPoint) {
    input.logger.error("flushed records vanished from the end of the log (a file was shortened or removed); the log continues at its recovery point so that no offset is given out twice", {
      lastSegment: last.paths.log,
      missingFrom: join(input.directory, `${segmentFileStem(last.nextOffset)}${logSuffix}`),
      lostOffsets: `${last.nextOffset}..${input.recoveryPoint - 1n}`,
    });
    start = input.recoveryPoint;
  } else if (!tailDamaged) {
    return;
  }
  if (start <= last.baseOffset) {
    // A last segment with nothing readable and no offset known: give its damage one offset.
    start = last.baseOffset + 1n;
    if (tailDamaged) last.damage[last.damage.length - 1]!.toOffset = start;
  }
  last.nextOffset = start;
  await sealRecovered(input, last);
  const fresh = Segment.create(input.context, input.directory, start, now);
  fresh.mapLengthHint = 0;
  segments.push(fresh);
  pass.directoryChanged = true;
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
    if (previous === undefined || segments.length - 2 < scanFrom || last.baseOffset < input.recoveryPoint) break;
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

/**
 * Producer state: the newest usable snapshot, then every batch header after it, oldest first. The
 * `.txnindex` files are checked and rebuilt on the way (transaction-index-recovery.ts); returns the
 * descriptors of the index files written, to sync.
 */
function replayProducerState(input: RecoveryInput, segments: Segment[]): number[] {
  const state = input.producerState!;
  const { fs, native } = input.context;
  const endOffset = segments[segments.length - 1]!.nextOffset;
  const from = loadNewestSnapshot(fs, input.directory, state, endOffset, input.logger, input.cleanShutdown === true && endOffset === input.recoveryPoint) ?? -1n;
  const indexes = new TransactionIndexRecovery(input.context, segments, from, input.logger);
  for (const segment of segments) {
    if (segment.nextOffset <= from || segment.isEmpty) continue;
    const start = from > segment.baseOffset ? segment.offsetIndex.lookup(native, segment.relative(from)) : 0;
    forEachReadableBatch(input.context, segment, start, (batch) => {
      if (batch.header.baseOffset < from) return;
      const aborted = state.update(producerInfoOf(batch.header, batch.bytes));
      if (aborted) indexes.add(segment, aborted);
    });
  }
  return indexes.finish();
}

/** No producer state (no transactions tracked): the index files are only checked. */
function loadTransactionIndexes(input: RecoveryInput, segments: Segment[]): number[] {
  return new TransactionIndexRecovery(input.context, segments, segments[segments.length - 1]!.nextOffset, input.logger).finish();
}
