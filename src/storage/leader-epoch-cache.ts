// The leader-epoch cache of one partition (Kafka's LeaderEpochFileCache, KIP-101/KIP-279): for
// every leader epoch that wrote to this log, the offset of its first record. It answers "where did
// epoch E end?" (OffsetForLeaderEpoch, and later the follower's divergence check) without reading
// the log.
//
//   epoch 0 ─────────┐ epoch 3 ──────────────┐ epoch 4 ──────▶
//   0                 150                      420            logEndOffset
//   entries: (0, 0) (3, 150) (4, 420); endOffsetFor(3) = 420, endOffsetFor(4) = logEndOffset,
//   endOffsetFor(1) = (0, 150): epoch 1 never wrote here; the epoch below it ended at 150.
//
// Persisted in the partition directory as `leader-epoch-checkpoint`, Kafka's text format:
//
//   0            version
//   3            number of entries
//   0 0          epoch startOffset
//   3 150
//   4 420
//
//   # crc32c=1a2b3c4d   CRC-32C of every byte above (Runnel's addition, as in checkpoint.ts)
//
// Written atomically (temp file, datasync, rename, directory fsync) whenever the entries change,
// one write at a time per partition, off the append path, and at most `writesInFlightMax` at once
// in the process (each holds a descriptor while it runs: 20,000 partitions taking leadership at
// start must not open 20,000 files at once). A lost, stale or damaged file is repaired at open:
// recovery feeds the epochs of every batch it scans, and a log found without the file is walked
// once. A file without the checksum line (Kafka's) is read as it is.

import { join } from "node:path";
import { assert } from "../util/assert.ts";
import type { Logger } from "../util/logger.ts";
import { checkedText, withChecksum } from "./checkpoint.ts";
import type { StorageFs } from "./fs.ts";

export const leaderEpochCheckpointFile = "leader-epoch-checkpoint";

/** Checkpoint writes running at once across the process. */
const writesInFlightMax = 4;
let writesInFlight = 0;
const writesWaiting: (() => void)[] = [];

async function withWriteSlot(write: () => Promise<void>): Promise<void> {
  if (writesInFlight >= writesInFlightMax) await new Promise<void>((resolve) => writesWaiting.push(resolve));
  else writesInFlight++;
  try {
    await write();
  } finally {
    // The slot passes straight to the next waiter (the count stays), or is given back.
    const next = writesWaiting.shift();
    if (next) next();
    else writesInFlight--;
  }
}

/** Kafka's "no epoch" (-1) and "no offset" (-1) in OffsetForLeaderEpoch answers. */
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1n;

export interface EpochEntry {
  epoch: number;
  startOffset: bigint;
}

export interface EpochEndOffset {
  epoch: number;
  endOffset: bigint;
}

/** Parse the checkpoint text; null when it is not a well-formed version-0 file (or its checksum fails). */
export function parseLeaderEpochCheckpoint(raw: string): EpochEntry[] | null {
  const text = checkedText(raw);
  if (text === null) return null;
  const lines = text.split("\n").filter((line) => line.length > 0);
  if (lines[0] !== "0") return null;
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || count !== lines.length - 2) return null;
  const entries: EpochEntry[] = [];
  for (const line of lines.slice(2)) {
    const match = /^(\d+) (\d+)$/.exec(line);
    if (!match) return null;
    const entry = { epoch: Number(match[1]), startOffset: BigInt(match[2]!) };
    const previous = entries[entries.length - 1];
    if (previous && (entry.epoch <= previous.epoch || entry.startOffset <= previous.startOffset)) return null;
    entries.push(entry);
  }
  return entries;
}

export function formatLeaderEpochCheckpoint(entries: readonly EpochEntry[]): string {
  const lines = ["0", String(entries.length), ...entries.map((entry) => `${entry.epoch} ${entry.startOffset}`)];
  return withChecksum(lines.join("\n") + "\n");
}

export class LeaderEpochCache {
  /** Epochs and start offsets both strictly increasing. */
  private entries: EpochEntry[] = [];
  private writeChain: Promise<void> = Promise.resolve();
  private writeQueued = false;
  /** True once entries changed since the last write was started. */
  private dirty = false;

  private constructor(
    private readonly fs: StorageFs,
    private readonly directory: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Load the partition's checkpoint file. `found` is false when there was no usable file (missing
   * or damaged): the caller then rebuilds the entries from the log's batches.
   */
  static load(fs: StorageFs, directory: string, logger: Logger): { cache: LeaderEpochCache; found: boolean } {
    const cache = new LeaderEpochCache(fs, directory, logger);
    const bytes = fs.readFile(join(directory, leaderEpochCheckpointFile));
    if (bytes === null) return { cache, found: false };
    const entries = parseLeaderEpochCheckpoint(new TextDecoder().decode(bytes));
    if (entries === null) {
      logger.warn("ignoring a damaged leader-epoch-checkpoint; rebuilding it from the log", { directory });
      return { cache, found: false };
    }
    cache.entries = entries;
    return { cache, found: true };
  }

  /** A copy of the entries, oldest first (tests, tools). */
  all(): EpochEntry[] {
    return this.entries.map((entry) => ({ ...entry }));
  }

  get latestEpoch(): number {
    return this.entries[this.entries.length - 1]?.epoch ?? UNDEFINED_EPOCH;
  }

