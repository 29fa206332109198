// The log cleaner on real partition logs: latest record per key, tombstones after
// delete.retention.ms, offsets kept, dirty ratio and compaction lags respected, the active
// segment untouched, reads during cleaning, and a crash at each step of the segment swap.

import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { topicDefaults, type TopicConfig } from "../../src/config/index.ts";
import { loadBrokerConfig } from "../../src/config/index.ts";
import { native } from "../../src/native/index.ts";
import { LogCleaner, type CleanerCrashPoint } from "../../src/storage/cleaner.ts";
import { batchesIn, decodeLogRecords, deflateBatch, encodeBatch, inflateBatch, type LogRecord } from "../../src/protocol/record-batch.ts";
import { openPartitionLog, realFs, type Log } from "../../src/storage/index.ts";

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

const utf8 = new TextEncoder();
const text = new TextDecoder();

function topicConfig(overrides: Partial<TopicConfig> = {}): TopicConfig {
  return {
    ...topicDefaults(loadBrokerConfig().values),
    "cleanup.policy": ["compact"],
    "segment.bytes": 4096,
    "delete.retention.ms": 0,
    "min.cleanable.dirty.ratio": 0.01,
    ...overrides,
  };
}

async function openLog(dataDir: string, config: TopicConfig): Promise<Log> {
  return openPartitionLog({ dataDir, topic: "changelog", partition: 0, config });
}

function freshDir(): string {
  const directory = mkdtempSync(join(tmpdir(), "runnel-compaction-"));
  directories.push(directory);
  return directory;
}

/** Compression codec of the batches `put` writes (0: none; 1 gzip, 2 snappy, 3 lz4, 4 zstd). */
let codec = 0;

/** Appends one batch per call: records key → value (null value = tombstone). */
async function put(log: Log, entries: [string, string | null][], timestamp = BigInt(Date.now())): Promise<bigint> {
  const records: LogRecord[] = entries.map(([key, value], index) => ({
    offset: BigInt(index), timestamp, key: utf8.encode(key), value: value === null ? null : utf8.encode(value), headers: new Uint8Array([0]),
  }));
  const result = await log.append(deflateBatch(encodeBatch(records), codec, codec));
  // Committed at once, as the replica layer does for an ISR of one (the cleaner stays below the HW).
  if (commitOnPut) log.updateHighWatermark(log.logEndOffset);
  return result.baseOffset;
}

/** Whether `put` moves the high watermark to the log end (false: records stay uncommitted). */
let commitOnPut = true;

/** Every record from the log start, as a consumer from the beginning sees it. */
function readAll(log: Log): { offset: bigint; key: string; value: string | null }[] {
  const out: { offset: bigint; key: string; value: string | null }[] = [];
  let cursor = log.logStartOffset;
  while (cursor < log.logEndOffset) {
    const read = log.read(cursor, 1 << 20);
    try {
      let advanced = false;
      for (const chunk of read.chunks) {
        for (const batch of batchesIn(chunk)) {
          const plain = inflateBatch(batch.bytes, batch.header, 1 << 26);
          for (const record of decodeLogRecords(plain.batch, plain.header)!) {
            if (record.offset < cursor) continue;
            out.push({ offset: record.offset, key: text.decode(record.key!), value: record.value === null ? null : text.decode(record.value) });
          }
          cursor = batch.header.baseOffset + BigInt(batch.header.lastOffsetDelta) + 1n;
          advanced = true;
        }
      }
      if (!advanced) break;
    } finally {
      read.release();
    }
  }
  return out;
}

/** Latest value per key (tombstone = deleted) computed from what was written: the oracle. */
function latestOf(history: { offset: bigint; key: string; value: string | null }[]): Map<string, { offset: bigint; value: string }> {
  const latest = new Map<string, { offset: bigint; value: string | null }>();
  for (const entry of history) latest.set(entry.key, { offset: entry.offset, value: entry.value });
  const live = new Map<string, { offset: bigint; value: string }>();
  for (const [key, entry] of latest) if (entry.value !== null) live.set(key, { offset: entry.offset, value: entry.value });
  return live;
}

