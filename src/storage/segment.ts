// One segment of a partition log: `<base>.log` plus its sparse indexes `<base>.index` and
// `<base>.timeindex`, named by the 20-digit base offset (Kafka's layout).
//
// Write path — pwrite, and map only for reading (Kafka's model):
//   Batches are written with pwrite at the end of the .log file. Why not write through a writable
//   mapping: a write through a mapping has no way to report a full disk except SIGBUS, while
//   pwrite returns ENOSPC (answered as KAFKA_STORAGE_ERROR, the partial tail is cut back); writes
//   of a produce request are small (KiBs to a few MiBs) and go to the page cache, so one pwrite per
//   append costs about what a memcpy into a mapping does plus one syscall; and the fault-injecting
//   test file layer sees every byte that reaches the file.
//   Reads map the file read-only (when the native helper can map) and hand out zero-copy views.
//   A mapping may not extend past the end of the file, so with mappings the active segment's file
//   is grown ahead of the writes by reserving space with fallocate (`StorageFs.allocate`) in
//   steps doubling from 64 KiB up to `reservationChunkBytes` (16 MiB), bounded by segment.bytes
//   (so idle partitions reserve little disk): the mapping then covers the
//   reserved size and is redone only when the reservation grows, and a full disk surfaces as ENOSPC
//   from the reservation, before anything is written. The zero-filled reserved tail is beyond the
//   logical size: it is cut when the segment is sealed or closed, and recovery cuts it after a crash.
//   Without mappings (fallback) nothing is reserved and reads pread into fresh buffers.
//
// Segment files are never ftruncate'd below bytes that a live mapping reference may still be
// reading (that would be a SIGBUS in the reader): truncation of such a segment zero-fills the cut
// range instead and the file is shortened later (close, or recovery cuts the zero tail).

import { join } from "node:path";
import type { NativeApi } from "../native/types.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { assert } from "../util/assert.ts";
import {
  batchHeaderBytes,
  batchSizeAt,
  checkStoredBatch,
  lastOffsetOf,
  logOverheadBytes,
  readBatchHeader,
  type RecordBatchHeader,
} from "../protocol/record-batch.ts";
import { damageAt, damageStartingAt, findResyncPosition, readerFor, shapeOfProblem, type DamagedRange, type ProblemShape } from "./damage.ts";
import type { DescriptorCache, DescriptorOwner } from "./descriptors.ts";
import type { StorageFs } from "./fs.ts";
import { MappingCache, SegmentMapping, type MappingOwner } from "./mapping.ts";
import { OffsetIndex, TimeIndex } from "./segment-index.ts";

/** Most bytes reserved (fallocate) ahead of the writes of the active segment at a time. */
export const reservationChunkBytes = 16 * 1024 * 1024;
/** First reservation of a segment; later ones double the reserved size up to the chunk size. */
export const reservationMinBytes = 64 * 1024;

export const logSuffix = ".log";
export const offsetIndexSuffix = ".index";
export const timeIndexSuffix = ".timeindex";

/** 20-digit zero-padded base offset, Kafka's segment file name. */
export function segmentFileStem(baseOffset: bigint): string {
  assert(baseOffset >= 0n, "segment base offset must be >= 0");
  return baseOffset.toString().padStart(20, "0");
}

export function segmentPaths(directory: string, baseOffset: bigint): { log: string; offsetIndex: string; timeIndex: string } {
  const stem = join(directory, segmentFileStem(baseOffset));
  return { log: stem + logSuffix, offsetIndex: stem + offsetIndexSuffix, timeIndex: stem + timeIndexSuffix };
}

/** Parse "00000000000000000042.log" → 42n, or null if the name is not a segment file of `suffix`. */
export function parseSegmentFileName(name: string, suffix: string): bigint | null {
  if (!name.endsWith(suffix)) return null;
  const stem = name.slice(0, -suffix.length);
  if (!/^\d{20}$/.test(stem)) return null;
  return BigInt(stem);
}

/**
 * CORRUPT_MESSAGE for a read of damaged data, with the offset from which reading can go on (what a
 * replay of the log, e.g. the group coordinator's, skips to; a consumer must seek there itself).
 */
export class DamagedDataError extends KafkaError {
  constructor(message: string, readonly readableFrom: bigint) {
    super(ErrorCode.CORRUPT_MESSAGE, message);
  }
}

/** KAFKA_STORAGE_ERROR with the system error's code (ENOSPC, EMFILE, EIO…) kept for reporting. */
export class StorageError extends KafkaError {
  constructor(readonly systemCode: string | null, message: string) {
    super(ErrorCode.KAFKA_STORAGE_ERROR, message);
  }
}

export function storageError(what: string, error: unknown): StorageError {
  const code = (error as { code?: string }).code ?? null;
  const message = error instanceof Error ? error.message : String(error);
  return new StorageError(code, `${what}: ${code ?? message}${code ? ` (${message})` : ""}`);
}

// ---------------------------------------------------------------------------------------------
// Scanning the batches of a file (recovery, index rebuild, the cleaner)
// ---------------------------------------------------------------------------------------------

export interface ScannedBatch {
  /** Byte position of the batch in the file. */
  position: number;
  header: RecordBatchHeader;
  /** The whole batch; a view valid only during the visit callback. */
  bytes: Uint8Array;
}

export interface ScanResult {
  /** Position after the last accepted batch. */
  endPosition: number;
  batches: number;
  /** Why scanning stopped before `end`, or null when every batch up to `end` was accepted. */
  stopReason: string | null;
}

const scanChunkBytes = 4 * 1024 * 1024;

/**
 * Visit the batches of `fd` between byte `start` and `end`, reading in chunks with pread. Each
 * batch is checked (length, magic and, with `verifyCrc`, CRC-32C) before `visit` sees it; `visit`
 * may return a reason string to stop there (e.g. an offset going backwards).
 */