  /**
   * Epoch `epoch` starts at `startOffset` (a leader taking over assigns its log end offset; every
   * appended batch assigns its own epoch and base offset). Entries that would make the cache
   * non-monotonic — an epoch at or above this one, or a start offset at or above this one — are
   * dropped first, as Kafka does: they belonged to a history this log no longer has.
   */
  assign(epoch: number, startOffset: bigint): void {
    assert(Number.isInteger(epoch) && epoch >= 0 && startOffset >= 0n, `bad epoch entry ${epoch}@${startOffset}`);
    const latest = this.entries[this.entries.length - 1];
    if (latest !== undefined && latest.epoch === epoch && latest.startOffset <= startOffset) return;
    const kept = this.entries.filter((entry) => entry.epoch < epoch && entry.startOffset < startOffset);
    if (kept.length !== this.entries.length && latest !== undefined && latest.epoch >= epoch) {
      this.logger.warn("leader epoch cache: dropping entries above a new entry", {
        epoch, startOffset: String(startOffset), dropped: this.entries.length - kept.length,
      });
    }
    kept.push({ epoch, startOffset });
    this.entries = kept;
    this.changed();
  }

  /**
   * A batch with this epoch starts at `baseOffset` (append, follower append, recovery): a new entry
   * only when the epoch is newer than every known one. Batches never stamped (-1) are ignored.
   */
  assignFromBatch(epoch: number, baseOffset: bigint): void {
    if (epoch < 0) return;
    const latest = this.entries[this.entries.length - 1];
    if (latest !== undefined && latest.epoch >= epoch) return;
    this.assign(epoch, baseOffset);
  }

  /**
   * Where `requestedEpoch` ended on this log (Kafka's LeaderEpochFileCache.endOffsetFor): the latest
   * epoch ends at the log end offset; an older one at the start offset of the first later epoch,
   * answered with the largest epoch at or below the requested one that this log knows (or the
   * requested one itself when it is older than every known epoch). An unknown newer epoch, or an
   * empty cache, is (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET).
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: bigint): EpochEndOffset {
    const undefinedAnswer = { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requestedEpoch === UNDEFINED_EPOCH || this.entries.length === 0) return undefinedAnswer;
    if (this.latestEpoch === requestedEpoch) return { epoch: requestedEpoch, endOffset: logEndOffset };
    const higher = this.entries.findIndex((entry) => entry.epoch > requestedEpoch);
    if (higher < 0) return undefinedAnswer;
    const higherStart = this.entries[higher]!.startOffset;
    if (higher === 0) return { epoch: requestedEpoch, endOffset: higherStart };
    return { epoch: this.entries[higher - 1]!.epoch, endOffset: higherStart };
  }

  /** The epoch of the record at `offset`: that of the last entry starting at or before it. */
  epochForOffset(offset: bigint): number {
    let found = UNDEFINED_EPOCH;
    for (const entry of this.entries) {
      if (entry.startOffset > offset) break;
      found = entry.epoch;
    }
    return found;
  }

  /** The log was truncated to `endOffset` (records at and after it are gone). */
  truncateFromEnd(endOffset: bigint): void {
    const kept = this.entries.filter((entry) => entry.startOffset < endOffset);
    if (kept.length === this.entries.length) return;
    this.entries = kept;
    this.changed();
  }

  /**
   * The log now starts at `startOffset` (retention, DeleteRecords): entries wholly below it go; the
   * epoch in force at the new start keeps an entry that starts there.
   */
  truncateFromStart(startOffset: bigint): void {
    let inForce = -1;
    for (let index = 0; index < this.entries.length && this.entries[index]!.startOffset <= startOffset; index++) inForce = index;
    if (inForce < 0 || (inForce === 0 && this.entries[0]!.startOffset === startOffset)) return;
    const entry = { epoch: this.entries[inForce]!.epoch, startOffset };
    this.entries = [entry, ...this.entries.slice(inForce + 1)];
    this.changed();
  }

  /** Forget every entry (the log was emptied and restarts at a new offset). */
  clear(): void {
    if (this.entries.length === 0) return;
    this.entries = [];
    this.changed();
  }

  /** Resolves once every change made so far is in the checkpoint file (or its write failed). */
  flushed(): Promise<void> {
    return this.writeChain;
  }

  private changed(): void {
    this.check();
    this.dirty = true;
    if (this.writeQueued) return;
    this.writeQueued = true;
    this.writeChain = this.writeChain.then(async () => {
      this.writeQueued = false;
      if (!this.dirty) return;
      this.dirty = false;
      const text = formatLeaderEpochCheckpoint(this.entries);
      try {
        await withWriteSlot(() => this.fs.writeFileAtomic(join(this.directory, leaderEpochCheckpointFile), new TextEncoder().encode(text)));
      } catch (error) {
        // The entries in memory stay right; after a crash recovery rebuilds what the file lacks
        // from the batches it scans.
        this.logger.error("writing leader-epoch-checkpoint failed", { directory: this.directory, error: String(error) });
      }
    });
  }

  private check(): void {
    for (let index = 1; index < this.entries.length; index++) {
      const previous = this.entries[index - 1]!;
      const entry = this.entries[index]!;
      assert(previous.epoch < entry.epoch && previous.startOffset < entry.startOffset, "leader epoch entries increase");
    }
  }
}