/** Writes rounds of updates over `keys` keys, deleting every 7th key in the last round. */
async function writeHistory(log: Log, keys: number, rounds: number) {
  for (let round = 0; round < rounds; round++) {
    for (let first = 0; first < keys; first += 10) {
      const entries: [string, string | null][] = [];
      for (let key = first; key < Math.min(first + 10, keys); key++) {
        entries.push([`key-${key}`, round === rounds - 1 && key % 7 === 0 ? null : `value-${key}-round-${round}-${"x".repeat(40)}`]);
      }
      await put(log, entries);
    }
  }
  await rollAndSync(log);
}

/** A batch too big for the current segment starts a new active segment; then sync, so that every
 * sealed segment is cleanable. */
async function rollAndSync(log: Log): Promise<void> {
  // Random hex: too big for the current segment even when compressed.
  await put(log, [["tail", Buffer.from(crypto.getRandomValues(new Uint8Array(2500))).toString("hex")]]);
  await log.flush();
}

function cleanerFor(log: Log, crashPoint?: (point: CleanerCrashPoint, base: bigint) => void): LogCleaner {
  return new LogCleaner({ logs: () => [log], fs: realFs, native, backoffMs: 1000, sliceBytes: 2048, crashPoint });
}

test("never compacts above the high watermark: segments not committed on every in-sync replica stay as they are", async () => {
  const log = await openLog(freshDir(), topicConfig());
  commitOnPut = false;
  try {
    await writeHistory(log, 50, 6);
  } finally {
    commitOnPut = true;
  }
  expect(log.highWatermark).toBe(0n);
  const before = readAll(log);
  // Nothing is committed: nothing is cleanable.
  expect(await cleanerFor(log).cleanLog(log, true)).toBeNull();
  expect(readAll(log)).toEqual(before);
  // Committed up to the middle: only the sealed segments wholly below it are cleaned.
  const middle = before[Math.floor(before.length / 2)]!.offset;
  log.updateHighWatermark(middle);
  const stats = await cleanerFor(log).cleanLog(log, true);
  expect(stats).not.toBeNull();
  expect(stats!.cleanableEnd).toBeLessThanOrEqual(middle);
  expect(readAll(log).filter((entry) => entry.offset >= middle)).toEqual(before.filter((entry) => entry.offset >= middle));
  await log.close();
});

test("keeps exactly the latest value of each live key, drops deleted keys, keeps offsets", async () => {
  const dataDir = freshDir();
  const log = await openLog(dataDir, topicConfig());
  await writeHistory(log, 50, 6);
  const before = readAll(log);
  const segmentsBefore = log.segmentCount;
  expect(segmentsBefore).toBeGreaterThan(5);
  const oracle = latestOf(before);
  const stats = await cleanerFor(log).cleanLog(log);
  expect(stats).not.toBeNull();
  expect(stats!.recordsRemoved).toBeGreaterThan(200);
  expect(stats!.tombstonesRemoved).toBe(8);
  const after = readAll(log);
  // Each live key once, at its original offset, with its latest value; deleted keys gone.
  const seen = new Map(after.map((entry) => [entry.key, entry]));
  expect(seen.size).toBe(after.length);
  expect(after.length).toBe(oracle.size);
  for (const [key, expected] of oracle) {
    expect(seen.get(key)?.value).toBe(expected.value);
    expect(seen.get(key)?.offset).toBe(expected.offset);
  }
  // Offsets strictly increase (gaps are fine) and the log end did not move.
  for (let index = 1; index < after.length; index++) expect(after[index]!.offset > after[index - 1]!.offset).toBe(true);
  expect(log.logEndOffset).toBe(before.at(-1)!.offset + 1n);
  expect(log.segmentCount).toBe(segmentsBefore);
  expect(log.sizeBytes).toBeLessThan(4096 * 3);

  // Appends and reads continue; a reopen (recovery) sees the same cleaned log.
  await put(log, [["key-1", "newest"]]);
  await log.close();
  const reopened = await openLog(dataDir, topicConfig());
  const reread = readAll(reopened);
  expect(reread.at(-1)).toEqual({ offset: log.logEndOffset - 1n, key: "key-1", value: "newest" });
  expect(reread.at(-2)!.key).toBe("tail");
  expect(reread.slice(0, -1)).toEqual(after);
  await reopened.close();
  expect(readdirSync(join(dataDir, "changelog-0")).filter((name) => name.endsWith(".cleaned") || name.endsWith(".swap"))).toEqual([]);
});

