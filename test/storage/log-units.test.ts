// Small pieces of the partition log: batch validation, the sparse indexes, checkpoint files, and
// the time-driven behaviours (flush.ms, segment.ms, timestamp bounds).

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { native } from "../../src/native/index.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { validateIncomingBatches } from "../../src/protocol/record-batch.ts";
import { readCheckpoint, writeCheckpoint, partitionKey } from "../../src/storage/checkpoint.ts";
import { openPartitionLog, realFs } from "../../src/storage/index.ts";
import { OffsetIndex, TimeIndex } from "../../src/storage/segment-index.ts";
import { buildBatch, simpleBatch } from "./batches.ts";
import { manualClock, recordingLogger, topicConfig } from "./conformance-suite.ts";

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "runnel-log-units-"));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

function codeOf(action: () => unknown): number | string {
  try {
    action();
  } catch (error) {
    return error instanceof KafkaError ? error.code : String(error);
  }
  return "no error";
}

describe("batch validation", () => {
  test("each kind of bad batch gets its Kafka error", () => {
    const limits = { maxMessageBytes: 10_000 };
    expect(codeOf(() => validateIncomingBatches(native, new Uint8Array(0), limits))).toBe(ErrorCode.CORRUPT_MESSAGE);
    const countMismatch = buildBatch(native, [{ value: "a" }, { value: "b" }]);
    new DataView(countMismatch.buffer).setInt32(57, 3);
    const view = new DataView(countMismatch.buffer);
    view.setUint32(17, native.crc32c(countMismatch.subarray(21)));
    expect(codeOf(() => validateIncomingBatches(native, countMismatch, limits))).toBe(ErrorCode.INVALID_RECORD);
    const good = simpleBatch(native, 3);
    expect(validateIncomingBatches(native, good, limits).map((batch) => batch.header.recordsCount)).toEqual([3]);
    expect(codeOf(() => validateIncomingBatches(native, good, { maxMessageBytes: good.length - 1 }))).toBe(ErrorCode.MESSAGE_TOO_LARGE);
  });
});

describe("sparse indexes", () => {
  test("offset index: lookup, truncation, sanity", () => {
    const index = new OffsetIndex();
    for (let slot = 0; slot < 100; slot++) index.append(slot * 10 + 5, slot * 4096 + 100);
    expect(index.lookup(native, 4)).toBe(0); // before the first entry: the segment start
    expect(index.lookup(native, 5)).toBe(100);
    expect(index.lookup(native, 996)).toBe(99 * 4096 + 100);
    expect(index.lookup(native, 500)).toBe(49 * 4096 + 100);
    expect(index.isSane(100 * 4096)).toBe(true);
    expect(index.isSane(50 * 4096)).toBe(false);
    index.truncateToPosition(50 * 4096 + 100);
    expect(index.entries).toBe(50);
    const reloaded = new OffsetIndex(index.contents());
    expect(reloaded.lookup(native, 10_000)).toBe(49 * 4096 + 100);
  });

  test("time index: only increasing timestamps are kept", () => {
    const index = new TimeIndex();
    index.maybeAppend(100n, 0);
    index.maybeAppend(100n, 1);
    index.maybeAppend(90n, 2);
    index.maybeAppend(150n, 3);
    expect(index.entries).toBe(2);
    expect(index.lookup(native, 99n)).toBe(-1);
    expect(index.lookup(native, 120n)).toBe(0);
    expect(index.lookup(native, 150n)).toBe(3);
    index.truncateToOffset(3);
    expect(index.entries).toBe(1);
    expect(index.isSane(1)).toBe(true);
  });
});

describe("checkpoint files", () => {
  test("Kafka's text format round trip, atomically replaced", async () => {
    const entries = new Map([[partitionKey("orders", 0), 42n], [partitionKey("my.topic-x", 12), 7n]]);
    await writeCheckpoint(realFs, dataDir, "recovery-point-offset-checkpoint", entries);
    const text = await Bun.file(join(dataDir, "recovery-point-offset-checkpoint")).text();
    expect(text).toMatch(/^0\n2\norders 0 42\nmy.topic-x 12 7\n# crc32c=[0-9a-f]{8}\n$/);
    const read = readCheckpoint(realFs, dataDir, "recovery-point-offset-checkpoint");
    expect(read.error).toBeNull();
    expect(read.entries).toEqual(entries);
    expect(readCheckpoint(realFs, dataDir, "missing").entries.size).toBe(0);
  });
});

describe("time-driven behaviour", () => {
  test("flush.ms syncs without any flush.messages trigger", async () => {
    const log = await openPartitionLog({ dataDir, topic: "t", partition: 0, config: topicConfig({ "flush.ms": 5 }), native, logger: recordingLogger() });
    const result = await log.append(simpleBatch(native, 1));
    await result.durable; // resolved by the flush.ms timer
    expect(log.recoveryPoint).toBe(1n);
    await log.close();
  });

  test("segment.ms rolls the active segment on the next append (injected clock)", async () => {
    const clock = manualClock(1_000_000);
    const log = await openPartitionLog({ dataDir, topic: "t", partition: 0, config: topicConfig({ "segment.ms": 60_000 }), native, clock, logger: recordingLogger() });
    await log.append(simpleBatch(native, 1));
    clock.advance(59_000);
    await log.append(simpleBatch(native, 1));
    expect(log.segmentCount).toBe(1);
    clock.advance(2_000);
    await log.append(simpleBatch(native, 1));
    expect(log.segmentBaseOffsets()).toEqual([0n, 2n]);
    await log.close();
  });

  test("segment.jitter.ms: each segment rolls a random share of it early, never more than segment.ms", async () => {
    const clock = manualClock(1_000_000);
    // A jitter far above segment.ms is capped at segment.ms (it used to roll on every append).
    const config = topicConfig({ "segment.ms": 60_000, "segment.jitter.ms": 1_000_000 });
    const log = await openPartitionLog({ dataDir, topic: "t", partition: 0, config, native, clock, logger: recordingLogger(), random: () => 0.5 });
    await log.append(simpleBatch(native, 1));
    clock.advance(1);
    await log.append(simpleBatch(native, 1));
    clock.advance(29_998); // 29,999 ms: not yet
    await log.append(simpleBatch(native, 1));
    expect(log.segmentCount).toBe(1);
    clock.advance(1); // 30,000 ms = segment.ms - 0.5 x min(jitter, segment.ms)
    await log.append(simpleBatch(native, 1));
    expect(log.segmentBaseOffsets()).toEqual([0n, 3n]);
    clock.advance(29_999);
    await log.append(simpleBatch(native, 1));
    expect(log.segmentCount).toBe(2);
    await log.close();
  });

  test("message.timestamp.before/after.max.ms refuse out-of-range CreateTime timestamps", async () => {
    const clock = manualClock(1_700_000_000_000);
    const config = topicConfig({ "message.timestamp.before.max.ms": 3_600_000, "message.timestamp.after.max.ms": 60_000 });
    const log = await openPartitionLog({ dataDir, topic: "t", partition: 0, config, native, clock, logger: recordingLogger() });
    await log.append(simpleBatch(native, 1, { timestampMs: 1_700_000_000_000n - 1_000n }));
    for (const timestampMs of [1_700_000_000_000n - 7_200_000n, 1_700_000_000_000n + 120_000n]) {
      let code: number | undefined;
      await log.append(simpleBatch(native, 1, { timestampMs })).catch((error: KafkaError) => (code = error.code));
      expect(code).toBe(ErrorCode.INVALID_TIMESTAMP);
    }
    expect(log.logEndOffset).toBe(1n);
    await log.close();
  });
});
