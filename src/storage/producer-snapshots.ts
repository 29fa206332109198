// Snapshot files of the idempotent-producer state, `<20-digit offset>.snapshot` in the partition
// directory (Kafka's layout): the state as of that log end offset, so that recovery replays only
// the batches after the newest usable snapshot instead of every batch of the log.
//
// A snapshot is never required for correctness: a missing, torn (CRC) or too new one (its offset is
// past the recovered log end, e.g. its data was lost with the power) is skipped and an older one,
// or the whole log, is replayed instead. Written at roll (plain write off the event loop; a torn
// file is detected by its CRC) and at close (atomically). The newest `snapshotsRetained` are kept.

import { join } from "node:path";
import type { Logger } from "../util/logger.ts";
import type { StorageFs } from "./fs.ts";
import { parseSegmentFileName, segmentFileStem } from "./segment.ts";
import type { ProducerStateManager } from "./types.ts";

export const snapshotSuffix = ".snapshot";
const snapshotsRetained = 2;

export function snapshotPath(directory: string, offset: bigint): string {
  return join(directory, segmentFileStem(offset) + snapshotSuffix);
}

/** Offsets of the snapshot files in a directory, newest first. */
export function listSnapshots(fs: StorageFs, directory: string): bigint[] {
  return fs
    .readdir(directory)
    .map((name) => parseSegmentFileName(name, snapshotSuffix))
    .filter((offset): offset is bigint => offset !== null)
    .sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
}

function unlinkQuietly(fs: StorageFs, path: string): void {
  try {
    fs.unlink(path);
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOENT") throw error;
  }
}

/**
 * Write a snapshot at a roll. The state is encoded now (as of `endOffset`); the file is created and
 * written off the event loop (open-create and truncate are journal transactions that can wait
 * milliseconds), then the older ones beyond the newest kept are removed. Never rejects: a snapshot
 * that could not be written only makes a later recovery replay more (`onError` is told).
 */
export function writeSnapshotInBackground(fs: StorageFs, directory: string, state: ProducerStateManager, endOffset: bigint, onError: (error: unknown) => void): Promise<void> {
  if (!state.encodeSnapshot) return Promise.resolve();
  const bytes = state.encodeSnapshot(endOffset);
  return fs.writeFileInBackground(snapshotPath(directory, endOffset), bytes).then(
    (fd) => {
      fs.close(fd); // a plain write, not synced: a torn snapshot is found by its CRC and skipped
      pruneSnapshots(fs, directory);
    },
    onError,
  ).catch(onError);
}

/** Write a snapshot atomically (close path). */
export async function writeSnapshotAtomic(fs: StorageFs, directory: string, state: ProducerStateManager, endOffset: bigint): Promise<void> {
  if (!state.encodeSnapshot) return;
  await fs.writeFileAtomic(snapshotPath(directory, endOffset), state.encodeSnapshot(endOffset));
  pruneSnapshots(fs, directory);
}

export function pruneSnapshots(fs: StorageFs, directory: string): void {
  for (const offset of listSnapshots(fs, directory).slice(snapshotsRetained)) unlinkQuietly(fs, snapshotPath(directory, offset));
}

/** Remove snapshots taken past `endOffset` (after truncation they describe batches that are gone). */
export function deleteSnapshotsAfter(fs: StorageFs, directory: string, endOffset: bigint): void {
  for (const offset of listSnapshots(fs, directory)) if (offset > endOffset) unlinkQuietly(fs, snapshotPath(directory, offset));
}

/**
 * Load the newest usable snapshot at or below `endOffset` into `state`. Returns the offset from
 * which batches must be replayed (the snapshot's end offset), or null when none could be used.
 */
export function loadNewestSnapshot(
  fs: StorageFs,
  directory: string,
  state: ProducerStateManager,
  endOffset: bigint,
  logger: Logger,
  /** After a clean shutdown a snapshot at the log end offset was written: its absence is reported. */
  expectedAtEnd = false,
): bigint | null {
  if (!state.loadSnapshot) return null;
  deleteSnapshotsAfter(fs, directory, endOffset);
  if (expectedAtEnd && !listSnapshots(fs, directory).includes(endOffset)) {
    logger.warn("the producer snapshot written at shutdown is missing; replaying the log from an older one", { snapshot: snapshotPath(directory, endOffset) });
  }
  for (const offset of listSnapshots(fs, directory)) {
    const bytes = fs.readFile(snapshotPath(directory, offset));
    if (bytes === null) continue;
    if (bytes.length === 0 && !expectedAtEnd) {
      // Snapshots at a roll are written without a sync, after their file is created: an empty one
      // is what a crash between the two leaves, not damage (no WARN for it).
      logger.info("skipping an empty producer snapshot left by a crash", { offset: String(offset) });
      unlinkQuietly(fs, snapshotPath(directory, offset));
      continue;
    }
    try {
      const loaded = state.loadSnapshot(bytes);
      if (loaded <= endOffset) return loaded;
      // Loaded but unusable: forget what it put in the state before trying an older one.
      state.truncateTo(0n);
      logger.warn("ignoring a producer snapshot past the log end", { offset: String(offset), contents: String(loaded) });
    } catch (error) {
      logger.warn("ignoring a damaged producer snapshot", { offset: String(offset), error: String(error) });
    }
    unlinkQuietly(fs, snapshotPath(directory, offset));
  }
  return null;
}