test("tombstones stay until delete.retention.ms has passed", async () => {
  const log = await openLog(freshDir(), topicConfig({ "delete.retention.ms": 3_600_000 }));
  await writeHistory(log, 30, 3);
  await cleanerFor(log).cleanLog(log);
  const after = readAll(log);
  const tombstones = after.filter((entry) => entry.value === null).map((entry) => entry.key).sort();
  expect(tombstones).toEqual(["key-0", "key-14", "key-21", "key-28", "key-7"]);
  // Older versions of deleted keys are gone even though the tombstone stays.
  expect(after.filter((entry) => entry.key === "key-7").length).toBe(1);
  await log.close();
});

test("the active segment and min.compaction.lag.ms are respected", async () => {
  const log = await openLog(freshDir(), topicConfig({ "min.compaction.lag.ms": 3_600_000 }));
  await writeHistory(log, 30, 3);
  const before = readAll(log);
  expect(await cleanerFor(log).cleanLog(log)).toBeNull(); // every record is younger than the lag
  expect(readAll(log)).toEqual(before);
  await log.close();

  // Old records (timestamps two hours back) are cleanable; the active segment is never touched.
  const aged = await openLog(freshDir(), topicConfig({ "min.compaction.lag.ms": 3_600_000 }));
  const old = BigInt(Date.now() - 7_200_000);
  for (let round = 0; round < 40; round++) await put(aged, [["a", `old-${round}-${"y".repeat(200)}`]], old);
  await rollAndSync(aged);
  await put(aged, [["a", "new"], ["a", "newer"]]);
  const stats = await cleanerFor(aged).cleanLog(aged);
  expect(stats).not.toBeNull();
  const values = readAll(aged).map((entry) => entry.value?.slice(0, 10));
  // The offset map covers only the cleanable (sealed) segments, so the newest sealed version of
  // "a" stays beside the active segment's records, which are never touched.
  expect(values.length).toBe(4);
  expect([values[0], values[2], values[3]]).toEqual(["old-39-yyy", "new", "newer"]);
  await aged.close();
});

test("min.cleanable.dirty.ratio: a clean log is not cleaned again until enough is dirty", async () => {
  const log = await openLog(freshDir(), topicConfig({ "min.cleanable.dirty.ratio": 0.9 }));
  await writeHistory(log, 40, 4);
  const cleaner = cleanerFor(log);
  expect(cleaner.plan(log)).not.toBeNull(); // all dirty at first
  expect((await cleaner.cleanOnce()).length).toBe(1);
  expect(cleaner.plan(log)).toBeNull(); // everything cleaned: ratio 0
  await log.close();
});

/** The dirty share of a log's cleanable segments, as min.cleanable.dirty.ratio measures it. */
function dirtyShare(cleaner: LogCleaner, log: Log): number {
  const firstDirty = cleaner.firstDirtyOffset(log);
  let total = 0;
  let dirty = 0;
  for (const segment of log.cleanableSegments()) {
    total += segment.sizeBytes;
    if (segment.nextOffset > firstDirty) dirty += segment.sizeBytes;
  }
  return total === 0 ? 0 : dirty / total;
}