export function scanBatches(
  fs: StorageFs,
  native: NativeApi,
  fd: number,
  start: number,
  end: number,
  visit: (batch: ScannedBatch) => string | void,
  verifyCrc = true,
  mapped?: Uint8Array,
): ScanResult {
  // With a mapping of the file (`mapped`, from byte 0) batches are checked in place, no copy.
  let buffer = mapped ?? new Uint8Array(Math.min(scanChunkBytes, Math.max(end - start, batchHeaderBytes)));
  let bufferStart = mapped ? 0 : start;
  let bufferLength = mapped ? Math.min(mapped.length, end) : 0;
  let position = start;
  let batches = 0;
  const fill = (need: number) => {
    if (position + need <= bufferStart + bufferLength || mapped) return;
    if (need > buffer.length) buffer = new Uint8Array(need);
    bufferStart = position;
    bufferLength = fs.pread(fd, buffer.subarray(0, Math.min(buffer.length, end - position)), position);
  };
  while (position < end) {
    const available = end - position;
    fill(Math.min(available, batchHeaderBytes));
    if (bufferStart + bufferLength - position < Math.min(available, batchHeaderBytes)) {
      return { endPosition: position, batches, stopReason: "short read" };
    }
    if (available < batchHeaderBytes) {
      return { endPosition: position, batches, stopReason: `${available} bytes left, less than a batch header` };
    }
    const size = batchSizeAt(buffer, position - bufferStart);
    if (size < batchHeaderBytes || size > available) {
      return { endPosition: position, batches, stopReason: `batch length ${size - logOverheadBytes} does not fit the ${available} bytes left` };
    }
    fill(size);
    const at = position - bufferStart;
    const reason = verifyCrc ? checkStoredBatch(native, buffer, at, available) : null;
    if (reason !== null) return { endPosition: position, batches, stopReason: reason };
    const header = readBatchHeader(buffer, at);
    const stop = visit({ position, header, bytes: buffer.subarray(at, at + size) });
    if (typeof stop === "string") return { endPosition: position, batches, stopReason: stop };
    position += size;
    batches += 1;
  }
  return { endPosition: position, batches, stopReason: null };
}

// ---------------------------------------------------------------------------------------------
// Segment
// ---------------------------------------------------------------------------------------------

export interface SegmentContext {
  fs: StorageFs;
  native: NativeApi;
  mappings: MappingCache;
  /** The node's LRU of open segment files (descriptors.ts). */
  descriptors: DescriptorCache;
  /** Called when the LRU wants a descriptor that unsynced writes hold: the log syncs soon. */
  onDescriptorPressure?: () => void;
  /** The log's index.interval.bytes (for an index rebuilt on the read path). Default 4096. */
  indexIntervalBytes?: () => number;
  /** A read found a batch whose CRC does not match and recorded it as damaged (the log reports it). */
  onDamageFound?: (segment: Segment, range: DamagedRange) => void;
  /** An index did not match its segment on the read path and was rebuilt (the log reports it). */
  onIndexRepaired?: (segment: Segment, why: string) => void;
}

/** A walk that started at an index entry found no batch matching it there: suspect the index. */
class IndexMismatch extends Error {}

/** A bad region found by Segment.recoveryScan. */
export interface ScanProblem {
  /** The bad bytes are [position, endPosition). */
  position: number;
  /** The next valid batch's position, or the file size when none follows (a bad tail). */
  endPosition: number;
  /** Base offset of the batch at endPosition; null for a bad tail. */
  resumeOffset: bigint | null;
  /** The first offset the bad bytes would have held: one past the last valid batch before them. */
  expectedOffset: bigint;
  shape: ProblemShape;
  reason: string;
}

/** A byte range of the segment's .log for a reader: a view, and how to let go of it. */
export interface SegmentBytes {
  bytes: Uint8Array;
  release(): void;
}

const noRelease = () => {};

export class Segment implements MappingOwner, DescriptorOwner {
  readonly paths: { log: string; offsetIndex: string; timeIndex: string };
  /** Offset after the last batch of this segment. */
  nextOffset: bigint;
  /** Logical size of the .log: bytes of whole batches. The file may be longer (zero-filled cut). */
  sizeBytes: number;
  maxTimestamp = -1n;
  offsetOfMaxTimestamp = -1n;
  bytesSinceIndexEntry = 0;
  /** Clock time when the segment was created or first written after open (segment.ms). */
  rollBaseMs: number;
  /** Unsynced writes or truncations since the last datasync. */
  dirty = false;
  /** Whether the on-disk index files match the in-memory indexes. */
  indexesOnDisk = false;
  offsetIndex: OffsetIndex;
  timeIndex: TimeIndex;
  private mapping: SegmentMapping | null = null;
  /** segment.bytes while this is the active segment (bounds reservations), 0 once sealed. */
  mapLengthHint = 0;
  /** Physical size of the .log file: the logical size plus any reserved or cut tail. */
  reservedBytes: number;
  /**
   * Byte ranges of the .log found damaged by recovery and kept (see damage.ts), in file order;
   * reads of their offsets answer CORRUPT_MESSAGE. Empty for almost every segment.
   */
  damage: DamagedRange[] = [];
  /** The open descriptor, or null while the descriptor LRU has it closed (reopened on use). */
  private fdValue: number | null;
  /** Closed for good (log closed, segment deleted or replaced): the descriptor is never reopened. */
  private closed = false;
  private deleted = false;
  /** fdatasyncs in flight on the descriptor: it must not be closed under them. */
  private syncsInFlight = 0;
  /** Background trims (thread pool) in flight on the descriptor: close waits for them. */
  private fileWorkInFlight = 0;
  /** close() came while file work was in flight: the descriptor is closed when it ends. */
  private closeWhenIdle = false;
  /** The indexes were rebuilt on the read path (done at most once per segment per process). */
  private indexesRepaired = false;
  /**
   * Bytes [0, crcVerifiedTo) were CRC-checked in this process (recovery's scan, appends, or a first
   * read). Segments trusted at open start at 0: their batches are checked on first read.
   */
  crcVerifiedTo = 0;

  constructor(
    private readonly context: SegmentContext,
    directory: string,
    readonly baseOffset: bigint,
    fd: number,
    sizeBytes: number,
    nowMs: number,
  ) {
    this.paths = segmentPaths(directory, baseOffset);
    this.fdValue = fd;
    this.sizeBytes = sizeBytes;
    this.reservedBytes = sizeBytes;
    this.nextOffset = baseOffset;
    this.rollBaseMs = nowMs;
    this.offsetIndex = new OffsetIndex();
    this.timeIndex = new TimeIndex();
    context.descriptors.touch(this);
  }

  /** Create a new empty segment file (an existing file of that name is emptied). */
  static create(context: SegmentContext, directory: string, baseOffset: bigint, nowMs: number): Segment {
    const paths = segmentPaths(directory, baseOffset);
    const fd = context.fs.open(paths.log, "create");
    try {
      if (context.fs.size(fd) !== 0) context.fs.ftruncate(fd, 0);
    } catch (error) {
      context.fs.close(fd);
      throw error;
    }
    const segment = new Segment(context, directory, baseOffset, fd, 0, nowMs);
    segment.dirty = true;
    return segment;
  }

  /** Open an existing segment file; offsets, indexes and size are filled in by recovery. */
  static open(context: SegmentContext, directory: string, baseOffset: bigint, nowMs: number): Segment {
    const paths = segmentPaths(directory, baseOffset);
    const fd = context.fs.open(paths.log, "write");
    const size = context.fs.size(fd);
    return new Segment(context, directory, baseOffset, fd, size, nowMs);
  }

