// The storage conformance suite: one set of tests for the partition log, run once per NativeApi
// implementation (the C library with mapped zero-copy reads, and the pure-TS fallback with
// pread/pwrite). Real files in a temporary directory; time is injected where retention needs it.

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBrokerConfig, topicDefaults, type TopicConfig } from "../../src/config/index.ts";
import type { NativeApi } from "../../src/native/types.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { createLogManager, openPartitionLog, realFs, type Log, type OpenPartitionLogOptions, type StorageFs } from "../../src/storage/index.ts";
import { checkedText } from "../../src/storage/checkpoint.ts";
import type { BatchProducerInfo, ProducerStateManager, ReadResult } from "../../src/storage/types.ts";
import type { Logger } from "../../src/util/logger.ts";
import { buildBatch, concat, simpleBatch, splitBatches } from "./batches.ts";

const brokerConfig = loadBrokerConfig({}).values;
const defaults = topicDefaults(brokerConfig);

export function topicConfig(overrides: Partial<TopicConfig> = {}): TopicConfig {
  return { ...defaults, ...overrides };
}

/** A logger that records warnings (recovery reports what it cut) and prints nothing. */
export function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const logger: Logger & { warnings: string[] } = {
    warnings,
    error: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields ?? {})}`),
    warn: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields ?? {}, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`),
    info: () => {},
    debug: () => {},
    child: () => logger,
  };
  return logger;
}

export function manualClock(startMs: number) {
  let now = startMs;
  return {
    nowMs: () => now,
    monotonicMs: () => now,
    advance(ms: number) {
      now += ms;
    },
    set(ms: number) {
      now = ms;
    },
  };
}

function readAll(result: ReadResult): Uint8Array {
  const bytes = concat(result.chunks);
  result.release();
  return bytes;
}

function kafkaCode(error: unknown): number | undefined {
  return error instanceof KafkaError ? error.code : undefined;
}

async function expectKafkaError(promise: Promise<unknown> | (() => unknown), code: number): Promise<void> {
  try {
    if (typeof promise === "function") await promise();
    else await promise;
  } catch (error) {
    expect(kafkaCode(error) ?? String(error)).toBe(code);
    return;
  }
  throw new Error(`expected KafkaError ${code}, nothing was thrown`);
}

function verifyCrcs(native: NativeApi, bytes: Uint8Array): void {
  for (const batch of splitBatches(bytes)) {
    const view = new DataView(batch.bytes.buffer, batch.bytes.byteOffset);
    expect(native.crc32c(batch.bytes.subarray(21))).toBe(view.getUint32(17));
  }
}