test("min.cleanable.dirty.ratio: a cleaned log is cleaned again only once its dirty share reaches the ratio", async () => {
  const log = await openLog(freshDir(), topicConfig({ "min.cleanable.dirty.ratio": 0.5 }));
  await writeHistory(log, 200, 3);
  const cleaner = cleanerFor(log);
  expect((await cleaner.cleanOnce()).length).toBe(1);
  // A little new data: dirty, but below half of the cleanable bytes.
  await put(log, [["key-1", "small update"], ["key-2", "small update"]]);
  await rollAndSync(log);
  const small = dirtyShare(cleaner, log);
  expect(small).toBeGreaterThan(0);
  expect(small).toBeLessThan(0.5);
  expect(cleaner.plan(log)).toBeNull();
  expect(await cleaner.cleanOnce()).toEqual([]);
  // Much more new data: the dirty share passes the ratio and the next pass cleans.
  await writeHistory(log, 200, 3);
  const large = dirtyShare(cleaner, log);
  expect(large).toBeGreaterThanOrEqual(0.5);
  expect(cleaner.plan(log)).toMatchObject({ forced: false });
  expect(cleaner.plan(log)!.dirtyRatio).toBeCloseTo(large, 6);
  expect((await cleaner.cleanOnce()).length).toBe(1);
  await log.close();
});

test("max.compaction.lag.ms: a dirty part older than the lag is cleaned whatever the ratio", async () => {
  const twoHoursLater = { nowMs: () => Date.now() + 7_200_000, monotonicMs: () => performance.now() };
  const run = async (maxLagMs: number | undefined) => {
    const overrides: Partial<TopicConfig> = { "min.cleanable.dirty.ratio": 0.99 };
    if (maxLagMs !== undefined) overrides["max.compaction.lag.ms"] = maxLagMs;
    const log = await openLog(freshDir(), topicConfig(overrides));
    await writeHistory(log, 100, 3);
    expect((await cleanerFor(log).cleanOnce()).length).toBe(1);
    await put(log, [["key-3", "late update"]]);
    await rollAndSync(log);
    // Now: far below the ratio, and younger than any lag.
    expect(cleanerFor(log).plan(log)).toBeNull();
    // Two hours on, the same dirty part.
    const later = new LogCleaner({ logs: () => [log], fs: realFs, native, backoffMs: 1000, sliceBytes: 2048, clock: twoHoursLater });
    const plan = later.plan(log);
    const cleaned = await later.cleanOnce();
    const values = new Map(readAll(log).map((entry) => [entry.key, entry.value]));
    await log.close();
    return { plan, cleaned, values };
  };
  const due = await run(3_600_000);
  expect(due.plan).toMatchObject({ forced: true });
  expect(due.plan!.dirtyRatio).toBeLessThan(0.99);
  expect(due.cleaned.length).toBe(1);
  expect(due.cleaned[0]!.segmentsRewritten).toBeGreaterThan(0);
  expect(due.values.get("key-3")).toBe("late update");
  // Without max.compaction.lag.ms (default: never), the ratio alone decides: nothing is cleaned.
  const never = await run(undefined);
  expect(never.plan).toBeNull();
  expect(never.cleaned).toEqual([]);
});

