// offsetForTimestamp (ListOffsets by time, replay from a point in time) at its edges, with the
// native helper and the fallback: an empty log, records without timestamps, a target equal to an
// indexed timestamp and one between index entries, out-of-order batches, a log start offset in the
// middle of a batch (DeleteRecords), after truncation, retention and a reopen (indexes read back
// or rebuilt), records of one batch with different timestamps, compressed batches. The answer is
// Kafka's: the first record at or after the log start offset whose timestamp is >= the target, with
// that record's timestamp.

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fallback as fallbackNative } from "../../src/native/fallback.ts";
import { native as selectedNative } from "../../src/native/index.ts";
import type { NativeApi } from "../../src/native/types.ts";
import { CompressionType } from "../../src/protocol/compression.ts";
import { buildRecordBatch } from "../../src/protocol/record-batch.ts";
import { openPartitionLog, type Log } from "../../src/storage/index.ts";
import { buildBatch, simpleBatch } from "./batches.ts";
import { recordingLogger, topicConfig } from "./conformance-suite.ts";

const implementations: [string, NativeApi][] = selectedNative === fallbackNative ? [["fallback", fallbackNative]] : [["native", selectedNative], ["fallback", fallbackNative]];

for (const [label, native] of implementations) {
  describe(`offsetForTimestamp edges (${label})`, () => {
    let dataDir: string;
    const opened: Log[] = [];
    beforeEach(() => {
      dataDir = mkdtempSync(join(tmpdir(), `runnel-offset-for-ts-${label}-`));
    });
    afterEach(async () => {
      for (const log of opened.splice(0)) if (!log.isClosed) await log.close();
      rmSync(dataDir, { recursive: true, force: true });
    });
    async function open(overrides: Parameters<typeof topicConfig>[0] = {}): Promise<Log> {
      const log = await openPartitionLog({ dataDir, topic: "t", partition: 0, config: topicConfig(overrides), native, logger: recordingLogger() });
      opened.push(log);
      return log;
    }
    const base = 1_700_000_000_000n;

    test("an empty log, and a log whose records carry no timestamp (-1), find nothing", async () => {
      const log = await open();
      expect(log.offsetForTimestamp(0n)).toBeNull();
      expect(log.maxTimestampOffset()).toBeNull();
      await log.append(buildBatch(native, [{ value: "a", timestampMs: -1n }], { baseTimestamp: -1n }));
      expect(log.offsetForTimestamp(0n)).toBeNull();
      expect(log.maxTimestampOffset()).toBeNull();
    });

    test("targets equal to, between, before and after batch timestamps, across index entries and segments", async () => {
      // 60 one-record batches, 10 ms apart, with an index entry every ~2 batches and ~5 per segment.
      const log = await open({ "segment.bytes": 600, "index.interval.bytes": 150 });
      for (let index = 0; index < 60; index++) await log.append(simpleBatch(native, 1, { timestampMs: base + BigInt(index) * 10n, valueBytes: 50 }));
      expect(log.segmentCount).toBeGreaterThan(5);
      for (let index = 0; index < 60; index++) {
        const exact = base + BigInt(index) * 10n;
        expect(log.offsetForTimestamp(exact)).toEqual({ offset: BigInt(index), timestamp: exact });
        // Just after a batch's timestamp: the next batch.
        const next = log.offsetForTimestamp(exact + 1n);
        if (index === 59) expect(next).toBeNull();
        else expect(next).toEqual({ offset: BigInt(index + 1), timestamp: exact + 10n });
      }
      expect(log.offsetForTimestamp(0n)).toEqual({ offset: 0n, timestamp: base });
      expect(log.offsetForTimestamp(base + 10_000n)).toBeNull();
    });

    test("out-of-order batches: the first batch whose max timestamp reaches the target", async () => {
      const log = await open({ "segment.bytes": 600, "index.interval.bytes": 1 });
      const timestamps = [100n, 300n, 200n, 250n, 400n, 50n, 500n].map((delta) => base + delta);
      for (const timestampMs of timestamps) await log.append(simpleBatch(native, 1, { timestampMs, valueBytes: 50 }));
      expect(log.offsetForTimestamp(base + 150n)).toEqual({ offset: 1n, timestamp: base + 300n });
      expect(log.offsetForTimestamp(base + 260n)).toEqual({ offset: 1n, timestamp: base + 300n });
      expect(log.offsetForTimestamp(base + 301n)).toEqual({ offset: 4n, timestamp: base + 400n });
      expect(log.offsetForTimestamp(base + 450n)).toEqual({ offset: 6n, timestamp: base + 500n });
      expect(log.maxTimestampOffset()).toEqual({ offset: 6n, timestamp: base + 500n });
    });

    test("never below the log start offset: DeleteRecords inside a batch, and past every match", async () => {
      const log = await open({ "segment.bytes": 600 });
      for (let index = 0; index < 10; index++) await log.append(simpleBatch(native, 3, { timestampMs: base + BigInt(index) * 10n, valueBytes: 20 }));
      await log.deleteRecordsBefore(7n); // batch 2 holds offsets 6..8
      expect(log.offsetForTimestamp(0n)).toEqual({ offset: 7n, timestamp: base + 20n });
      expect(log.offsetForTimestamp(base + 5n)).toEqual({ offset: 7n, timestamp: base + 20n });
      expect(log.offsetForTimestamp(base + 30n)).toEqual({ offset: 9n, timestamp: base + 30n });
      await log.deleteRecordsBefore(30n);
      expect(log.offsetForTimestamp(0n)).toBeNull();
    });

    test("records of one batch with different timestamps: the first record at or after the target (Kafka's answer)", async () => {
      const log = await open();
      // Batch 0: offsets 0..3 at +0, +10, +20, +30; batch 1: offsets 4..6 at +35, +5 (late), +50.
      await log.append(buildBatch(native, [0n, 10n, 20n, 30n].map((delta) => ({ value: "a", timestampMs: base + delta }))));
      await log.append(buildBatch(native, [35n, 5n, 50n].map((delta) => ({ value: "b", timestampMs: base + delta }))));
      expect(log.offsetForTimestamp(base)).toEqual({ offset: 0n, timestamp: base });
      expect(log.offsetForTimestamp(base + 10n)).toEqual({ offset: 1n, timestamp: base + 10n });
      expect(log.offsetForTimestamp(base + 11n)).toEqual({ offset: 2n, timestamp: base + 20n });
      expect(log.offsetForTimestamp(base + 30n)).toEqual({ offset: 3n, timestamp: base + 30n });
      expect(log.offsetForTimestamp(base + 31n)).toEqual({ offset: 4n, timestamp: base + 35n });
      expect(log.offsetForTimestamp(base + 36n)).toEqual({ offset: 6n, timestamp: base + 50n });
      expect(log.offsetForTimestamp(base + 51n)).toBeNull();
      // Records below the log start offset do not count, even in a batch that is still stored.
      await log.deleteRecordsBefore(2n);
      expect(log.offsetForTimestamp(base)).toEqual({ offset: 2n, timestamp: base + 20n });
      await log.deleteRecordsBefore(4n);
      // Offset 4 (+35) is the first record at or after the start whose timestamp reaches +6.
      expect(log.offsetForTimestamp(base + 6n)).toEqual({ offset: 4n, timestamp: base + 35n });
      await log.deleteRecordsBefore(5n);
      // Offset 5 (+5) is the first record at or after the start; +6 is first reached by offset 6.
      expect(log.offsetForTimestamp(base + 6n)).toEqual({ offset: 6n, timestamp: base + 50n });
      expect(log.offsetForTimestamp(base)).toEqual({ offset: 5n, timestamp: base + 5n });
    });

    test("compressed batches are inflated to find the record", async () => {
      const log = await open();
      const records = [0n, 10n, 20n].map((delta) => ({ value: "c".repeat(100), timestamp: base + delta }));
      await log.append(buildRecordBatch({ records, compression: CompressionType.gzip, crc: native }));
      expect(log.offsetForTimestamp(base + 15n)).toEqual({ offset: 2n, timestamp: base + 20n });
    });

    test("after truncation the cut timestamps are gone; after reopen (indexes read back or rebuilt) answers are the same", async () => {
      const config = { "segment.bytes": 600, "index.interval.bytes": 150 };
      let log = await open(config);
      for (let index = 0; index < 40; index++) await log.append(simpleBatch(native, 1, { timestampMs: base + BigInt(index) * 10n, valueBytes: 50 }));
      await log.truncateTo(25n);
      expect(log.offsetForTimestamp(base + 240n)).toEqual({ offset: 24n, timestamp: base + 240n });
      expect(log.offsetForTimestamp(base + 241n)).toBeNull();
      expect(log.maxTimestampOffset()).toEqual({ offset: 24n, timestamp: base + 240n });
      const answers = () => Array.from({ length: 26 }, (_, index) => log.offsetForTimestamp(base + BigInt(index) * 10n - 5n));
      const before = answers();
      await log.close();
      log = await open(config);
      expect(answers()).toEqual(before);
      await log.close();
      // Without any index file: rebuilt by the recovery scan.
      for (const name of new Bun.Glob("*.{index,timeindex}").scanSync(join(dataDir, "t-0"))) unlinkSync(join(dataDir, "t-0", name));
      log = await open(config);
      expect(answers()).toEqual(before);
      expect(log.maxTimestampOffset()).toEqual({ offset: 24n, timestamp: base + 240n });
    });
  });
}