export function defineConformanceSuite(label: string, native: NativeApi): void {
  describe(`partition log conformance (${label})`, () => {
    let dataDir: string;
    const opened: Log[] = [];

    beforeEach(() => {
      dataDir = mkdtempSync(join(tmpdir(), `runnel-storage-${label}-`));
    });
    afterEach(async () => {
      for (const log of opened.splice(0)) if (!log.isClosed) await log.close().catch(() => {});
      rmSync(dataDir, { recursive: true, force: true });
    });

    async function open(overrides: Partial<TopicConfig> = {}, extra: Partial<OpenPartitionLogOptions> = {}): Promise<Log> {
      const log = await openPartitionLog({
        dataDir,
        topic: "events",
        partition: 0,
        config: topicConfig(overrides),
        native,
        logger: recordingLogger(),
        ...extra,
      });
      opened.push(log);
      return log;
    }

    const partitionDir = () => join(dataDir, "events-0");

    test("append and read round trip byte-exact, offsets assigned in order", async () => {
      const log = await open();
      const batches = [simpleBatch(native, 3), simpleBatch(native, 1), simpleBatch(native, 5)];
      const results = [];
      for (const batch of batches) results.push(await log.append(batch));
      expect(results.map((result) => [result.baseOffset, result.lastOffset])).toEqual([[0n, 2n], [3n, 3n], [4n, 8n]]);
      expect(results.every((result) => !result.duplicate && result.logAppendTimeMs === -1n)).toBe(true);
      expect(log.logEndOffset).toBe(9n);
      // The high watermark is the replica layer's to move; an append alone leaves it.
      expect(log.highWatermark).toBe(0n);
      expect(log.updateHighWatermark(9n)).toBe(9n);
      expect(log.logStartOffset).toBe(0n);
      // The stored bytes are the client's bytes with baseOffset stamped (outside the CRC).
      const read = log.read(0n, 1 << 20);
      expect(read.logEndOffset).toBe(9n);
      const bytes = readAll(read);
      expect(bytes).toEqual(concat(batches));
      expect(splitBatches(bytes).map((batch) => batch.baseOffset)).toEqual([0n, 3n, 4n]);
      verifyCrcs(native, bytes);
      expect(log.sizeBytes).toBe(bytes.length);
    });

    test("several batches in one append; reads start at the batch holding the offset", async () => {
      const log = await open();
      const batches = [simpleBatch(native, 2), simpleBatch(native, 2), simpleBatch(native, 2)];
      const result = await log.append(concat(batches));
      expect([result.baseOffset, result.lastOffset]).toEqual([0n, 5n]);
      // Offset 3 is the second record of the second batch: the read starts at that batch.
      const fromMiddle = splitBatches(readAll(log.read(3n, 1 << 20)));
      expect(fromMiddle.map((batch) => batch.baseOffset)).toEqual([2n, 4n]);
      // maxBytes smaller than one batch: the first batch comes whole anyway.
      const tiny = splitBatches(readAll(log.read(0n, 1)));
      expect(tiny.map((batch) => batch.baseOffset)).toEqual([0n]);
      // maxBytes of exactly two batches.
      const two = splitBatches(readAll(log.read(0n, batches[0]!.length + batches[1]!.length)));
      expect(two.map((batch) => batch.baseOffset)).toEqual([0n, 2n]);
      // maxOffset stops before batches that reach it.
      const bounded = splitBatches(readAll(log.read(0n, 1 << 20, 4n)));
      expect(bounded.map((batch) => batch.baseOffset)).toEqual([0n, 2n]);
      // At the log end offset: nothing, no error; past it: OFFSET_OUT_OF_RANGE.
      const atEnd = log.read(6n, 1000);
      expect(atEnd.chunks.length).toBe(0);
      atEnd.release();
      await expectKafkaError(() => log.read(7n, 1000), ErrorCode.OFFSET_OUT_OF_RANGE);
    });

    test("index lookups across many small segments", async () => {
      const log = await open({ "segment.bytes": 2048, "index.interval.bytes": 300 });
      const expected: Uint8Array[] = [];
      for (let index = 0; index < 150; index++) {
        const batch = simpleBatch(native, 1 + (index % 4), { prefix: `b${index}`, valueBytes: 20 + (index % 7) * 10 });
        await log.append(batch);
        expected.push(batch);
      }
      expect(log.segmentCount).toBeGreaterThan(10);
      const names = readdirSync(partitionDir()).filter((name) => name.endsWith(".log")).sort();
      expect(names[0]).toBe("00000000000000000000.log");
      expect(names.every((name) => /^\d{20}\.log$/.test(name))).toBe(true);
      expect(names.map((name) => BigInt(name.slice(0, 20)))).toEqual(log.segmentBaseOffsets());
      const all = splitBatches(concat(expected));
      for (let offset = 0n; offset < log.logEndOffset; offset++) {
        const first = splitBatches(readAll(log.read(offset, 1)))[0]!;
        expect(first.baseOffset <= offset && first.lastOffset >= offset).toBe(true);
        const original = all.find((batch) => batch.baseOffset === first.baseOffset)!;
        expect(first.bytes).toEqual(original.bytes);
      }
      // A large read crosses segments and returns every batch in order.
      const everything = readAll(log.read(0n, 1 << 24));
      expect(everything).toEqual(concat(expected));
      await log.close();
      // Sealed segments got their index files.
      const indexes = readdirSync(partitionDir()).filter((name) => name.endsWith(".index"));
      expect(indexes.length).toBe(names.length);
    });

    test("offsetForTimestamp and maxTimestampOffset", async () => {
      const log = await open({ "segment.bytes": 1024, "index.interval.bytes": 100 });
      const base = 1_700_000_000_000n;
      // Timestamps rise by 1000 per batch, with one out-of-order batch in the middle.
      const timestamps: bigint[] = [];
      for (let index = 0; index < 40; index++) {
        const timestamp = index === 20 ? base + 5_500n : base + BigInt(index) * 1000n;
        timestamps.push(timestamp);
        await log.append(simpleBatch(native, 2, { timestampMs: timestamp, valueBytes: 40 }));
      }
      expect(log.segmentCount).toBeGreaterThan(3);
      for (let index = 0; index < 40; index++) {
        const target = base + BigInt(index) * 1000n;
        // Expected: the first batch whose max timestamp >= target.
        const batchIndex = timestamps.findIndex((timestamp) => timestamp >= target);
        const found = log.offsetForTimestamp(target);
        expect(found).not.toBeNull();
        expect(found!.offset).toBe(BigInt(batchIndex * 2));
        expect(found!.timestamp).toBe(timestamps[batchIndex]!);
      }
      expect(log.offsetForTimestamp(base - 1n)!.offset).toBe(0n);
      expect(log.offsetForTimestamp(base + 100_000n)).toBeNull();
      expect(log.maxTimestampOffset()).toEqual({ offset: 78n, timestamp: base + 39_000n });
    });

    test("a bad CRC, bad magic or bad length is refused and leaves the log unchanged", async () => {
      const log = await open();
      await log.append(simpleBatch(native, 2));
      const sizeBefore = log.sizeBytes;
      const fileBefore = statSync(join(partitionDir(), "00000000000000000000.log")).size;

      const flipped = simpleBatch(native, 3);
      flipped[flipped.length - 2]! ^= 0x10;
      await expectKafkaError(log.append(flipped), ErrorCode.CORRUPT_MESSAGE);

      const badMagic = simpleBatch(native, 1);
      badMagic[16] = 1;
      await expectKafkaError(log.append(badMagic), ErrorCode.CORRUPT_MESSAGE);

      const short = simpleBatch(native, 2).subarray(0, 40);
      await expectKafkaError(log.append(short), ErrorCode.CORRUPT_MESSAGE);

      const lying = simpleBatch(native, 2);
      new DataView(lying.buffer).setInt32(8, lying.length + 100);
      await expectKafkaError(log.append(lying), ErrorCode.CORRUPT_MESSAGE);

      // A good batch followed by a corrupt one: neither is appended.
      const good = simpleBatch(native, 1);
      const bad = simpleBatch(native, 1);
      bad[bad.length - 1]! ^= 1;
      await expectKafkaError(log.append(concat([good, bad])), ErrorCode.CORRUPT_MESSAGE);

      expect(log.logEndOffset).toBe(2n);
      expect(log.sizeBytes).toBe(sizeBefore);
      expect(statSync(join(partitionDir(), "00000000000000000000.log")).size).toBe(fileBefore);
      const next = await log.append(simpleBatch(native, 1));
      expect(next.baseOffset).toBe(2n);
    });

    test("MESSAGE_TOO_LARGE for a batch above max.message.bytes", async () => {
      const log = await open({ "max.message.bytes": 500 });
      await log.append(simpleBatch(native, 1, { valueBytes: 100 }));
      await expectKafkaError(log.append(simpleBatch(native, 1, { valueBytes: 600 })), ErrorCode.MESSAGE_TOO_LARGE);
      expect(log.logEndOffset).toBe(1n);
      log.updateConfig(topicConfig({ "max.message.bytes": 2000 }));
      expect((await log.append(simpleBatch(native, 1, { valueBytes: 600 }))).baseOffset).toBe(1n);
    });

    test("LogAppendTime rewrites maxTimestamp and the CRC", async () => {
      const clock = manualClock(1_800_000_000_000);
      const log = await open({ "message.timestamp.type": "LogAppendTime" }, { clock });
      const result = await log.append(simpleBatch(native, 2, { timestampMs: 5n }));
      expect(result.logAppendTimeMs).toBe(1_800_000_000_000n);
      const bytes = readAll(log.read(0n, 1 << 20));
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      expect(view.getBigInt64(35)).toBe(1_800_000_000_000n);
      expect(view.getInt16(21) & 0x08).toBe(0x08);
      verifyCrcs(native, bytes);
      const explicit = await log.append(simpleBatch(native, 1), { logAppendTimeMs: 42n, leaderEpoch: 7 });
      expect(explicit.logAppendTimeMs).toBe(42n);
      const second = readAll(log.read(2n, 1 << 20));
      expect(new DataView(second.buffer, second.byteOffset).getInt32(12)).toBe(7);
      verifyCrcs(native, second);
    });

    test("truncateTo removes everything at or after an offset, across segments", async () => {
      const log = await open({ "segment.bytes": 1024, "index.interval.bytes": 100 });
      const batches: Uint8Array[] = [];
      for (let index = 0; index < 60; index++) {
        const batch = simpleBatch(native, 2, { prefix: `t${index}`, valueBytes: 30 });
        batches.push(batch);
        await log.append(batch);
      }
      const segmentsBefore = log.segmentCount;
      expect(segmentsBefore).toBeGreaterThan(4);
      // Offset 51 is inside batch 25 (offsets 50-51): the whole batch goes.
      await log.truncateTo(51n);
      expect(log.logEndOffset).toBe(50n);
      expect(log.segmentCount).toBeLessThan(segmentsBefore);
      expect(readAll(log.read(0n, 1 << 24))).toEqual(concat(batches.slice(0, 25)));
      const onDisk = readdirSync(partitionDir()).filter((name) => name.endsWith(".log")).length;
      expect(onDisk).toBe(log.segmentCount);
      // Appends continue at the new end.
      const next = simpleBatch(native, 3, { prefix: "after" });
      expect((await log.append(next)).baseOffset).toBe(50n);
      expect(splitBatches(readAll(log.read(50n, 1 << 20)))[0]!.bytes).toEqual(next);
      // Truncating past the end does nothing; to 0 empties the log.
      await log.truncateTo(1000n);
      expect(log.logEndOffset).toBe(53n);
      await log.truncateTo(0n);
      expect(log.logEndOffset).toBe(0n);
      expect(log.segmentCount).toBe(1);
      expect((await log.append(simpleBatch(native, 1))).baseOffset).toBe(0n);
      await log.close();
      const reopened = await open({ "segment.bytes": 1024 });
      expect(reopened.logEndOffset).toBe(1n);
    });

    test("truncateFullyAndStartAt empties the log and starts it anywhere, above or below its end; a reopen keeps it", async () => {
      const log = await open({ "segment.bytes": 1024 });
      for (let index = 0; index < 20; index++) await log.append(simpleBatch(native, 2, { valueBytes: 30 }), { leaderEpoch: 3 });
      log.updateHighWatermark(40n);
      await log.truncateFullyAndStartAt(100n);
      expect([log.logStartOffset, log.logEndOffset, log.highWatermark, log.segmentCount]).toEqual([100n, 100n, 100n, 1]);
      expect(log.epochEntries()).toEqual([]);
      expect(readdirSync(partitionDir()).filter((name) => name.endsWith(".log"))).toEqual(["00000000000000000100.log"]);
      expect((await log.append(simpleBatch(native, 2), { leaderEpoch: 4 })).baseOffset).toBe(100n);
      await log.close();
      let reopened = await open({ "segment.bytes": 1024 });
      expect([reopened.logStartOffset, reopened.logEndOffset]).toEqual([100n, 102n]);
      expect(reopened.epochEntries()).toEqual([{ epoch: 4, startOffset: 100n }]);
      await reopened.truncateFullyAndStartAt(7n);
      expect([reopened.logStartOffset, reopened.logEndOffset]).toEqual([7n, 7n]);
      await reopened.close();
      reopened = await open({ "segment.bytes": 1024 });
      expect([reopened.logStartOffset, reopened.logEndOffset]).toEqual([7n, 7n]);
      await reopened.close();
    });

    test("deleteRecordsBefore advances the log start offset and deletes whole segments", async () => {
      const log = await open({ "segment.bytes": 1024 });
      for (let index = 0; index < 40; index++) await log.append(simpleBatch(native, 2, { valueBytes: 40 }));
      const segmentsBefore = log.segmentCount;
      const start = await log.deleteRecordsBefore(45n);
      expect(start).toBe(45n);
      expect(log.logStartOffset).toBe(45n);
      expect(log.segmentCount).toBeLessThan(segmentsBefore);
      expect(log.segmentBaseOffsets()[0]! <= 45n).toBe(true);
      await expectKafkaError(() => log.read(44n, 100), ErrorCode.OFFSET_OUT_OF_RANGE);
      const first = splitBatches(readAll(log.read(45n, 1)))[0]!;
      expect(first.baseOffset).toBe(44n); // whole batches: the one holding 45
      // Lower than the current start: unchanged. Beyond the high watermark: refused.
      expect(await log.deleteRecordsBefore(10n)).toBe(45n);
      await expectKafkaError(log.deleteRecordsBefore(81n), ErrorCode.OFFSET_OUT_OF_RANGE);
      // Up to the end: the active segment stays, empty of readable records.
      expect(await log.deleteRecordsBefore(80n)).toBe(80n);
      expect(log.segmentCount).toBe(1);
      expect((await log.append(simpleBatch(native, 1))).baseOffset).toBe(80n);
    });

    test("retention by time (injected clock) and by bytes, never the active segment", async () => {
      const clock = manualClock(1_700_000_100_000);
      const manager = createLogManager({ dataDir, brokerConfig, native, clock, logger: recordingLogger(), backgroundTasks: false });
      await manager.open();
      const log = (await manager.create("events", 0, topicConfig({ "segment.bytes": 1024, "retention.ms": 60_000 }))) as Log;
      // 30 batches, timestamps one second apart starting 100 s before "now".
      for (let index = 0; index < 30; index++) {
        await log.append(simpleBatch(native, 1, { timestampMs: 1_700_000_000_000n + BigInt(index) * 1000n, valueBytes: 100 }));
      }
      const segments = log.segmentCount;
      expect(segments).toBeGreaterThan(5);
      // Nothing is older than 60 s yet relative to the segments' newest record? The first ones are.
      let deleted = await manager.runRetention();
      expect(deleted).toBeGreaterThan(0);
      for (const baseOffset of log.segmentBaseOffsets().slice(0, -1)) {
        expect(baseOffset).toBeGreaterThan(0n);
      }
      expect(log.logStartOffset).toBe(log.segmentBaseOffsets()[0]!);
      // Every sealed segment is old an hour later; the active one stays.
      clock.advance(3_600_000);
      deleted = await manager.runRetention();
      expect(log.segmentCount).toBe(1);
      expect(log.logEndOffset).toBe(30n);
      expect((await log.append(simpleBatch(native, 1))).baseOffset).toBe(30n);

      // Retention by bytes on a second partition.
      const sized = (await manager.create("events", 1, topicConfig({ "segment.bytes": 1024, "retention.bytes": 3000, "retention.ms": -1 }))) as Log;
      for (let index = 0; index < 40; index++) await sized.append(simpleBatch(native, 1, { valueBytes: 100 }));
      const before = sized.sizeBytes;
      expect(before).toBeGreaterThan(3000);
      await manager.runRetention();
      expect(sized.sizeBytes).toBeLessThanOrEqual(3000 + 1024);
      expect(sized.sizeBytes).toBeLessThan(before);
      expect(sized.logEndOffset).toBe(40n);
      const firstBatch = splitBatches(readAll(sized.read(sized.logStartOffset, 1)))[0]!;
      expect(firstBatch.baseOffset).toBe(sized.logStartOffset);
      await manager.close();
    });

    test("reopen after a clean close keeps data, offsets and the log start offset", async () => {
      const manager = createLogManager({ dataDir, brokerConfig, native, logger: recordingLogger(), backgroundTasks: false });
      await manager.open();
      const log = (await manager.create("events", 0, topicConfig({ "segment.bytes": 1024 }))) as Log;
      const batches: Uint8Array[] = [];
      for (let index = 0; index < 30; index++) {
        const batch = simpleBatch(native, 2, { prefix: `r${index}`, valueBytes: 50 });
        batches.push(batch);
        await log.append(batch);
      }
      await log.deleteRecordsBefore(3n);
      const segmentsBefore = log.segmentBaseOffsets();
      await manager.close();
      const text = new TextDecoder().decode(realFs.readFile(join(dataDir, "recovery-point-offset-checkpoint"))!);
      expect(text).toMatch(/^0\n1\nevents 0 60\n# crc32c=[0-9a-f]{8}\n$/);

      const logger = recordingLogger();
      const again = createLogManager({
        dataDir,
        brokerConfig,
        native,
        logger,
        backgroundTasks: false,
        topicConfigFor: () => topicConfig({ "segment.bytes": 1024 }),
      });
      await again.open();
      await again.openFound();
      const reopened = again.getLog("events", 0)!;
      expect(reopened.logEndOffset).toBe(60n);
      expect(reopened.logStartOffset).toBe(3n);
      expect(reopened.segmentBaseOffsets()).toEqual(segmentsBefore);
      expect(readAll(reopened.read(3n, 1 << 24))).toEqual(concat(batches.slice(1)));
      expect(logger.warnings).toEqual([]);
      expect((await reopened.append(simpleBatch(native, 1))).baseOffset).toBe(60n);
      await again.close();
    });

    test("reopen after a torn tail: garbage, zeros and a half-written batch are cut; missing indexes rebuilt", async () => {
      let log = await open({ "segment.bytes": 1024, "index.interval.bytes": 100 });
      const batches: Uint8Array[] = [];
      for (let index = 0; index < 25; index++) {
        const batch = simpleBatch(native, 2, { prefix: `c${index}`, valueBytes: 60 });
        batches.push(batch);
        await log.append(batch);
      }
      await log.close();
      const directory = partitionDir();
      const logs = readdirSync(directory).filter((name) => name.endsWith(".log")).sort();
      const activePath = join(directory, logs[logs.length - 1]!);
      for (const name of readdirSync(directory)) if (name.endsWith(".index") || name.endsWith(".timeindex")) unlinkSync(join(directory, name));

      // 1. Random garbage after the last batch.
      appendFileSync(activePath, new Uint8Array(777).map((_, index) => (index * 37) & 0xff));
      let logger = recordingLogger();
      log = await open({ "segment.bytes": 1024, "index.interval.bytes": 100 }, { logger });
      expect(log.logEndOffset).toBe(50n);
      expect(readAll(log.read(0n, 1 << 24))).toEqual(concat(batches));
      expect(logger.warnings.some((line) => line.includes("cutting") && line.includes("777"))).toBe(true);
      for (let offset = 0n; offset < 50n; offset += 7n) {
        const first = splitBatches(readAll(log.read(offset, 1)))[0]!;
        expect(first.baseOffset <= offset && first.lastOffset >= offset).toBe(true);
      }
      await log.close();
      expect(statSync(activePath).size).toBe(
        batches.slice(0, 25).reduce((sum, batch) => sum + batch.length, 0) -
          logs.slice(0, -1).reduce((sum, name) => sum + statSync(join(directory, name)).size, 0),
      );

      // 2. A zero-filled (reserved) tail.
      appendFileSync(activePath, new Uint8Array(4096));
      logger = recordingLogger();
      log = await open({ "segment.bytes": 1024 }, { logger });
      expect(log.logEndOffset).toBe(50n);
      expect(logger.warnings.some((line) => line.includes("4096"))).toBe(true);
      await log.close();

      // 3. The last batch torn in the middle: it is gone, everything before stays.
      const size = statSync(activePath).size;
      truncateSync(activePath, size - 30);
      log = await open({ "segment.bytes": 1024 }, { logger: recordingLogger() });
      expect(log.logEndOffset).toBe(48n);
      expect(readAll(log.read(0n, 1 << 24))).toEqual(concat(batches.slice(0, 24)));
      expect((await log.append(simpleBatch(native, 1))).baseOffset).toBe(48n);
      await log.close();

      // 4. A bit flip inside an earlier batch of the active segment, valid batches after it: not a
      // torn write (nothing valid ever follows one), so nothing is cut. The damaged batch answers
      // CORRUPT_MESSAGE, every other batch is served, and the damage is logged.
      const segmentStart = log.segmentBaseOffsets().at(-1)!;
      const endBefore = log.logEndOffset;
      const stored = realFs.readFile(activePath)!;
      const flipped = new Uint8Array(stored);
      flipped[70]! ^= 0x40;
      writeFileSync(activePath, flipped);
      logger = recordingLogger();
      log = await open({ "segment.bytes": 1024 }, { logger });
      expect(log.logEndOffset).toBeGreaterThanOrEqual(endBefore);
      expect(logger.warnings.some((line) => line.includes("CRC") && line.includes("damaged"))).toBe(true);
      expect(() => log.read(segmentStart, 1)).toThrow("CORRUPT_MESSAGE");
      const after = splitBatches(readAll(log.read(segmentStart + 2n, 1 << 20)));
      expect(after[0]!.baseOffset).toBe(segmentStart + 2n);
      expect(after.at(-1)!.lastOffset).toBe(endBefore - 1n);
      await log.close();
    });

    test("durable waits for an fdatasync; concurrent appenders share group commits", async () => {
      const gate = gatedFs();
      const log = await open({ "flush.messages": 1 }, { fs: gate.fs });
      const first = await log.append(simpleBatch(native, 1));
      let firstDurable = false;
      void first.durable.then(() => (firstDurable = true));
      await Bun.sleep(0);
      expect(gate.started).toBe(1);
      expect(firstDurable).toBe(false);
      // While the first sync runs, eight more appends: they wait for one more sync together.
      const more = await Promise.all(Array.from({ length: 8 }, () => log.append(simpleBatch(native, 1))));
      let laterDurable = 0;
      for (const result of more) void result.durable.then(() => laterDurable++);
      gate.releaseAll();
      await first.durable;
      expect(firstDurable).toBe(true);
      await waitFor(() => gate.started === 2);
      expect(laterDurable).toBe(0);
      gate.releaseAll();
      await Promise.all(more.map((result) => result.durable));
      expect(laterDurable).toBe(8);
      expect(gate.started).toBe(2);
      expect(log.recoveryPoint).toBe(9n);
      gate.autoRelease = true;
    });

    test("without flush.messages, durable resolves on flush(); a failed sync answers KAFKA_STORAGE_ERROR", async () => {
      const gate = gatedFs();
      gate.autoRelease = true;
      const log = await open({}, { fs: gate.fs });
      const result = await log.append(simpleBatch(native, 2));
      await Bun.sleep(0);
      expect(gate.started).toBe(0);
      expect(log.recoveryPoint).toBe(0n);
      await log.flush();
      await result.durable;
      expect(log.recoveryPoint).toBe(2n);
      gate.failNext = true;
      const doomed = await log.append(simpleBatch(native, 1));
      await expectKafkaError(log.flush(), ErrorCode.KAFKA_STORAGE_ERROR);
      await expectKafkaError(doomed.durable, ErrorCode.KAFKA_STORAGE_ERROR);
      await expectKafkaError(log.append(simpleBatch(native, 1)), ErrorCode.KAFKA_STORAGE_ERROR);
    });

    test("a full disk (ENOSPC on write) answers KAFKA_STORAGE_ERROR and leaves the log usable", async () => {
      const gate = gatedFs();
      gate.autoRelease = true;
      const log = await open({ "segment.bytes": 4096 }, { fs: gate.fs });
      await log.append(simpleBatch(native, 2));
      gate.failWrites = true;
      await expectKafkaError(log.append(simpleBatch(native, 3, { valueBytes: 500 })), ErrorCode.KAFKA_STORAGE_ERROR);
      expect(log.logEndOffset).toBe(2n);
      gate.failWrites = false;
      // Reserving space (fallocate, used when segments are mapped) fails the same way.
      gate.failAllocate = true;
      const large = log.append(simpleBatch(native, 1, { valueBytes: 64 * 1024 }));
      if (native.canMap) await expectKafkaError(large, ErrorCode.KAFKA_STORAGE_ERROR);
      else await large; // nothing is reserved without mappings
      gate.failAllocate = false;
      const end = log.logEndOffset;
      expect(end).toBe(native.canMap ? 2n : 3n);
      const next = simpleBatch(native, 1);
      expect((await log.append(next)).baseOffset).toBe(end);
      expect(splitBatches(readAll(log.read(end, 1 << 20)))[0]!.bytes).toEqual(next);
    });

    test("concurrent appends are applied in call order, also around truncation", async () => {
      const log = await open({ "segment.bytes": 2048 });
      const batches = Array.from({ length: 40 }, (_, index) => simpleBatch(native, 1 + (index % 3), { prefix: `o${index}` }));
      const appends = batches.slice(0, 20).map((batch) => log.append(batch));
      const truncation = log.truncateTo(5n);
      const later = batches.slice(20).map((batch) => log.append(batch));
      const results = await Promise.all(appends);
      await truncation;
      const laterResults = await Promise.all(later);
      let expected = 0n;
      for (const [index, result] of results.entries()) {
        expect(result.baseOffset).toBe(expected);
        expected += BigInt(1 + (index % 3));
      }
      // Batches 0..2 hold offsets 0-5; truncating at 5 cuts batch 2 (offsets 3-5) whole.
      expect(laterResults[0]!.baseOffset).toBe(3n);
      for (let index = 1; index < laterResults.length; index++) {
        expect(laterResults[index]!.baseOffset).toBe(laterResults[index - 1]!.lastOffset + 1n);
      }
      const stored = splitBatches(readAll(log.read(0n, 1 << 24)));
      expect(stored.map((batch) => batch.bytes)).toEqual([...batches.slice(0, 2), ...batches.slice(20)]);
    });

    test("waitForAppend resolves on append or abort, without polling", async () => {
      const log = await open();
      await log.append(simpleBatch(native, 1));
      await log.waitForAppend(0n, new AbortController().signal); // already past
      let woke = false;
      const waiting = log.waitForAppend(1n, new AbortController().signal).then(() => (woke = true));
      await Bun.sleep(0);
      expect(woke).toBe(false);
      await log.append(simpleBatch(native, 1));
      await waiting;
      expect(woke).toBe(true);
      const controller = new AbortController();
      const aborted = log.waitForAppend(10n, controller.signal);
      controller.abort();
      await aborted;
    });

    test("reads hold their mapping: views stay valid through retention, truncation and close", async () => {
      const log = await open({ "segment.bytes": 1024 });
      for (let index = 0; index < 20; index++) await log.append(simpleBatch(native, 1, { valueBytes: 200 }));
      const early = log.read(0n, 600); // within the first segments, which deleteRecordsBefore removes
      const earlyCopy = concat(early.chunks);
      const late = log.read(18n, 1 << 20);
      const lateCopy = concat(late.chunks);
      await log.deleteRecordsBefore(15n);
      await log.truncateTo(19n);
      // The views still read the bytes they had (deleted files stay mapped until release).
      expect(concat(early.chunks)).toEqual(earlyCopy);
      expect(late.chunks.length).toBeGreaterThan(0);
      expect(concat(late.chunks).length).toBe(lateCopy.length);
      early.release();
      early.release(); // idempotent
      late.release();
      await log.close();
    });

    test("the mapped-segment LRU stays bounded; evicted mappings live until their readers release", async () => {
      const log = await open({ "segment.bytes": 1024 }, { mappedSegmentsMax: 3 });
      for (let index = 0; index < 30; index++) await log.append(simpleBatch(native, 1, { prefix: `m${index}`, valueBytes: 300 }));
      expect(log.segmentCount).toBeGreaterThan(8);
      const held: ReadResult[] = [];
      const copies: Uint8Array[] = [];
      for (let offset = 0n; offset < 30n; offset += 3n) {
        const result = log.read(offset, 1);
        held.push(result);
        copies.push(concat(result.chunks));
        expect(log.mappedSegments).toBeLessThanOrEqual(3);
      }
      // Every held view still reads its batch although most mappings were evicted meanwhile.
      held.forEach((result, index) => expect(concat(result.chunks)).toEqual(copies[index]!));
      for (const result of held) result.release();
      const again = splitBatches(readAll(log.read(0n, 1)))[0]!;
      expect(again.bytes).toEqual(splitBatches(copies[0]!)[0]!.bytes);
    });

    test("producer state: checks run per batch, duplicates are not appended, recovery replays headers", async () => {
      const state = new RecordingProducerState();
      const log = await open({}, { producerState: state });
      const batch = simpleBatch(native, 2, { producerId: 7n, producerEpoch: 0, baseSequence: 0 });
      const copy = new Uint8Array(batch);
      const first = await log.append(batch);
      expect(first.duplicate).toBe(false);
      const again = await log.append(copy);
      expect(again.duplicate).toBe(true);
      expect([again.baseOffset, again.lastOffset]).toEqual([0n, 1n]);
      expect(log.logEndOffset).toBe(2n);
      state.failNext = true;
      await expectKafkaError(log.append(simpleBatch(native, 1, { producerId: 8n, producerEpoch: 0, baseSequence: 5 })), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
      expect(log.logEndOffset).toBe(2n);
      await log.close();
      const replayed = new RecordingProducerState();
      await open({}, { producerState: replayed });
      expect(replayed.updates.map((info) => [info.producerId, info.baseOffset, info.recordCount])).toEqual([[7n, 0n, 2]]);
    });

    test("leader epochs: stamped per append, cached with their start offsets, kept across a reopen, cut by truncation", async () => {
      const log = await open({ "segment.bytes": 1024 });
      await log.append(simpleBatch(native, 3), { leaderEpoch: 0 });
      log.assignEpochStartOffset(2, log.logEndOffset); // a new leader takes over before appending
      await log.append(simpleBatch(native, 2), { leaderEpoch: 2 });
      await log.append(simpleBatch(native, 2), { leaderEpoch: 2 });
      await log.append(simpleBatch(native, 4), { leaderEpoch: 5 });
      expect(log.epochEntries()).toEqual([{ epoch: 0, startOffset: 0n }, { epoch: 2, startOffset: 3n }, { epoch: 5, startOffset: 7n }]);
      expect(log.latestEpoch).toBe(5);
      expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 7n });
      expect(log.endOffsetForEpoch(5)).toEqual({ epoch: 5, endOffset: 11n });
      expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 2, endOffset: 7n });
      expect(log.epochForOffset(6n)).toBe(2);
      const stored = splitBatches(readAll(log.read(0n, 1 << 20)));
      expect(stored.map((batch) => new DataView(batch.bytes.buffer, batch.bytes.byteOffset).getInt32(12))).toEqual([0, 2, 2, 5]);
      await log.close();
      expect(checkedText(readFileSync(join(partitionDir(), "leader-epoch-checkpoint"), "utf8"))).toBe("0\n3\n0 0\n2 3\n5 7\n");

      const reopened = await open({ "segment.bytes": 1024 });
      expect(reopened.epochEntries()).toEqual([{ epoch: 0, startOffset: 0n }, { epoch: 2, startOffset: 3n }, { epoch: 5, startOffset: 7n }]);
      await reopened.truncateTo(5n); // inside epoch 2: epoch 5 is gone
      expect(reopened.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 5n });
      expect(reopened.latestEpoch).toBe(2);
      await reopened.deleteRecordsBefore(4n);
      expect(reopened.epochEntries()).toEqual([{ epoch: 2, startOffset: 4n }]);
      await reopened.close();
    });

    test("leader epochs: a lost or stale leader-epoch-checkpoint is rebuilt from the batches at open", async () => {
      const log = await open({ "segment.bytes": 1024 });
      for (const epoch of [0, 0, 1, 4, 4]) await log.append(simpleBatch(native, 2), { leaderEpoch: epoch });
      await log.close();
      const checkpoint = join(partitionDir(), "leader-epoch-checkpoint");
      rmSync(checkpoint); // a log written before epochs were tracked
      let reopened = await open({ "segment.bytes": 1024 });
      expect(reopened.epochEntries()).toEqual([{ epoch: 0, startOffset: 0n }, { epoch: 1, startOffset: 4n }, { epoch: 4, startOffset: 6n }]);
      await reopened.close();
      // A crash after appends the file had not caught up with: recovery rescans from the recovery
      // point (0: no checkpoint files without a LogManager) and adds what it finds.
      writeFileSync(checkpoint, "0\n1\n0 0\n");
      reopened = await open({ "segment.bytes": 1024 });
      expect(reopened.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 6n });
      expect(reopened.latestEpoch).toBe(4);
      await reopened.close();
    });

    test("appendAsFollower: the leader's batches byte for byte, offsets and epochs kept; bad input refused and nothing changes", async () => {
      const leaderDir = mkdtempSync(join(tmpdir(), `runnel-leader-${label}-`));
      try {
        const leader = await openPartitionLog({ dataDir: leaderDir, topic: "events", partition: 0, config: topicConfig(), native, logger: recordingLogger() });
        await leader.append(simpleBatch(native, 3), { leaderEpoch: 1 });
        await leader.append(simpleBatch(native, 2, { producerId: 42n, producerEpoch: 0, baseSequence: 0 }), { leaderEpoch: 1 });
        await leader.append(simpleBatch(native, 4), { leaderEpoch: 3 });
        const replicated = readAll(leader.read(0n, 1 << 20));
        await leader.close();

        const state = new RecordingProducerState();
        const follower = await open({}, { producerState: state });
        const [first, second, third] = splitBatches(replicated).map((batch) => batch.bytes);
        const appended = await follower.appendAsFollower(concat([first!, second!]));
        expect([appended.baseOffset, appended.lastOffset]).toEqual([0n, 4n]);
        // Overlapping the log end, or behind it: refused.
        await expectKafkaError(follower.appendAsFollower(first!), ErrorCode.OFFSET_OUT_OF_RANGE);
        // A flipped bit: CRC mismatch.
        const damaged = third!.slice();
        damaged[damaged.length - 1]! ^= 0x01;
        await expectKafkaError(follower.appendAsFollower(damaged), ErrorCode.CORRUPT_MESSAGE);
        expect(follower.logEndOffset).toBe(5n);
        await follower.appendAsFollower(third!);
        expect(readAll(follower.read(0n, 1 << 20))).toEqual(replicated);
        expect(follower.epochEntries()).toEqual([{ epoch: 1, startOffset: 0n }, { epoch: 3, startOffset: 5n }]);
        expect(state.updates.map((info) => [info.producerId, info.baseOffset])).toEqual([[-1n, 0n], [42n, 3n], [-1n, 5n]]);
        // Gaps (a compacted leader) are kept: the next batch may start past the log end.
        const gapped = simpleBatch(native, 1);
        new DataView(gapped.buffer, gapped.byteOffset).setBigInt64(0, 20n);
        expect((await follower.appendAsFollower(gapped)).lastOffset).toBe(20n);
        expect(follower.logEndOffset).toBe(21n);
        await follower.close();
      } finally {
        rmSync(leaderDir, { recursive: true, force: true });
      }
    });

    test("high watermark: set by the replica layer within [log start, log end], bounds nothing by itself, follows truncation and DeleteRecords", async () => {
      const log = await open();
      for (let index = 0; index < 4; index++) await log.append(simpleBatch(native, 2));
      expect(log.highWatermark).toBe(0n);
      // Reads go to the log end unless the caller bounds them (a consumer's bound is the high watermark).
      expect(splitBatches(readAll(log.read(0n, 1 << 20))).length).toBe(4);
      log.updateHighWatermark(5n);
      expect(splitBatches(readAll(log.read(0n, 1 << 20, log.highWatermark))).map((batch) => batch.baseOffset)).toEqual([0n, 2n]);
      expect(log.lastStableOffset).toBe(5n); // no transactions: the high watermark
      expect(log.updateHighWatermark(100n)).toBe(8n);
      await log.truncateTo(4n);
      expect(log.highWatermark).toBe(4n);
      await log.deleteRecordsBefore(4n);
      expect(log.updateHighWatermark(0n)).toBe(4n);
      await expectKafkaError(log.deleteRecordsBefore(5n), ErrorCode.OFFSET_OUT_OF_RANGE); // past the log end
    });

    test("replication-offset-checkpoint keeps the high watermark across a clean restart; after a power loss it is clamped to what survived", async () => {
      const { FaultFs } = await import("../../src/testing/fault-fs.ts");
      const config = topicConfig();
      const managerOn = (fs: StorageFs) => createLogManager({ dataDir, brokerConfig, native, fs, logger: recordingLogger(), backgroundTasks: false, topicConfigFor: () => config });
      let manager = managerOn(realFs);
      await manager.open();
      let log = await manager.create("events", 0, config);
      for (let index = 0; index < 5; index++) await log.append(simpleBatch(native, 2));
      log.updateHighWatermark(6n);
      await manager.close();
      expect(checkedText(readFileSync(join(dataDir, "replication-offset-checkpoint"), "utf8"))).toBe("0\n1\nevents 0 6\n");
      manager = managerOn(realFs);
      await manager.open();
      await manager.openFound();
      log = manager.get("events", 0)!;
      expect([log.highWatermark, log.logEndOffset]).toEqual([6n, 10n]);
      await manager.close();

      // Synced up to 10, then 10 more records never synced; the checkpoint (written atomically,
      // synced) says 20; the power goes.
      const fault = new FaultFs({ root: dataDir, inner: realFs });
      manager = managerOn(fault);
      await manager.open();
      log = await manager.create("events", 0, config);
      for (let index = 0; index < 5; index++) await log.append(simpleBatch(native, 2));
      log.updateHighWatermark(20n);
      await manager.writeCheckpoints();
      fault.crash();
      manager = managerOn(realFs);
      await manager.open();
      await manager.openFound();
      log = manager.get("events", 0)!;
      expect(log.logEndOffset).toBe(10n);
      expect(log.highWatermark).toBe(10n);
      await manager.close();
    });

    test("LogManager: opens only what it is asked for; a directory of another topic is moved aside, never reused or deleted", async () => {
      const manager = createLogManager({ dataDir, brokerConfig, native, logger: recordingLogger(), backgroundTasks: false });
      await manager.open();
      const first = await manager.create("orders", 0, topicConfig(), { topicId: "AAAAAAAAAAAAAAAAAAAAAQ" });
      await first.append(simpleBatch(native, 3));
      await manager.create("legacy", 0, topicConfig()); // no id: a directory without partition.metadata
      await manager.close();
      expect(readFileSync(join(dataDir, "orders-0", "partition.metadata"), "utf8")).toBe("version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ\n");

      const logger = recordingLogger();
      const again = createLogManager({ dataDir, brokerConfig, native, logger, backgroundTasks: false });
      await again.open();
      expect([...again.all()]).toEqual([]);
      expect(again.unclaimed().map((found) => `${found.topic}-${found.partition}`).sort()).toEqual(["legacy-0", "orders-0"]);
      // Same id: the same log, data kept.
      expect((await again.create("orders", 0, topicConfig(), { topicId: "AAAAAAAAAAAAAAAAAAAAAQ" })).logEndOffset).toBe(3n);
      // Another topic's id for "legacy-0": the old directory is kept aside, the new log starts empty.
      const fresh = await again.create("legacy", 0, topicConfig(), { topicId: "AAAAAAAAAAAAAAAAAAAAAg" });
      expect(fresh.logEndOffset).toBe(0n);
      const stray = readdirSync(dataDir).filter((name) => /^legacy-0\.[0-9a-f]{32}-stray$/.test(name));
      expect(stray.length).toBe(1);
      expect(readdirSync(join(dataDir, stray[0]!)).some((name) => name.endsWith(".log"))).toBe(true);
      expect(logger.warnings.some((line) => line.includes("moving aside"))).toBe(true);
      expect(again.unclaimed()).toEqual([]);
      await again.close();
    });

    test("LogManager: create, get, delete, and reopen finds every partition", async () => {
      const manager = createLogManager({ dataDir, brokerConfig, native, logger: recordingLogger(), backgroundTasks: false });
      await manager.open();
      for (const partition of [0, 1, 2]) {
        const log = await manager.create("orders", partition, topicConfig());
        await log.append(simpleBatch(native, partition + 1));
      }
      await expectKafkaError(manager.create("bad/name", 0, topicConfig()), ErrorCode.INVALID_TOPIC_EXCEPTION);
      expect([...manager.all()].length).toBe(3);
      await manager.delete("orders", 1);
      expect(manager.get("orders", 1)).toBeUndefined();
      await manager.close();
      const again = createLogManager({ dataDir, brokerConfig, native, logger: recordingLogger(), backgroundTasks: false });
      await again.open();
      await again.openFound();
      expect([...again.all()].map((log) => `${log.topic}-${log.partition}:${log.logEndOffset}`).sort()).toEqual(["orders-0:1", "orders-2:3"]);
      await again.close();
    });
  });
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 1000 && !condition(); attempt++) await Bun.sleep(1);
  expect(condition()).toBe(true);
}