test("delete.retention.ms: tombstones kept while younger, removed by a cleaning after it has passed", async () => {
  const log = await openLog(freshDir(), topicConfig({ "delete.retention.ms": 3_600_000 }));
  await writeHistory(log, 30, 3);
  await cleanerFor(log).cleanLog(log);
  const tombstonesOf = () => readAll(log).filter((entry) => entry.value === null).map((entry) => entry.key).sort();
  expect(tombstonesOf()).toEqual(["key-0", "key-14", "key-21", "key-28", "key-7"]);
  // 30 minutes on: still within delete.retention.ms.
  const at = (offsetMs: number) =>
    new LogCleaner({ logs: () => [log], fs: realFs, native, backoffMs: 1000, sliceBytes: 2048, clock: { nowMs: () => Date.now() + offsetMs, monotonicMs: () => performance.now() } });
  await at(1_800_000).cleanLog(log, true);
  expect(tombstonesOf()).toEqual(["key-0", "key-14", "key-21", "key-28", "key-7"]);
  // Two hours on: past it; the deleted keys disappear entirely, live keys keep their latest value.
  const stats = await at(7_200_000).cleanLog(log, true);
  expect(stats!.tombstonesRemoved).toBe(5);
  expect(tombstonesOf()).toEqual([]);
  const keys = new Set(readAll(log).map((entry) => entry.key));
  for (const deleted of ["key-0", "key-7", "key-14", "key-21", "key-28"]) expect(keys.has(deleted)).toBe(false);
  expect(keys.has("key-1")).toBe(true);
  await log.close();
});

test("cleanup.policy compact,delete is cleaned; delete alone is not", async () => {
  const both = await openLog(freshDir(), topicConfig({ "cleanup.policy": ["compact", "delete"] }));
  await writeHistory(both, 30, 3);
  const oracle = latestOf(readAll(both));
  const cleaned = await cleanerFor(both).cleanOnce();
  expect(cleaned.length).toBe(1);
  expect(cleaned[0]!.recordsRemoved).toBeGreaterThan(0);
  expect(new Map(readAll(both).map((entry) => [entry.key, entry.value]))).toEqual(new Map([...oracle].map(([key, entry]) => [key, entry.value])));
  await both.close();
  const deleteOnly = await openLog(freshDir(), topicConfig({ "cleanup.policy": ["delete"] }));
  await writeHistory(deleteOnly, 30, 3);
  const before = readAll(deleteOnly);
  expect(await cleanerFor(deleteOnly).cleanOnce()).toEqual([]);
  expect(readAll(deleteOnly)).toEqual(before);
  await deleteOnly.close();
});

test("appends and reads go on while the cleaner works on the same log", async () => {
  const log = await openLog(freshDir(), topicConfig());
  await writeHistory(log, 300, 4);
  const cleaner = new LogCleaner({ logs: () => [log], fs: realFs, native, backoffMs: 1000, sliceBytes: 512 });
  let finished = false;
  const cleaning = cleaner.cleanLog(log).then((stats) => {
    finished = true;
    return stats;
  });
  let appendedDuring = 0;
  let readsDuring = 0;
  for (let index = 0; index < 20; index++) {
    await put(log, [["during", `v${index}`]]);
    if (!finished) appendedDuring++;
    const read = log.read(log.logStartOffset, 4096);
    expect(read.chunks.length).toBeGreaterThan(0);
    read.release();
    if (!finished) readsDuring++;
  }
  expect(appendedDuring).toBeGreaterThan(0);
  expect(readsDuring).toBeGreaterThan(0);
  const stats = await cleaning;
  expect(stats!.segmentsRewritten).toBeGreaterThan(0);
  const final = new Map(readAll(log).map((entry) => [entry.key, entry.value]));
  expect(final.get("during")).toBe("v19");
  expect(final.get("key-1")).toBe(`value-1-round-3-${"x".repeat(40)}`);
  expect(final.has("key-7")).toBe(false);
  await log.close();
});

test("reads that hold views across a segment swap stay valid", async () => {
  const log = await openLog(freshDir(), topicConfig());
  await writeHistory(log, 40, 4);
  const held = log.read(log.logStartOffset, 1 << 20);
  const copy = held.chunks.map((chunk) => chunk.slice());
  const sizeBefore = log.sizeBytes;
  const stats = await cleanerFor(log).cleanLog(log);
  // The swap did happen under the held views: segments were rewritten and the log shrank.
  expect(stats!.segmentsRewritten).toBeGreaterThan(0);
  expect(stats!.recordsRemoved).toBeGreaterThan(0);
  expect(log.sizeBytes).toBeLessThan(sizeBefore);
  expect(held.chunks.map((chunk) => chunk.slice())).toEqual(copy);
  held.release();
  await log.close();
});

