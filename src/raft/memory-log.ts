// An in-memory RaftLog for the simulator and unit tests. It also knows how to copy itself
// (`clone`), which is how the simulator models a disk: a flush keeps a copy, a crash restarts from
// the last copy.

import { assert } from "../util/assert.ts";
import type { RaftLog } from "./log.ts";
import { entrySize } from "./log.ts";
import type { DivergingEpoch } from "./messages.ts";
import type { RaftEntry, SnapshotId, Voter } from "./types.ts";

/** Reads the voter set a snapshot's bytes record (the state machine's format), null for none. */
export type SnapshotVotersReader = (bytes: Uint8Array) => readonly Voter[] | null;

interface EpochStart {
  epoch: number;
  startOffset: bigint;
}

interface StoredSnapshot {
  id: SnapshotId;
  bytes: Uint8Array;
  /** Read from the bytes on first use (undefined: not read yet). */
  voters?: readonly Voter[] | null;
}

export class MemoryRaftLog implements RaftLog {
  private start = 0n;
  /** start + entries.length, kept as a bigint (converting on every read is costly). */
  private end = 0n;
  private entries: RaftEntry[] = [];
  /** Runs of one epoch (epoch → first offset), for endOffsetForEpoch without a scan. */
  private epochs: EpochStart[] = [];
  private snapshot: StoredSnapshot | null = null;
  private pending: { id: SnapshotId; chunks: Uint8Array[]; size: number } | null = null;

  constructor(private readonly readSnapshotVoters: SnapshotVotersReader = () => null) {}

  get startOffset(): bigint {
    return this.start;
  }

  get endOffset(): bigint {
    return this.end;
  }

  epochBefore(offset: bigint): number {
    assert(offset >= this.start && offset <= this.endOffset, () => `epochBefore(${offset}) outside [${this.start}, ${this.endOffset}]`);
    if (offset === this.start) return this.snapshot?.id.epoch ?? -1;
    return this.entries[Number(offset - this.start) - 1]!.epoch;
  }

  endOffsetForEpoch(epoch: number): DivergingEpoch | null {
    for (let index = this.epochs.length - 1; index >= 0; index--) {
      const run = this.epochs[index]!;
      if (run.epoch > epoch) continue;
      const next = this.epochs[index + 1];
      return { epoch: run.epoch, endOffset: next ? next.startOffset : this.endOffset };
    }
    // Every entry held is of a higher epoch: the answer is the snapshot's epoch, if it is ≤ epoch.
    if (this.snapshot === null) return this.start === 0n ? { epoch: -1, endOffset: 0n } : null;
    if (this.snapshot.id.epoch <= epoch) return { epoch: this.snapshot.id.epoch, endOffset: this.start };
    return null;
  }

  read(offset: bigint, maxEntries: number, maxBytes: number): RaftEntry[] {
    assert(offset >= this.start && offset <= this.endOffset, () => `read(${offset}) outside [${this.start}, ${this.endOffset}]`);
    const result: RaftEntry[] = [];
    let bytes = 0;
    for (let index = Number(offset - this.start); index < this.entries.length && result.length < maxEntries; index++) {
      const entry = this.entries[index]!;
      bytes += entrySize(entry);
      if (result.length > 0 && bytes > maxBytes) break;
      result.push(entry);
    }
    return result;
  }

  append(entries: readonly RaftEntry[]): void {
    for (const entry of entries) {
      assert(entry.offset === this.endOffset, () => `append at ${entry.offset}, log end is ${this.endOffset}`);
      const lastEpoch = this.epochBefore(this.endOffset);
      assert(entry.epoch >= lastEpoch, () => `append of epoch ${entry.epoch} after epoch ${lastEpoch}`);
      if (this.epochs.length === 0 || this.epochs[this.epochs.length - 1]!.epoch !== entry.epoch) {
        this.epochs.push({ epoch: entry.epoch, startOffset: entry.offset });
      }
      this.entries.push(entry);
      this.end++;
    }
  }

  truncateTo(offset: bigint): void {
    assert(offset >= this.start && offset <= this.endOffset, () => `truncateTo(${offset}) outside [${this.start}, ${this.endOffset}]`);
    this.entries.length = Number(offset - this.start);
    this.end = offset;
    while (this.epochs.length > 0 && this.epochs[this.epochs.length - 1]!.startOffset >= offset) this.epochs.pop();
  }

  latestSnapshot(): SnapshotId | null {
    return this.snapshot?.id ?? null;
  }