/** A StorageFs whose datasyncs wait until released, and that can fail writes and syncs. */
function gatedFs() {
  const waiting: (() => void)[] = [];
  const state = {
    started: 0,
    autoRelease: false,
    failNext: false,
    failWrites: false,
    failAllocate: false,
    releaseAll() {
      for (const release of waiting.splice(0)) release();
    },
    fs: undefined as unknown as StorageFs,
  };
  state.fs = {
    ...realFs,
    pwrite(fd, data, position) {
      if (state.failWrites) {
        // Write part of it, as a real full disk does, then fail.
        realFs.pwrite(fd, data.subarray(0, Math.min(10, data.length)), position);
        const error = new Error("ENOSPC: no space left on device, write") as Error & { code: string };
        error.code = "ENOSPC";
        throw error;
      }
      return realFs.pwrite(fd, data, position);
    },
    allocate(fd, offset, length) {
      if (state.failAllocate) {
        const error = new Error("ENOSPC: no space left on device, fallocate") as Error & { code: string };
        error.code = "ENOSPC";
        throw error;
      }
      realFs.allocate(fd, offset, length);
    },
    async datasync(fd) {
      state.started += 1;
      if (state.failNext) {
        state.failNext = false;
        const error = new Error("EIO: i/o error, fdatasync") as Error & { code: string };
        error.code = "EIO";
        throw error;
      }
      if (!state.autoRelease) await new Promise<void>((resolve) => waiting.push(resolve));
      await realFs.datasync(fd);
    },
  };
  return state;
}

class RecordingProducerState implements ProducerStateManager {
  readonly updates: BatchProducerInfo[] = [];
  failNext = false;
  check(batch: BatchProducerInfo) {
    if (this.failNext) {
      this.failNext = false;
      throw new KafkaError(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, "test");
    }
    const same = this.updates.find((info) => info.producerId === batch.producerId && info.baseSequence === batch.baseSequence && batch.producerId >= 0n);
    if (same) return { kind: "duplicate" as const, baseOffset: same.baseOffset, lastOffset: same.baseOffset + BigInt(same.lastOffsetDelta) };
    return { kind: "append" as const };
  }
  update(batch: BatchProducerInfo) {
    this.updates.push(batch);
  }
  truncateTo(offset: bigint) {
    for (let index = this.updates.length - 1; index >= 0; index--) if (this.updates[index]!.baseOffset >= offset) this.updates.splice(index, 1);
  }
}

export { buildBatch };
