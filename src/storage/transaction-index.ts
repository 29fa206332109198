// Kafka's aborted-transaction index of one segment, `<20-digit baseOffset>.txnindex`: one entry per
// transaction whose ABORT marker lies in the segment, in marker order. Each entry is 34 bytes,
// big-endian, as Kafka lays it out (AbortedTxn):
//
//   version int16 = 0 | producerId int64 | firstOffset int64 | lastOffset int64 | lastStableOffset int64
//
// firstOffset is the transaction's first data batch (it may lie in an earlier segment), lastOffset
// the ABORT marker's offset, lastStableOffset the partition's LSO once the transaction ended.
//
// The search stops at the first entry whose lastStableOffset reaches the fetch's upper bound (Kafka's
// rule), so that field must be right: it is the producer state's first unstable offset once the
// transaction ended, or the marker's offset + 1 when no other transaction was open.
//
// Only the file's length is kept in memory: a read_committed fetch reads the files of the segments
// it covers (Kafka's collectAbortedTxns), so aborted-transaction memory does not grow with the log.
// An append opens the file, writes the entry at the end and hands the descriptor to the log's group
// commit, which fdatasyncs it with the segment's data (the entry is as durable as its marker).
// Recovery checks a loaded file (whole entries, version 0, in order, markers inside the segment)
// and rebuilds it from the segment's batches otherwise (recovery.ts).

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { assert } from "../util/assert.ts";
import type { StorageFs } from "./fs.ts";
import type { AbortedTransaction, AbortedTransactionEntry } from "./types.ts";

export const transactionIndexSuffix = ".txnindex";
export const transactionIndexEntryBytes = 34;
const entryVersion = 0;
const maxOffset = (1n << 63n) - 1n;

export function encodeTransactionIndexEntries(entries: readonly AbortedTransactionEntry[]): Uint8Array {
  const bytes = new Uint8Array(entries.length * transactionIndexEntryBytes);
  const view = new DataView(bytes.buffer);
  entries.forEach((entry, index) => {
    const at = index * transactionIndexEntryBytes;
    view.setInt16(at, entryVersion);
    view.setBigInt64(at + 2, entry.producerId);
    view.setBigInt64(at + 10, entry.firstOffset);
    view.setBigInt64(at + 18, entry.lastOffset);
    view.setBigInt64(at + 26, entry.lastStableOffset);
  });
  return bytes;
}

export interface DecodedTransactionIndex {
  entries: AbortedTransactionEntry[];
  /** Why the file cannot be trusted as it is (null when it can). The entries before the problem are kept. */
  problem: string | null;
}

/**
 * Decode an index file's bytes, checking them against the segment's offsets [baseOffset, endOffset):
 * whole entries, version 0, markers inside the segment and in increasing order, first <= last.
 */
export function decodeTransactionIndex(bytes: Uint8Array, baseOffset: bigint, endOffset: bigint): DecodedTransactionIndex {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: AbortedTransactionEntry[] = [];
  const whole = Math.floor(bytes.length / transactionIndexEntryBytes);
  for (let index = 0; index < whole; index++) {
    const at = index * transactionIndexEntryBytes;
    const version = view.getInt16(at);
    const entry = {
      producerId: view.getBigInt64(at + 2),
      firstOffset: view.getBigInt64(at + 10),
      lastOffset: view.getBigInt64(at + 18),
      lastStableOffset: view.getBigInt64(at + 26),
    };
    const previous = entries[entries.length - 1];
    let problem: string | null = null;
    if (version !== entryVersion) problem = `entry ${index} has version ${version}`;
    else if (entry.lastOffset < baseOffset || entry.lastOffset >= endOffset) problem = `entry ${index}'s marker offset ${entry.lastOffset} is outside [${baseOffset}, ${endOffset})`;
    else if (entry.firstOffset > entry.lastOffset || entry.firstOffset < 0n) problem = `entry ${index}'s first offset ${entry.firstOffset} is not below its marker ${entry.lastOffset}`;
    else if (previous !== undefined && previous.lastOffset >= entry.lastOffset) problem = `entry ${index} is out of order`;
    if (problem !== null) return { entries, problem };
    entries.push(entry);
  }
  if (whole * transactionIndexEntryBytes !== bytes.length) {
    return { entries, problem: `${bytes.length - whole * transactionIndexEntryBytes} bytes of a torn last entry` };
  }
  return { entries, problem: null };
}

export class TransactionIndex {
  /** Bytes of whole entries in the file (the file is not read when it is 0). */
  private byteLength = 0;
  /** Marker offset of the last entry, -1 when there is none (appends must go past it). */
  private lastMarkerOffset = -1n;

  constructor(
    private readonly fs: StorageFs,
    readonly path: string,
    readonly baseOffset: bigint,
  ) {}

  get entryCount(): number {
    return this.byteLength / transactionIndexEntryBytes;
  }

  /** Take the state of an index whose file now belongs to this segment (the cleaner's 1:1 swap). */
  adopt(other: TransactionIndex): void {
    assert(other.path === this.path, "an adopted index file keeps its name");
    this.byteLength = other.byteLength;
    this.lastMarkerOffset = other.lastMarkerOffset;
  }

