// The log the Raft core reads and writes: the driver implements it over storage (the
// `__cluster_metadata-0` partition log and its `<offset>-<epoch>.checkpoint` snapshot files), the
// simulator over memory (memory-log.ts).
//
// Every method is synchronous and takes effect at once for later reads: the core must read its
// own writes (answer a fetch with what it just appended, compare logs in a vote). Durability is
// separate: the driver flushes writes in the order they were made (truncations included) and then
// tells the core `markDurable(position)`. A crash may lose any write not yet reported durable.
//
//   startOffset (snapshot end) ............................ endOffset
//   │ entries[startOffset] … entries[endOffset - 1]           │ next append goes here

import type { DivergingEpoch } from "./messages.ts";
import type { RaftEntry, SnapshotId, Voter } from "./types.ts";

export interface RaftLog {
  /** First offset still held as an entry; equals the latest snapshot's end offset (0 with none). */
  readonly startOffset: bigint;
  readonly endOffset: bigint;

  /**
   * Epoch of the entry just below `offset`, for startOffset ≤ offset ≤ endOffset; at startOffset it
   * is the latest snapshot's epoch, and -1 for offset 0 (an empty log).
   */
  epochBefore(offset: bigint): number;

  /**
   * Kafka's OffsetForLeaderEpoch answer: the largest epoch ≤ `epoch` this log knows and the end
   * offset of that epoch (the start of the next higher epoch, or endOffset for the last one).
   * `{ epoch: -1, endOffset: 0 }` when every entry is of a higher epoch and the log starts at 0;
   * null when the answer lies below the latest snapshot and is no longer known.
   */
  endOffsetForEpoch(epoch: number): DivergingEpoch | null;

  /** Entries from `offset` (startOffset ≤ offset ≤ endOffset): at least one if any, at most the limits. */
  read(offset: bigint, maxEntries: number, maxBytes: number): RaftEntry[];

  /** Append entries; the first must be at endOffset, offsets contiguous, epochs non-decreasing. */
  append(entries: readonly RaftEntry[]): void;

  /** Remove every entry at or after `offset` (startOffset ≤ offset ≤ endOffset). */
  truncateTo(offset: bigint): void;

  /** The newest complete snapshot, or null. */
  latestSnapshot(): SnapshotId | null;
  /**
   * The voter set recorded in the latest snapshot (the one in effect at its end offset; KRaft keeps
   * a VotersRecord in every snapshot), or null when it records none (the static voters apply).
   */
  snapshotVoters(): readonly Voter[] | null;
  /** Size in bytes of the latest snapshot when its id is `id`, else null. */
  snapshotSize(id: SnapshotId): bigint | null;
  /** Up to maxBytes of the latest snapshot (which must be `id`) from `position`. */
  readSnapshot(id: SnapshotId, position: bigint, maxBytes: number): Uint8Array;

  /**
   * Follower side of FetchSnapshot: write a chunk of snapshot `id` at `position` into a pending
   * snapshot (a chunk at position 0 starts a new one, discarding any other pending snapshot).
   */
  writeSnapshotChunk(id: SnapshotId, position: bigint, bytes: Uint8Array): void;
  /** Make the complete pending snapshot `id` the latest and empty the log: start = end = id.endOffset. */
  installSnapshot(id: SnapshotId): void;

  /**
   * A snapshot `id` (latestSnapshot() is `id`, written by the driver from the state machine) now
   * covers the entries below id.endOffset: drop them. id.endOffset ≤ endOffset.
   */
  deleteBefore(id: SnapshotId): void;
}

/** Bytes an entry is taken to cost against a fetch's maxBytes (record overhead included). */
export function entrySize(entry: RaftEntry): number {
  const overhead = 24;
  if (entry.kind === "data") return overhead + entry.value.byteLength;
  if (entry.kind === "voters") return overhead + 16 * entry.voters.length;
  return overhead + 4 * (entry.voters.length + entry.grantingVoters.length);
}