  snapshotVoters(): readonly Voter[] | null {
    const snapshot = this.snapshot;
    if (snapshot === null) return null;
    if (snapshot.voters === undefined) snapshot.voters = this.readSnapshotVoters(snapshot.bytes);
    return snapshot.voters;
  }

  snapshotSize(id: SnapshotId): bigint | null {
    return this.snapshot !== null && sameSnapshot(this.snapshot.id, id) ? BigInt(this.snapshot.bytes.byteLength) : null;
  }

  readSnapshot(id: SnapshotId, position: bigint, maxBytes: number): Uint8Array {
    assert(this.snapshot !== null && sameSnapshot(this.snapshot.id, id), "readSnapshot of a snapshot not held");
    const from = Number(position);
    return this.snapshot.bytes.subarray(from, Math.min(from + maxBytes, this.snapshot.bytes.byteLength));
  }

  writeSnapshotChunk(id: SnapshotId, position: bigint, bytes: Uint8Array): void {
    if (position === 0n || this.pending === null || !sameSnapshot(this.pending.id, id)) {
      assert(position === 0n, "a snapshot is written from position 0");
      this.pending = { id, chunks: [], size: 0 };
    }
    const pending = this.pending;
    assert(BigInt(pending.size) === position, () => `snapshot chunk at ${position}, have ${pending.size} bytes`);
    pending.chunks.push(bytes.slice());
    pending.size += bytes.byteLength;
  }

  installSnapshot(id: SnapshotId): void {
    assert(this.pending !== null && sameSnapshot(this.pending.id, id), "installSnapshot without its chunks");
    this.saveSnapshot(id, concat(this.pending.chunks, this.pending.size));
    this.pending = null;
    this.start = this.end = id.endOffset;
    this.entries = [];
    this.epochs = [];
  }

  deleteBefore(id: SnapshotId): void {
    assert(this.snapshot !== null && sameSnapshot(this.snapshot.id, id), "deleteBefore a snapshot not held");
    assert(id.endOffset >= this.start && id.endOffset <= this.endOffset, () => `deleteBefore(${id.endOffset}) outside the log`);
    this.entries = this.entries.slice(Number(id.endOffset - this.start));
    this.start = id.endOffset;
    this.epochs = this.epochs.filter((run, index) => {
      const next = this.epochs[index + 1];
      return next === undefined || next.startOffset > id.endOffset;
    }).map((run) => (run.startOffset < id.endOffset ? { epoch: run.epoch, startOffset: id.endOffset } : run));
    if (this.entries.length === 0) this.epochs = [];
  }

  /**
   * Store a snapshot the state machine wrote (the driver's side: it writes the snapshot file, then
   * calls RaftCore.installedSnapshot, which drops the entries it covers).
   */
  saveSnapshot(id: SnapshotId, bytes: Uint8Array): void {
    assert(this.snapshot === null || id.endOffset >= this.snapshot.id.endOffset, "snapshots only move forward");
    this.snapshot = { id, bytes };
  }

  /**
   * Start over from a snapshot alone (a driver at startup whose newest snapshot is ahead of its
   * log, or whose log's epoch at the snapshot's end differs: KRaft's truncate-to-latest-snapshot).
   */
  resetToSnapshot(id: SnapshotId, bytes: Uint8Array): void {
    this.snapshot = { id, bytes };
    this.pending = null;
    this.start = this.end = id.endOffset;
    this.entries = [];
    this.epochs = [];
  }

  /** Bytes of the latest snapshot (the state machine loads them at start and after an install). */
  snapshotBytes(): Uint8Array | null {
    return this.snapshot?.bytes ?? null;
  }

  /** Every entry held, for invariant checks. */
  allEntries(): readonly RaftEntry[] {
    return this.entries;
  }

  /** A copy sharing the (immutable) entries: the simulator's picture of what a flush made durable. */
  clone(): MemoryRaftLog {
    const copy = new MemoryRaftLog(this.readSnapshotVoters);
    copy.start = this.start;
    copy.end = this.end;
    copy.entries = this.entries.slice();
    copy.epochs = this.epochs.map((run) => ({ ...run }));
    copy.snapshot = this.snapshot;
    copy.pending = null; // a pending snapshot is written to a temporary file a crash discards
    return copy;
  }
}

export function sameSnapshot(a: SnapshotId, b: SnapshotId): boolean {
  return a.endOffset === b.endOffset && a.epoch === b.epoch;
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let position = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, position);
    position += chunk.byteLength;
  }
  return bytes;
}