  /** Use the entries just decoded from (or written to) the file. */
  private loaded(entries: readonly AbortedTransactionEntry[]): void {
    this.byteLength = entries.length * transactionIndexEntryBytes;
    this.lastMarkerOffset = entries.length > 0 ? entries[entries.length - 1]!.lastOffset : -1n;
  }

  /**
   * Read and check the file against the segment's offsets [baseOffset, endOffset). Returns null when
   * it can be used as it is, else why not (missing, torn, out of range): the caller rebuilds it.
   */
  load(endOffset: bigint): string | null {
    const bytes = this.fs.readFile(this.path);
    if (bytes === null) {
      this.loaded([]);
      return "missing";
    }
    const decoded = decodeTransactionIndex(bytes, this.baseOffset, endOffset);
    this.loaded(decoded.entries);
    return decoded.problem;
  }

  /**
   * Append one entry (its marker was just written to this segment). Returns the open descriptor, for
   * the caller to fdatasync and close with the segment's data.
   */
  append(entry: AbortedTransactionEntry): number {
    assert(entry.lastOffset >= this.baseOffset && entry.lastOffset > this.lastMarkerOffset, "transaction index entries are appended in marker order");
    const fd = this.fs.open(this.path, "create");
    try {
      // A stale file of an earlier segment with this base offset is overwritten, never extended.
      if (this.byteLength === 0) this.fs.ftruncate(fd, 0);
      this.fs.pwrite(fd, encodeTransactionIndexEntries([entry]), this.byteLength);
    } catch (error) {
      this.fs.close(fd);
      throw error;
    }
    this.byteLength += transactionIndexEntryBytes;
    this.lastMarkerOffset = entry.lastOffset;
    return fd;
  }

  /** Replace the whole file with `entries` (recovery's rebuild). Returns the open descriptor to sync. */
  rewrite(entries: readonly AbortedTransactionEntry[]): number {
    const fd = this.fs.open(this.path, "create");
    try {
      this.fs.ftruncate(fd, 0);
      if (entries.length > 0) this.fs.pwrite(fd, encodeTransactionIndexEntries(entries), 0);
    } catch (error) {
      this.fs.close(fd);
      throw error;
    }
    this.loaded(entries);
    return fd;
  }

  /** Every entry, in marker order (reads the file; nothing when the index is empty). */
  entries(): AbortedTransactionEntry[] {
    if (this.byteLength === 0) return [];
    let bytes: Uint8Array | null;
    try {
      bytes = this.fs.readFile(this.path);
    } catch (error) {
      throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `reading ${this.path}: ${String(error)}`);
    }
    if (bytes === null) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `transaction index ${this.path} vanished`);
    // Bytes past byteLength are a torn tail left by a crash (the next append overwrites them).
    const decoded = decodeTransactionIndex(bytes.subarray(0, this.byteLength), this.baseOffset, maxOffset);
    if (decoded.entries.length * transactionIndexEntryBytes !== this.byteLength) {
      throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `transaction index ${this.path}: ${decoded.problem ?? "shorter than expected"}`);
    }
    return decoded.entries;
  }

  /**
   * Kafka's TransactionIndex.collectAbortedTxns: the aborted transactions with data in
   * [fetchOffset, upperBoundOffset) — marker at or after fetchOffset, first offset below the bound.
   * Complete once an entry's last stable offset reaches the bound: every transaction that began
   * below the bound had ended by then, so no later entry can start below it.
   */
  collect(fetchOffset: bigint, upperBoundOffset: bigint, into: AbortedTransaction[]): boolean {
    if (this.lastMarkerOffset < fetchOffset) return false;
    for (const entry of this.entries()) {
      if (entry.lastOffset >= fetchOffset && entry.firstOffset < upperBoundOffset) {
        into.push({ producerId: entry.producerId, firstOffset: entry.firstOffset, lastOffset: entry.lastOffset });
      }
      if (entry.lastStableOffset >= upperBoundOffset) return true;
    }
    return false;
  }

  /**
   * Remove the entries whose marker is at or after `offset` (truncation). Returns them, oldest first:
   * a transaction whose marker is cut but whose data stays is open again.
   */
  truncateTo(offset: bigint): AbortedTransactionEntry[] {
    if (this.lastMarkerOffset < offset) return [];
    const entries = this.entries();
    const kept = entries.filter((entry) => entry.lastOffset < offset);
    if (kept.length === 0) {
      this.deleteFile();
    } else {
      const fd = this.fs.open(this.path, "write");
      try {
        this.fs.ftruncate(fd, kept.length * transactionIndexEntryBytes);
      } finally {
        this.fs.close(fd);
      }
    }
    this.loaded(kept);
    return entries.slice(kept.length);
  }

  /** Remove the file (the segment is deleted, or the index is empty). */
  deleteFile(): void {
    try {
      this.fs.unlink(this.path);
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") throw error;
    }
    this.loaded([]);
  }
}