  /**
   * The .log's descriptor, reopened when the descriptor LRU closed it. Throws KafkaError
   * KAFKA_STORAGE_ERROR when the file cannot be reopened (EMFILE after one attempt to make room,
   * ENOENT when it vanished, …): the request that needed it fails, nothing else.
   */
  get fd(): number {
    assert(!this.closed, () => `segment ${this.paths.log} is closed`);
    if (this.fdValue === null) this.fdValue = this.reopen();
    this.context.descriptors.touch(this);
    return this.fdValue;
  }

  private reopen(): number {
    const { fs, descriptors } = this.context;
    try {
      return fs.open(this.paths.log, "write");
    } catch (error) {
      // Out of descriptors: close idle segment files and try once more.
      if ((error as { code?: string }).code !== "EMFILE" || descriptors.evict(Math.max(8, descriptors.openCount >> 3), this) === 0) {
        throw storageError(`reopening ${this.paths.log}`, error);
      }
      try {
        return fs.open(this.paths.log, "write");
      } catch (again) {
        throw storageError(`reopening ${this.paths.log}`, again);
      }
    }
  }

  /** DescriptorOwner: close the descriptor unless unsynced writes or a sync in flight need it. */
  closeIdleDescriptor(): boolean {
    if (this.fdValue === null) return true;
    if (this.dirty || this.syncsInFlight > 0 || this.fileWorkInFlight > 0) return false;
    const fd = this.fdValue;
    this.fdValue = null;
    this.context.fs.close(fd);
    return true;
  }

  /** DescriptorOwner: unsynced writes keep the descriptor open; ask the log for a sync. */
  descriptorWanted(): void {
    if (this.dirty && this.syncsInFlight === 0) this.context.onDescriptorPressure?.();
  }

  /** A sync of this segment starts: its descriptor (returned) stays open until syncFinished(). */
  syncStarted(): number {
    assert(!this.dirty || this.fdValue !== null, "a dirty segment's descriptor is open");
    const fd = this.fd;
    this.syncsInFlight += 1;
    return fd;
  }

  syncFinished(): void {
    assert(this.syncsInFlight > 0, "syncFinished without syncStarted");
    this.syncsInFlight -= 1;
  }

  /** Whether the descriptor is open right now (tests of the descriptor LRU). */
  get hasOpenDescriptor(): boolean {
    return this.fdValue !== null;
  }

  get isEmpty(): boolean {
    return this.sizeBytes === 0;
  }

  /** Not yet closed for good (closing the descriptor in the LRU does not count). */
  get isOpen(): boolean {
    return !this.closed;
  }

  get isDamaged(): boolean {
    return this.damage.length > 0;
  }

  relative(offset: bigint): number {
    const relative = Number(offset - this.baseOffset);
    if (!(relative >= 0 && relative <= 0x7fffffff)) assert(false, `offset ${offset} is not relative to segment ${this.baseOffset}`);
    return relative;
  }

  // ----- writing ---------------------------------------------------------------------------

  /**
   * Write validated, stamped batches at the end of the .log and index them. On failure the file is
   * cut back to its previous size and a KafkaError(KAFKA_STORAGE_ERROR) is thrown: nothing changed.
   */
  append(bytes: Uint8Array, headers: readonly RecordBatchHeader[], indexIntervalBytes: number): void {
    const fs = this.context.fs;
    const start = this.sizeBytes;
    // The log awaits its background work (GroupCommit) before it truncates a sealed segment and
    // makes it active again; a trim still running could cut these bytes.
    assert(this.fileWorkInFlight === 0, () => `append to ${this.paths.log} while its trim runs`);
    if (this.context.native.canMap) this.reserve(start + bytes.length);
    try {
      fs.pwrite(this.fd, bytes, start);
    } catch (error) {
      try {
        fs.ftruncate(this.fd, Math.max(start, this.reservedBytes));
      } catch {
        // The partial tail stays beyond the logical size; the next write overwrites it and
        // recovery cuts it. Nothing to do here.
      }
      throw storageError(`write to ${this.paths.log}`, error);
    }
    let position = start;
    for (const header of headers) {
      this.indexBatch(header, position, indexIntervalBytes);
      position += header.sizeBytes;
    }
    assert(position === start + bytes.length, "batch sizes must add up to the written bytes");
    // Validated (CRC included) before they were written.
    if (this.crcVerifiedTo === start) this.crcVerifiedTo = position;
    this.sizeBytes = position;
    if (position > this.reservedBytes) this.reservedBytes = position;
    this.dirty = true;
    this.indexesOnDisk = false;
  }

  /**
   * Make the file at least `end` bytes long with reserved blocks (see the header). Near the end of
   * the disk a step that does not fit is retried smaller, down to exactly what this write needs, so
   * that writes go on while space remains (a full 16 MiB step used to refuse them with MiBs free).
   */
  private reserve(end: number): void {
    if (end <= this.reservedBytes) return;
    // Grow geometrically from reservationMinBytes to reservationChunkBytes steps, so that 10,000
    // mostly idle partitions hold KiBs of reserved disk each, not a full chunk.
    const growth = Math.min(reservationChunkBytes, Math.max(reservationMinBytes, this.reservedBytes));
    const bound = Math.max(end, this.mapLengthHint);
    let target = Math.max(end, Math.min(this.reservedBytes + growth, bound));
    for (;;) {
      try {
        this.context.fs.allocate(this.fd, this.reservedBytes, target - this.reservedBytes);
        break;
      } catch (error) {
        const full = (error as { code?: string }).code === "ENOSPC";
        if (!full || target === end) throw storageError(`reserving ${target - this.reservedBytes} bytes for ${this.paths.log}`, error);
        target = Math.max(end, this.reservedBytes + Math.floor((target - this.reservedBytes) / 4));
      }
    }
    this.reservedBytes = target;
  }