for (const point of ["cleaned-written", "swap-renamed"] as const) {
  test(`a crash at ${point} leaves a readable, correct log`, async () => {
    const dataDir = freshDir();
    const log = await openLog(dataDir, topicConfig());
    await writeHistory(log, 40, 5);
    const oracle = latestOf(readAll(log));
    const end = log.logEndOffset;
    let crashed = false;
    const cleaner = cleanerFor(log, (reached, base) => {
      // Crash while rewriting the second segment: the first is already swapped in.
      if (reached === point && base > 0n && !crashed) {
        crashed = true;
        throw new Error(`simulated crash at ${point}`);
      }
    });
    await expect(cleaner.cleanLog(log)).rejects.toThrow("simulated crash");
    const directory = join(dataDir, "changelog-0");
    const leftovers = readdirSync(directory).filter((name) => name.endsWith(".cleaned") || name.endsWith(".swap"));
    expect(leftovers.length).toBe(1);
    // The process dies here: nothing else runs. Reopen the directory as recovery does.
    const reopened = await openLog(dataDir, topicConfig());
    expect(readdirSync(directory).filter((name) => name.endsWith(".cleaned") || name.endsWith(".swap"))).toEqual([]);
    expect(existsSync(join(directory, leftovers[0]!))).toBe(false);
    expect(reopened.logEndOffset).toBe(end);
    const after = readAll(reopened);
    // Latest value per key is what a consumer ends up with; deleted keys may linger (not cleaned yet).
    const final = new Map<string, string | null>();
    for (const entry of after) final.set(entry.key, entry.value);
    for (const [key, expected] of oracle) expect(final.get(key)).toBe(expected.value);
    // A full cleaning after recovery reaches the same result as an uninterrupted one.
    await put(reopened, [["after", "crash"]]);
    await reopened.flush();
    expect(reopened.cleanableSegments().length).toBe(reopened.segmentCount - 1);
    await cleanerFor(reopened).cleanLog(reopened);
    const cleaned = readAll(reopened);
    const expected = new Map([...oracle].map(([key, entry]) => [key, entry.value as string | null]));
    expected.set("after", "crash");
    expect(new Map(cleaned.map((entry) => [entry.key, entry.value]))).toEqual(expected);
    expect(cleaned.length).toBe(expected.size);
    await reopened.close();
    await log.close().catch(() => {});
  });
}

for (const [name, compression] of [["gzip", 1], ["snappy", 2], ["lz4", 3], ["zstd", 4]] as const) {
  test(`${name} batches are inflated, filtered and compressed again`, async () => {
    codec = compression;
    try {
      const log = await openLog(freshDir(), topicConfig({ "segment.bytes": 1024 }));
      await writeHistory(log, 30, 4);
      expect(log.segmentCount).toBeGreaterThan(3);
      const oracle = latestOf(readAll(log));
      const stats = await cleanerFor(log).cleanLog(log);
      expect(stats!.recordsRemoved).toBeGreaterThan(80);
      const after = readAll(log);
      expect(new Map(after.map((entry) => [entry.key, entry.value]))).toEqual(new Map([...oracle].map(([key, entry]) => [key, entry.value as string | null])));
      expect(after.length).toBe(oracle.size);
      // The rewritten batches are still compressed with the producer's codec.
      const read = log.read(log.logStartOffset, 1 << 20);
      for (const chunk of read.chunks) for (const batch of batchesIn(chunk)) expect(batch.header.attributes & 7).toBe(compression);
      read.release();
      await log.close();
    } finally {
      codec = 0;
    }
  });
}
