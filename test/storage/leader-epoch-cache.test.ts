// The leader-epoch cache alone (storage/leader-epoch-cache.ts): Kafka's answers for
// OffsetForLeaderEpoch, its monotonic-entry rule, truncation from both ends, and the
// leader-epoch-checkpoint file (format, atomic rewrite, damaged or missing file).

import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { realFs } from "../../src/storage/index.ts";
import { checkedText } from "../../src/storage/checkpoint.ts";
import {
  formatLeaderEpochCheckpoint,
  LeaderEpochCache,
  leaderEpochCheckpointFile,
  parseLeaderEpochCheckpoint,
} from "../../src/storage/leader-epoch-cache.ts";
import { recordingLogger } from "./conformance-suite.ts";

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function fresh() {
  const directory = mkdtempSync(join(tmpdir(), "runnel-epochs-"));
  directories.push(directory);
  const logger = recordingLogger();
  return { directory, logger, ...LeaderEpochCache.load(realFs, directory, logger) };
}

test("endOffsetFor answers as Kafka's LeaderEpochFileCache", async () => {
  const { cache, found } = fresh();
  expect(found).toBe(false);
  expect(cache.endOffsetFor(0, 10n)).toEqual({ epoch: -1, endOffset: -1n }); // empty cache
  cache.assign(2, 5n);
  cache.assign(4, 150n);
  cache.assign(7, 420n);
  const end = 500n;
  expect(cache.endOffsetFor(7, end)).toEqual({ epoch: 7, endOffset: end }); // the latest epoch: log end
  expect(cache.endOffsetFor(4, end)).toEqual({ epoch: 4, endOffset: 420n }); // ends where the next starts
  expect(cache.endOffsetFor(5, end)).toEqual({ epoch: 4, endOffset: 420n }); // unknown: the epoch below it
  expect(cache.endOffsetFor(1, end)).toEqual({ epoch: 1, endOffset: 5n }); // older than all known
  expect(cache.endOffsetFor(8, end)).toEqual({ epoch: -1, endOffset: -1n }); // newer than all known
  expect(cache.endOffsetFor(-1, end)).toEqual({ epoch: -1, endOffset: -1n });
  expect(cache.epochForOffset(4n)).toBe(-1);
  expect(cache.epochForOffset(150n)).toBe(4);
  expect(cache.epochForOffset(419n)).toBe(4);
  expect(cache.epochForOffset(10_000n)).toBe(7);
  await cache.flushed();
});

test("entries stay monotonic: a new entry drops those at or above it; batches only add newer epochs", async () => {
  const { cache } = fresh();
  cache.assign(1, 0n);
  cache.assign(3, 100n);
  cache.assign(5, 200n);
  cache.assign(5, 250n); // same epoch, later offset: no change
  expect(cache.all()).toEqual([{ epoch: 1, startOffset: 0n }, { epoch: 3, startOffset: 100n }, { epoch: 5, startOffset: 200n }]);
  cache.assign(4, 150n); // a history this log no longer has: epoch 5 goes
  expect(cache.all()).toEqual([{ epoch: 1, startOffset: 0n }, { epoch: 3, startOffset: 100n }, { epoch: 4, startOffset: 150n }]);
  cache.assign(6, 100n); // starts where epoch 3 started: 3 and 4 go
  expect(cache.all()).toEqual([{ epoch: 1, startOffset: 0n }, { epoch: 6, startOffset: 100n }]);
  cache.assignFromBatch(2, 300n); // older than the latest: ignored
  cache.assignFromBatch(-1, 300n); // never stamped: ignored
  cache.assignFromBatch(9, 300n);
  expect(cache.latestEpoch).toBe(9);
  expect(() => cache.assign(-1, 0n)).toThrow();
  await cache.flushed();
});

test("truncation from the end and from the start", async () => {
  const { cache } = fresh();
  cache.assign(0, 0n);
  cache.assign(2, 100n);
  cache.assign(3, 200n);
  cache.truncateFromEnd(150n);
  expect(cache.all()).toEqual([{ epoch: 0, startOffset: 0n }, { epoch: 2, startOffset: 100n }]);
  cache.truncateFromStart(120n);
  expect(cache.all()).toEqual([{ epoch: 2, startOffset: 120n }]);
  cache.truncateFromStart(50n); // below the first entry: nothing changes
  expect(cache.all()).toEqual([{ epoch: 2, startOffset: 120n }]);
  cache.clear();
  expect(cache.latestEpoch).toBe(-1);
  await cache.flushed();
});

test("the checkpoint file: Kafka's format, rewritten on change, reloaded; a damaged file is reported and ignored", async () => {
  const { directory, cache } = fresh();
  cache.assign(0, 0n);
  cache.assign(3, 150n);
  await cache.flushed();
  const path = join(directory, leaderEpochCheckpointFile);
  expect(checkedText(readFileSync(path, "utf8"))).toBe("0\n2\n0 0\n3 150\n");
  const reloaded = LeaderEpochCache.load(realFs, directory, recordingLogger());
  expect(reloaded.found).toBe(true);
  expect(reloaded.cache.all()).toEqual(cache.all());

  writeFileSync(path, "0\n2\n3 150\n0 0\n"); // not increasing
  const logger = recordingLogger();
  const damaged = LeaderEpochCache.load(realFs, directory, logger);
  expect(damaged.found).toBe(false);
  expect(damaged.cache.all()).toEqual([]);
  expect(logger.warnings.some((line) => line.includes("leader-epoch-checkpoint"))).toBe(true);
  for (const bad of ["1\n0\n", "0\n2\n0 0\n", "0\n1\nx y\n", ""]) expect(parseLeaderEpochCheckpoint(bad)).toBeNull();
  expect(parseLeaderEpochCheckpoint(formatLeaderEpochCheckpoint([{ epoch: 7, startOffset: 9n }]))).toEqual([{ epoch: 7, startOffset: 9n }]);
  // The checksum line catches a flipped digit that still parses; Kafka's file (no line) is read.
  expect(parseLeaderEpochCheckpoint(formatLeaderEpochCheckpoint([{ epoch: 7, startOffset: 9n }]).replace("7 9", "7 8"))).toBeNull();
  expect(parseLeaderEpochCheckpoint("0\n1\n7 9\n")).toEqual([{ epoch: 7, startOffset: 9n }]);
});

test("checkpoint writes of many partitions at once hold a few descriptors, not one each", async () => {
  let open = 0;
  let openMax = 0;
  const countingFs = {
    ...realFs,
    async writeFileAtomic(path: string, data: Uint8Array) {
      open++;
      openMax = Math.max(openMax, open);
      try {
        await realFs.writeFileAtomic(path, data);
      } finally {
        open--;
      }
    },
  };
  const root = mkdtempSync(join(tmpdir(), "runnel-epochs-many-"));
  directories.push(root);
  const caches = Array.from({ length: 50 }, (_, index) => {
    const directory = join(root, `p-${index}`);
    realFs.mkdir(directory);
    return LeaderEpochCache.load(countingFs, directory, recordingLogger()).cache;
  });
  for (const cache of caches) cache.assign(1, 0n);
  await Promise.all(caches.map((cache) => cache.flushed()));
  expect(openMax).toBeGreaterThan(0);
  expect(openMax).toBeLessThanOrEqual(4);
  for (const cache of caches) expect(LeaderEpochCache.load(realFs, (cache as unknown as { directory: string }).directory, recordingLogger()).cache.all()).toEqual([{ epoch: 1, startOffset: 0n }]);
});