  /** Update offsets, timestamps and the sparse indexes for a batch at `position` (append and rebuild). */
  indexBatch(header: RecordBatchHeader, position: number, indexIntervalBytes: number): void {
    assert(header.baseOffset >= this.nextOffset, "batches must be indexed in offset order");
    if (header.maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = header.maxTimestamp;
      this.offsetOfMaxTimestamp = header.baseOffset;
    }
    if (this.bytesSinceIndexEntry > indexIntervalBytes) {
      this.offsetIndex.append(this.relative(header.baseOffset), position);
      if (this.offsetOfMaxTimestamp >= 0n) this.timeIndex.maybeAppend(this.maxTimestamp, this.relative(this.offsetOfMaxTimestamp));
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += header.sizeBytes;
    this.nextOffset = lastOffsetOf(header) + 1n;
  }

  /** Called when the segment stops being the active one: final time index entry (Kafka does too). */
  seal(): void {
    if (this.offsetOfMaxTimestamp >= 0n) this.timeIndex.maybeAppend(this.maxTimestamp, this.relative(this.offsetOfMaxTimestamp));
  }

  /** Write both index files (whole) with pwrite; their datasync is part of the next log sync. */
  writeIndexFiles(): number[] {
    const fs = this.context.fs;
    const fds: number[] = [];
    if (this.damage.length > 0) {
      // A damaged segment keeps no index files: the next start rescans it and reports it again.
      this.removeIndexFiles();
      this.indexesOnDisk = true;
      return fds;
    }
    for (const [path, contents] of [
      [this.paths.offsetIndex, this.offsetIndex.contents()],
      [this.paths.timeIndex, this.timeIndex.contents()],
    ] as const) {
      let fd: number;
      try {
        fd = fs.open(path, "create");
      } catch (error) {
        for (const other of fds) fs.close(other);
        throw storageError(`creating ${path}`, error);
      }
      try {
        if (contents.length > 0) fs.pwrite(fd, contents, 0);
        fs.ftruncate(fd, contents.length);
        fds.push(fd);
      } catch (error) {
        fs.close(fd);
        for (const other of fds) fs.close(other);
        throw storageError(`write of ${path}`, error);
      }
    }
    this.indexesOnDisk = true;
    return fds;
  }

  /**
   * writeIndexFiles off the event loop (a roll: the open-create, write and cut of two files can wait
   * on the file system's journal). Resolves to the fds to datasync and close; never rejects — on
   * failure the files are left to `close()` (which writes them again) or to recovery (which checks
   * and rebuilds index files), and the failure is passed to `onError`.
   */
  writeIndexFilesInBackground(onError: (error: unknown) => void): Promise<number[]> {
    if (this.damage.length > 0) return Promise.resolve(this.writeIndexFiles());
    const fs = this.context.fs;
    const files = [
      [this.paths.offsetIndex, this.offsetIndex.contents()],
      [this.paths.timeIndex, this.timeIndex.contents()],
    ] as const;
    this.indexesOnDisk = true;
    const started = files.map(([path, contents]) => fs.writeFileInBackground(path, contents));
    return Promise.allSettled(started).then((results) => {
      const fds: number[] = [];
      for (const result of results) if (result.status === "fulfilled") fds.push(result.value);
      const failed = results.find((result) => result.status === "rejected");
      if (this.deleted) {
        // delete() ran meanwhile and may have unlinked before the files were created.
        for (const fd of fds) fs.close(fd);
        this.unlinkIndexFiles();
        return [];
      }
      if (failed !== undefined) {
        this.indexesOnDisk = false;
        onError(failed.reason);
      }
      return fds;
    });
  }

  private unlinkIndexFiles(): void {
    for (const path of [this.paths.offsetIndex, this.paths.timeIndex]) {
      try {
        this.context.fs.unlink(path);
      } catch {
        // Gone already, or left for recovery (an index file without its .log is removed at open).
      }
    }
  }

  /** Remove the index files (a damaged segment's, or stale ones). */
  removeIndexFiles(): void {
    for (const path of [this.paths.offsetIndex, this.paths.timeIndex]) {
      try {
        this.context.fs.unlink(path);
      } catch (error) {
        if ((error as { code?: string }).code !== "ENOENT") throw storageError(`removing ${path}`, error);
      }
    }
  }

  /**
   * Load index files written earlier; false when missing or implausible (then rebuild): sane on
   * their own, sampled entries matching the batches they name, and the batches after the last entry
   * matching the file's end (tailMatchesIndexes).
   */
  loadIndexFiles(indexIntervalBytes: number): boolean {
    const fs = this.context.fs;
    const offsetBytes = fs.readFile(this.paths.offsetIndex);
    const timeBytes = fs.readFile(this.paths.timeIndex);
    if (offsetBytes === null || timeBytes === null) return false;
    if (offsetBytes.length % 8 !== 0 || timeBytes.length % 12 !== 0) return false;
    const offsetIndex = new OffsetIndex(offsetBytes);
    const timeIndex = new TimeIndex(timeBytes);
    if (!offsetIndex.isSane(this.sizeBytes)) return false;
    const relativeEnd = this.nextOffset - this.baseOffset;
    if (!timeIndex.isSane(relativeEnd > 0x7fffffffn ? 0x7fffffff : Number(relativeEnd))) return false;
    const previous = [this.offsetIndex, this.timeIndex] as const;
    this.offsetIndex = offsetIndex;
    this.timeIndex = timeIndex;
    if (!this.indexEntriesMatchBatches() || this.tailMatchesIndexes(indexIntervalBytes) === null) {
      [this.offsetIndex, this.timeIndex] = previous;
      return false;
    }
    if (timeIndex.entries > 0) {
      this.maxTimestamp = timeIndex.timestampAt(timeIndex.entries - 1);
      this.offsetOfMaxTimestamp = this.baseOffset + BigInt(timeIndex.relativeOffsetAt(timeIndex.entries - 1));
    }
    this.indexesOnDisk = true;
    return true;
  }

  /**
   * The batches after the last offset index entry, read by their headers (at most about
   * index.interval.bytes of the file): they must end exactly at the end of the file (else the .log
   * was shortened, or bytes were added after its last batch), lie within the index interval of that
   * entry (else the offset index lost its last entries: an entry is made once more than
   * index.interval.bytes were written since the previous one), and be no newer than the time
   * index's last entry (else the time index lost its last entries). Returns the offset after the
   * last batch, or null when anything does not line up. (A changed index.interval.bytes makes the
   * next start rebuild such indexes once.)
   */
  private tailMatchesIndexes(indexIntervalBytes: number): { endOffset: bigint } | null {
    try {
      const entries = this.offsetIndex.entries;
      let position = entries > 0 ? this.offsetIndex.positionAt(entries - 1) : 0;
      let next = entries > 0 ? this.baseOffset + BigInt(this.offsetIndex.relativeOffsetAt(entries - 1)) : this.baseOffset;
      let bytesBeforeLast = 0;
      let lastSize = 0;
      let newest = -1n;
      while (position < this.sizeBytes) {
        if (position + batchHeaderBytes > this.sizeBytes) return null;
        const header = this.headerAt(position);
        if (header.magic !== 2 || header.sizeBytes < batchHeaderBytes || position + header.sizeBytes > this.sizeBytes || header.baseOffset < next) return null;
        bytesBeforeLast += lastSize;
        lastSize = header.sizeBytes;
        if (header.maxTimestamp > newest) newest = header.maxTimestamp;
        next = lastOffsetOf(header) + 1n;
        position += header.sizeBytes;
      }
      if (position !== this.sizeBytes || bytesBeforeLast > indexIntervalBytes) return null;
      if (newest > this.timeIndex.lastTimestamp()) return null;
      return { endOffset: next };
    } catch (error) {
      if (error instanceof KafkaError) return null; // a failed read: rescan
      throw error;
    }
  }

  /**
   * Spot-check loaded indexes against the .log: the first, last and up to 14 evenly spaced offset
   * index entries must point at a batch with exactly that base offset, and sampled time index
   * entries at a batch with that offset and max timestamp. Reading every entry would cost one
   * header read per 4 KiB of log at open; a sample catches shifted, stale and foreign files.
   */
  private indexEntriesMatchBatches(): boolean {
    try {
      return this.sampledEntriesMatch();
    } catch (error) {
      // A damaged header on the way (CORRUPT_MESSAGE) or a failed read: the indexes cannot be
      // trusted, and recovery rescans the file. Never let it escape: it used to stop every start.
      if (error instanceof KafkaError || error instanceof IndexMismatch) return false;
      throw error;
    }
  }

  private sampledEntriesMatch(): boolean {
    const samples = (entries: number): number[] => {
      const count = Math.min(entries, 16);
      const slots = new Set<number>();
      for (let sample = 0; sample < count; sample++) slots.add(Math.floor((sample * (entries - 1)) / Math.max(1, count - 1)));
      return [...slots];
    };
    const batchAt = (position: number) => {
      if (position < 0 || position + batchHeaderBytes > this.sizeBytes) return null;
      const header = this.headerAt(position);
      return header.magic === 2 && header.sizeBytes >= batchHeaderBytes && position + header.sizeBytes <= this.sizeBytes ? header : null;
    };
    for (const slot of samples(this.offsetIndex.entries)) {
      const header = batchAt(this.offsetIndex.positionAt(slot));
      if (header === null || header.baseOffset !== this.baseOffset + BigInt(this.offsetIndex.relativeOffsetAt(slot))) return false;
    }
    for (const slot of samples(this.timeIndex.entries)) {
      const offset = this.baseOffset + BigInt(this.timeIndex.relativeOffsetAt(slot));
      const found = this.walkToOffset(offset);
      if (found === null || found.header.baseOffset !== offset || found.header.maxTimestamp !== this.timeIndex.timestampAt(slot)) return false;
    }
    return true;
  }

  /**
   * After a clean shutdown: trust the active segment's index files (written at close) and its end
   * offset from the checkpoint, checking only the batch headers after the last index entry. False
   * when anything does not line up; the caller then rebuilds by scanning.
   */
  loadAfterCleanShutdown(endOffset: bigint, indexIntervalBytes: number): boolean {
    if (endOffset < this.baseOffset) return false;
    this.nextOffset = endOffset;
    if (!this.loadIndexFiles(indexIntervalBytes) || this.tailMatchesIndexes(indexIntervalBytes)?.endOffset !== endOffset) {
      this.resetIndexes();
      return false;
    }
    const entries = this.offsetIndex.entries;
    this.bytesSinceIndexEntry = entries > 0 ? this.sizeBytes - this.offsetIndex.positionAt(entries - 1) : this.sizeBytes;
    return true;
  }

  /** Forget offsets, timestamps and indexes (before a rebuild by scanning). */
  resetIndexes(): void {
    this.offsetIndex = new OffsetIndex();
    this.timeIndex = new TimeIndex();
    this.maxTimestamp = -1n;
    this.offsetOfMaxTimestamp = -1n;
    this.bytesSinceIndexEntry = 0;
    this.nextOffset = this.baseOffset;
    this.indexesOnDisk = false;
  }

  /**
   * Scan the .log from the start, verifying every batch, rebuilding offsets and indexes. Stops at
   * the first bad batch (or one whose offsets go backwards); returns where and why.
   */
  rebuild(indexIntervalBytes: number, fileSize: number, onBatch?: (batch: ScannedBatch) => void): ScanResult {
    this.resetIndexes();
    const mapping = fileSize > 0 && fileSize <= this.reservedBytes ? this.mappingFor(fileSize) : null;
    const result = scanBatches(this.context.fs, this.context.native, this.fd, 0, fileSize, (batch) => {
      if (batch.header.baseOffset < this.nextOffset) {
        return `offset ${batch.header.baseOffset} goes backwards (expected >= ${this.nextOffset})`;
      }
      if (lastOffsetOf(batch.header) - this.baseOffset > 0x7fffffffn) return "offset beyond the segment's int32 range";
      this.indexBatch(batch.header, batch.position, indexIntervalBytes);
      onBatch?.(batch);
    }, true, mapping?.region.bytes);
    this.crcVerifiedTo = result.endPosition; // every batch before it was CRC-checked
    return result;
  }

  /**
   * Recovery's scan: like rebuild, but it does not stop at the first bad batch. Each bad region is
   * classified (damage.ts) and the scan resynchronises after it at the next whole batch whose
   * offsets continue the log below `offsetEnd`; the batch found there gets an offset index entry
   * of its own, so reads past the damage find it. Returns the bad regions in file order (the last
   * may run to the end of the file); `nextOffset` is then one past the last valid batch. The
   * caller decides what to cut and what to keep (recovery.ts) and sets sizeBytes and `damage`.
   */
  recoveryScan(indexIntervalBytes: number, fileSize: number, offsetEnd: bigint, onBatch?: (header: RecordBatchHeader) => void): ScanProblem[] {
    const { fs, native } = this.context;
    this.resetIndexes();
    this.damage = [];
    const mapping = fileSize > 0 && fileSize <= this.reservedBytes ? this.mappingFor(fileSize) : null;
    const mapped = mapping?.region.bytes;
    const read = readerFor(fs, this.fd, mapped);
    const problems: ScanProblem[] = [];
    let start = 0;
    for (;;) {
      const result = scanBatches(fs, native, this.fd, start, fileSize, (batch) => {
        if (batch.header.baseOffset < this.nextOffset) {
          return `offset ${batch.header.baseOffset} goes backwards (expected >= ${this.nextOffset})`;
        }
        if (lastOffsetOf(batch.header) - this.baseOffset > 0x7fffffffn) return "offset beyond the segment's int32 range";
        this.indexBatch(batch.header, batch.position, indexIntervalBytes);
        onBatch?.(batch.header);
      }, true, mapped);
      if (result.stopReason === null) return problems;
      const position = result.endPosition;
      const expectedOffset = this.nextOffset;
      const shape = shapeOfProblem(read, position, fileSize);
      const resume = shape === "zeros" ? null : findResyncPosition(read, native, position, fileSize, { minOffset: expectedOffset, offsetEnd });
      if (resume === null) {
        problems.push({ position, endPosition: fileSize, resumeOffset: null, expectedOffset, shape, reason: result.stopReason });
        return problems;
      }
      const resumeOffset = readBatchHeader(read(resume, batchHeaderBytes), 0).baseOffset;
      problems.push({ position, endPosition: resume, resumeOffset, expectedOffset, shape, reason: result.stopReason });
      this.bytesSinceIndexEntry = indexIntervalBytes + 1; // an index entry at the resumed batch
      start = resume;
    }
  }

  // ----- reading ---------------------------------------------------------------------------

  /**
   * Whether the batch at `position` (of `sizeBytes`) is whole: CRC-checked the first time a read
   * reaches it in this process — segments trusted at open were not scanned, and Kafka checks no
   * CRC on read at all, which served a flipped payload bit to consumers (a client-side CRC error)
   * and never reported it. Checked once: reads that continue from the verified prefix extend it, so
   * a consumer's second pass costs one comparison per batch. A damaged batch is recorded as a
   * damaged range (later reads answer CORRUPT_MESSAGE for it, the batches around it are served)
   * and reported once.
   */
  batchIntact(position: number, sizeBytes: number): boolean {
    if (position + sizeBytes <= this.crcVerifiedTo) return true;
    if (this.damage.length > 0 && damageStartingAt(this.damage, position) !== undefined) return false;
    const part = this.bytesAt(position, sizeBytes);
    let reason: string | null;
    try {
      reason = checkStoredBatch(this.context.native, part.bytes, 0, sizeBytes);
    } finally {
      part.release();
    }
    if (reason === null) {
      if (position <= this.crcVerifiedTo) this.crcVerifiedTo = position + sizeBytes;
      return true;
    }
    const header = this.headerAt(position);
    const range: DamagedRange = {
      position,
      endPosition: position + sizeBytes,
      fromOffset: header.baseOffset,
      toOffset: lastOffsetOf(header) + 1n,
      reason,
    };
    this.damage.push(range);
    this.damage.sort((left, right) => left.position - right.position);
    // Its index files no longer describe a clean segment: the next start rescans it (and reports).
    this.indexesOnDisk = false;
    this.context.onDamageFound?.(this, range);
    return false;
  }

  /**
   * Bytes [position, position + length) of the .log, zero-copy from the mapping when the native
   * helper can map (the caller must release()), else copied with pread.
   */
  bytesAt(position: number, length: number): SegmentBytes {
    assert(position >= 0 && length >= 0 && position + length <= this.sizeBytes, "read beyond the segment's size");
    const mapping = this.mappingFor(position + length);
    if (mapping !== null) {
      mapping.acquire();
      let released = false;
      return {
        bytes: mapping.region.bytes.subarray(position, position + length),
        release: () => {
          if (released) return;
          released = true;
          mapping.release();
        },
      };
    }
    const copy = new Uint8Array(length);
    const count = this.context.fs.pread(this.fd, copy, position);
    if (count !== length) throw storageError(`read of ${this.paths.log}`, new Error(`short read ${count} of ${length}`));
    return { bytes: copy, release: noRelease };
  }

  private readonly headerScratch = new Uint8Array(batchHeaderBytes);

  /** The header of the batch at `position` (synchronous use only: no reference is kept). */
  headerAt(position: number): RecordBatchHeader {
    assert(position + batchHeaderBytes <= this.sizeBytes, "batch header beyond the segment's size");
    const mapping = this.mappingFor(position + batchHeaderBytes);
    if (mapping !== null) return readBatchHeader(mapping.region.bytes, position);
    const count = this.context.fs.pread(this.fd, this.headerScratch, position);
    if (count !== batchHeaderBytes) throw storageError(`read of ${this.paths.log}`, new Error("short header read"));
    return readBatchHeader(this.headerScratch, 0);
  }

  // Checks on the read path. Segments below the recovery point are trusted after a clean shutdown
  // (not CRC-scanned at open, as in Kafka), so a bad disk can hand the readers a damaged header.
  // Damaged data is an operating error, answered with CORRUPT_MESSAGE (Kafka's
  // CorruptRecordException on read) for this partition only. What is checked is what a reader
  // walks anyway, the batch headers — magic, length against the bytes left, base and last offset
  // against the previous batch and the segment's range — never the CRC (a consumer checks that;
  // Kafka does not CRC on fetch either). A base offset flipped to a value still between its
  // neighbours' is caught at the next batch walked over it, not at the batch itself.

  /**
   * Why a header (its size, magic and offsets) cannot be the batch at `position` that follows a
   * batch ending at `previousLastOffset`; null when it can.
   */
  private batchProblem(position: number, sizeBytes: number, magic: number, baseOffset: bigint, lastOffset: bigint, previousLastOffset: bigint): string | null {
    if (magic !== 2) return `magic byte ${magic} (expected 2)`;
    if (sizeBytes < batchHeaderBytes || position + sizeBytes > this.sizeBytes) {
      return `batch length ${sizeBytes - logOverheadBytes} does not fit the ${this.sizeBytes - position} bytes left`;
    }
    if (baseOffset <= previousLastOffset) return `base offset ${baseOffset} is not above ${previousLastOffset} (offsets must increase)`;
    if (lastOffset < baseOffset || lastOffset >= this.nextOffset) {
      return `offsets ${baseOffset}..${lastOffset} are outside the segment's [${this.baseOffset}, ${this.nextOffset})`;
    }
    return null;
  }

  /**
   * CORRUPT_MESSAGE for damaged bytes at `position`. `readableFrom` is where reading can go on: the
   * end of a known damaged range, else the end of this segment (its batches after an unknown
   * damaged header cannot be walked to).
   */
  private corrupt(position: number, problem: string, readableFrom: bigint = this.nextOffset): DamagedDataError {
    return new DamagedDataError(`corrupt batch at byte ${position} of ${this.paths.log}: ${problem}`, readableFrom);
  }

  /**
   * The header at `position`, checked as the next batch of a walk: its base offset must be at least
   * `minBaseOffset` (exactly, with `exact`: an offset index entry names it). Throws KafkaError
   * CORRUPT_MESSAGE when it cannot be.
   */
  private checkedHeaderAt(position: number, minBaseOffset: bigint, exact: boolean): RecordBatchHeader {
    let problem: string | null;
    let header: RecordBatchHeader | null = null;
    if (position + batchHeaderBytes > this.sizeBytes) {
      problem = `${this.sizeBytes - position} bytes left, less than a batch header`;
    } else {
      header = this.headerAt(position);
      problem = this.batchProblem(position, header.sizeBytes, header.magic, header.baseOffset, lastOffsetOf(header), minBaseOffset - 1n);
      if (problem === null && exact && header.baseOffset !== minBaseOffset) {
        problem = `base offset ${header.baseOffset}, but the offset index says ${minBaseOffset}`;
      }
    }
    if (problem === null) return header!;
    // At a position an index entry gave, the index may be what is wrong, not the data.
    if (exact && !this.indexesRepaired) throw new IndexMismatch(`at byte ${position}: ${problem}`);
    throw this.corrupt(position, problem);
  }

  /**
   * A lookup through the indexes found no matching batch where an entry pointed (a flipped bit in
   * an index file that the start-up sample missed, or an index the file no longer matches). Rebuild
   * both indexes from the batch headers — damaged ranges skipped, a header that does not parse ends
   * the walk — once per segment per process; the log reports it, and the lookup is retried. Data
   * damage is then found where it is (the retry walks into it) and answered CORRUPT_MESSAGE.
   */
  private repairIndexes(why: string): void {
    assert(!this.indexesRepaired, "indexes are repaired once");
    this.indexesRepaired = true;
    const interval = this.context.indexIntervalBytes?.() ?? 4096;
    const coveredUpTo = this.nextOffset;
    this.offsetIndex = new OffsetIndex();
    this.timeIndex = new TimeIndex();
    this.maxTimestamp = -1n;
    this.offsetOfMaxTimestamp = -1n;
    this.bytesSinceIndexEntry = 0;
    this.nextOffset = this.baseOffset;
    let position = 0;
    walk: for (const range of [...this.damage, null]) {
      const end = range === null ? this.sizeBytes : range.position;
      while (position < end) {
        if (position + batchHeaderBytes > end) break walk;
        const header = this.headerAt(position);
        if (header.magic !== 2 || header.sizeBytes < batchHeaderBytes || position + header.sizeBytes > end || header.baseOffset < this.nextOffset) break walk;
        this.indexBatch(header, position, interval);
        position += header.sizeBytes;
      }
      if (range === null) break;
      position = range.endPosition;
      if (range.toOffset > this.nextOffset) this.nextOffset = range.toOffset;
      this.bytesSinceIndexEntry = interval + 1;
    }
    // A sealed segment covers its offsets up to the next one (compaction gaps) whatever was walked.
    if (coveredUpTo > this.nextOffset) this.nextOffset = coveredUpTo;
    if (this.mapLengthHint === 0) this.seal();
    this.indexesOnDisk = false; // written again when the log closes
    this.context.onIndexRepaired?.(this, why);
  }

  /**
   * Size and last offset of the batch at `position`, the one after a batch ending at
   * `previousLastOffset` (the read path's per-batch step). Null when the header cannot be that
   * batch: the reader stops before it, and a read starting there gets the error from findBatch.
   */
  extentAt(position: number, previousLastOffset: bigint): { sizeBytes: number; lastOffset: bigint } | null {
    assert(position < this.sizeBytes, "extent of a batch beyond the segment's size");
    if (position + batchHeaderBytes > this.sizeBytes) return null;
    if (this.damage.length > 0 && damageStartingAt(this.damage, position) !== undefined) return null;
    const mapping = this.mappingFor(position + batchHeaderBytes);
    let bytes: Uint8Array;
    let at: number;
    if (mapping !== null) {
      bytes = mapping.region.bytes;
      at = position;
    } else {
      if (this.context.fs.pread(this.fd, this.headerScratch, position) !== batchHeaderBytes) {
        throw storageError(`read of ${this.paths.log}`, new Error("short header read"));
      }
      bytes = this.headerScratch;
      at = 0;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset + at, batchHeaderBytes);
    const sizeBytes = view.getInt32(8) + logOverheadBytes;
    const baseOffset = view.getBigInt64(0);
    const lastOffset = baseOffset + BigInt(view.getInt32(23));
    if (this.batchProblem(position, sizeBytes, view.getInt8(16), baseOffset, lastOffset, previousLastOffset) !== null) return null;
    return { sizeBytes, lastOffset };
  }

  /**
   * Where a walk over the batches for `relative` starts: the position of the last offset index
   * entry at or before it (0 when none), and the base offset the batch there must have.
   */
  private walkStart(relative: number): { position: number; minBaseOffset: bigint; exact: boolean } {
    const slot = this.offsetIndex.lookupSlot(this.context.native, relative);
    if (slot < 0) return { position: 0, minBaseOffset: this.baseOffset, exact: false };
    return { position: this.offsetIndex.positionAt(slot), minBaseOffset: this.baseOffset + BigInt(this.offsetIndex.relativeOffsetAt(slot)), exact: true };
  }

  /**
   * Position and header of the first batch whose last offset is >= `offset`, starting from the
   * offset index; null when the segment has no such batch. Throws KafkaError CORRUPT_MESSAGE when
   * a header on the way is damaged (see batchProblem).
   */
  findBatch(offset: bigint): { position: number; header: RecordBatchHeader } | null {
    try {
      return this.walkToOffset(offset);
    } catch (error) {
      if (!(error instanceof IndexMismatch)) throw error;
      this.repairIndexes(`offset index: ${error.message}`);
      return this.walkToOffset(offset);
    }
  }

  private walkToOffset(offset: bigint): { position: number; header: RecordBatchHeader } | null {
    if (offset >= this.nextOffset) return null;
    if (this.damage.length > 0) {
      const range = damageAt(this.damage, offset);
      if (range !== undefined) {
        throw this.corrupt(range.position, `offsets ${range.fromOffset}..${range.toOffset - 1n} lie in damaged bytes ${range.position}..${range.endPosition} (${range.reason})`, range.toOffset);
      }
    }
    let { position, minBaseOffset, exact } = this.walkStart(offset <= this.baseOffset ? 0 : this.relative(offset));
    while (position < this.sizeBytes) {
      const header = this.checkedHeaderAt(position, minBaseOffset, exact);
      const lastOffset = lastOffsetOf(header);
      if (lastOffset >= offset) return { position, header };
      position += header.sizeBytes;
      minBaseOffset = lastOffset + 1n;
      exact = false;
    }
    return null;
  }

  /**
   * The first batch (ending at or after `minOffset`) whose maxTimestamp >= `timestampMs`, found
   * from the time index entry at or below the timestamp, then scanning forward. Throws KafkaError
   * CORRUPT_MESSAGE when a header on the way is damaged.
   */
  findTimestamp(timestampMs: bigint, minOffset: bigint): { position: number; header: RecordBatchHeader } | null {
    try {
      return this.walkToTimestamp(timestampMs, minOffset);
    } catch (error) {
      if (!(error instanceof IndexMismatch)) throw error;
      this.repairIndexes(`time index: ${error.message}`);
      return this.walkToTimestamp(timestampMs, minOffset);
    }
  }

  private walkToTimestamp(timestampMs: bigint, minOffset: bigint): { position: number; header: RecordBatchHeader } | null {
    if (this.maxTimestamp < timestampMs) return null;
    const slot = this.timeIndex.lookupSlot(this.context.native, timestampMs);
    const relative = slot < 0 ? -1 : this.timeIndex.relativeOffsetAt(slot);
    if (slot >= 0 && !this.indexesRepaired) {
      // The entry must name the batch holding that timestamp: one that starts at its offset and
      // whose max timestamp is the entry's (a wrong entry would make the answer skip batches).
      const named = this.walkToOffset(this.baseOffset + BigInt(relative));
      if (named === null || named.header.baseOffset !== this.baseOffset + BigInt(relative) || named.header.maxTimestamp !== this.timeIndex.timestampAt(slot)) {
        throw new IndexMismatch(`entry ${slot} (timestamp ${this.timeIndex.timestampAt(slot)}, offset ${this.baseOffset + BigInt(relative)}) names no such batch`);
      }
    }
    let { position, minBaseOffset, exact } = this.walkStart(relative < 0 ? 0 : relative);
    while (position < this.sizeBytes) {
      // Damaged bytes hold no answer we can give: continue with the batches after them.
      const damaged = this.damage.length > 0 ? damageStartingAt(this.damage, position) : undefined;
      if (damaged !== undefined) {
        position = damaged.endPosition;
        minBaseOffset = damaged.toOffset;
        exact = false;
        continue;
      }
      const header = this.checkedHeaderAt(position, minBaseOffset, exact);
      const lastOffset = lastOffsetOf(header);
      if (header.maxTimestamp >= timestampMs && lastOffset >= minOffset) return { position, header };
      position += header.sizeBytes;
      minBaseOffset = lastOffset + 1n;
      exact = false;
    }
    return null;
  }

  private mappingFor(end: number): SegmentMapping | null {
    const { native, mappings } = this.context;
    if (!native.canMap || this.deleted || end === 0) return null;
    if (this.mapping !== null && this.mapping.length >= end) {
      mappings.touch(this);
      return this.mapping;
    }
    if (this.mapping !== null) this.retireMapping();
    // Never past the end of the file (the native helper refuses, and the pages would SIGBUS).
    const length = this.reservedBytes;
    assert(length >= end, "mapping must cover the requested bytes");
    let region;
    try {
      region = native.map(this.fd, length, false);
    } catch (error) {
      throw storageError(`map of ${this.paths.log}`, error);
    }
    this.mapping = new SegmentMapping(native, region, () => {});
    mappings.touch(this);
    return this.mapping;
  }

  private retireMapping(): void {
    const mapping = this.mapping;
    if (mapping === null) return;
    this.mapping = null;
    this.context.mappings.forget(this);
    mapping.retire();
  }

  /** MappingOwner: the LRU wants this mapping gone (readers keep theirs until release). */
  dropMapping(): void {
    const mapping = this.mapping;
    if (mapping === null) return;
    this.mapping = null;
    mapping.retire();
  }

  /** True when a reader still holds a view of this segment's mapping. */
  get hasLiveReaders(): boolean {
    return this.mapping !== null && this.mapping.references > 0;
  }

  // ----- truncation and end of life --------------------------------------------------------

  /**
   * Cut the .log at `position` (a batch boundary) and rebuild offsets and indexes up to there.
   * With live readers the cut range is zero-filled instead of shortening the file (see header).
   */
  truncateTo(position: number, indexIntervalBytes: number): void {
    assert(position >= 0 && position <= this.sizeBytes, "truncation position out of range");
    const fs = this.context.fs;
    if (position === this.sizeBytes) return;
    try {
      // A background trim still in flight would cut to the old size after us: zero-fill too.
      if (this.hasLiveReaders || this.fileWorkInFlight > 0) {
        fs.pwrite(this.fd, new Uint8Array(this.sizeBytes - position), position);
      } else {
        this.retireMapping();
        fs.ftruncate(this.fd, position);
        this.reservedBytes = position;
      }
    } catch (error) {
      throw storageError(`truncation of ${this.paths.log}`, error);
    }
    const result = this.rebuild(indexIntervalBytes, position);
    assert(result.stopReason === null && result.endPosition === position, `segment ${this.paths.log} changed under truncation: ${result.stopReason}`);
    this.sizeBytes = position;
    this.dirty = true;
    this.indexesOnDisk = false;
  }

  /**
   * Shorten the file to its logical size when a reserved, zero-filled or partial tail is beyond it.
   * Safe with live readers: their views end at or before the logical size, and a mapping longer
   * than the file is harmless as long as nobody touches the pages past its end.
   */
  trimFile(): void {
    if (this.closed) return;
    if (this.reservedBytes > this.sizeBytes || this.context.fs.size(this.fd) > this.sizeBytes) {
      this.context.fs.ftruncate(this.fd, this.sizeBytes);
      this.reservedBytes = this.sizeBytes;
      this.dirty = true; // the new size is durable with the next sync
    }
  }

  /**
   * trimFile off the event loop, for a segment just sealed by a roll (ftruncate frees blocks and can
   * wait milliseconds on the journal). The reservation is given up at once, so no new mapping
   * reaches past the logical size while the file is still longer; the old mapping stays valid (see
   * trimFile). The segment is marked dirty: the sync that follows awaits the returned promise before
   * its fdatasync, so the cut size is durable with it. Never rejects; a failed cut is left to
   * close() (which trims again) or to recovery (which cuts zero tails), and passed to `onError`.
   */
  trimFileInBackground(onError: (error: unknown) => void): Promise<void> {
    if (this.closed || this.reservedBytes <= this.sizeBytes) return Promise.resolve();
    const size = this.sizeBytes;
    const fd = this.fd;
    this.reservedBytes = size;
    this.dirty = true;
    this.fileWorkInFlight += 1;
    return this.context.fs.truncateInBackground(fd, size).then(
      () => this.fileWorkEnded(),
      (error: unknown) => {
        this.fileWorkEnded(); // the file stays longer than its logical size: close() cuts it

        onError(error);
      },
    );
  }

  private fileWorkEnded(): void {
    assert(this.fileWorkInFlight > 0, "file work ended without starting");
    this.fileWorkInFlight -= 1;
    if (this.fileWorkInFlight === 0 && this.closeWhenIdle) {
      this.closeWhenIdle = false;
      this.closeDescriptor();
    }
  }

  /** Close the fd and retire the mapping (unmapped when the last reader releases it). */
  close(): void {
    this.retireMapping();
    this.closed = true;
    this.context.descriptors.forget(this);
    // A background trim is using the descriptor: closing it now could let the kernel hand its
    // number to another file, which the trim would then cut.
    if (this.fileWorkInFlight > 0) this.closeWhenIdle = true;
    else this.closeDescriptor();
  }

  private closeDescriptor(): void {
    if (this.fdValue !== null) {
      const fd = this.fdValue;
      this.fdValue = null;
      this.context.fs.close(fd);
    }
  }

  /** Close and remove all three files. Readers holding views keep the unlinked pages until release. */
  delete(): void {
    this.deleted = true;
    this.close();
    for (const path of [this.paths.log, this.paths.offsetIndex, this.paths.timeIndex]) {
      try {
        this.context.fs.unlink(path);
      } catch (error) {
        if ((error as { code?: string }).code !== "ENOENT") throw error;
      }
    }
  }
}
