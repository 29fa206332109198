// Retention at its boundaries, exactly as Kafka decides (UnifiedLog.deleteOldSegments):
//   retention.ms     a segment goes when now - its newest timestamp > retention.ms (equal stays);
//   retention.bytes  segments go, oldest first, while the log minus that segment is still at least
//                    retention.bytes (the active segment counts in the size, and never goes).
// Each case checks exactly which base offsets remain: a retention that deleted at half the age, or
// one segment too many or too few, fails here (the older tests only had segments all past the limit).

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { native } from "../../src/native/index.ts";
import { openPartitionLog, type Log } from "../../src/storage/index.ts";
import { simpleBatch } from "./batches.ts";
import { manualClock, recordingLogger, topicConfig } from "./conformance-suite.ts";

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "runnel-retention-"));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

const retentionMs = 10_000;
const batchValueBytes = 700;

/**
 * Five sealed segments of one batch each, whose newest timestamps are 1000, 2000, … 5000, and an
 * active segment (timestamp 6000). segment.bytes fits one batch, so every append rolls.
 */
async function fiveSegments(overrides: Record<string, number>): Promise<Log> {
  const clock = manualClock(0);
  const config = topicConfig({ "segment.bytes": 1024, "retention.ms": retentionMs, "retention.bytes": -1, ...overrides });
  const log = await openPartitionLog({ dataDir, topic: "aged", partition: 0, config, native, clock, logger: recordingLogger() });
  for (let index = 1; index <= 6; index++) {
    await log.append(simpleBatch(native, 1, { prefix: `b${index}`, valueBytes: batchValueBytes, timestampMs: BigInt(index * 1000) }));
  }
  expect(log.segmentBaseOffsets()).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
  return log;
}

describe("retention.ms at its boundary", () => {
  test("newest timestamp exactly retention.ms old: kept; one millisecond older: deleted", async () => {
    const log = await fiveSegments({});
    // now = 12000: segment 0 (newest 1000) is 11000 ms old, segment 1 (2000) exactly 10000.
    expect(await log.applyRetention(12_000)).toBe(1);
    expect(log.segmentBaseOffsets()).toEqual([1n, 2n, 3n, 4n, 5n]);
    expect(log.logStartOffset).toBe(1n);
    // One millisecond later segment 1 is past it, segment 2 (9001 ms old) is not.
    expect(await log.applyRetention(12_001)).toBe(1);
    expect(log.segmentBaseOffsets()).toEqual([2n, 3n, 4n, 5n]);
    // At half the age nothing more goes: segment 2 is 6000 ms old at 8000.
    expect(await log.applyRetention(8_000)).toBe(0);
    expect(log.segmentBaseOffsets()).toEqual([2n, 3n, 4n, 5n]);
    await log.close();
  });

  test("just under the limit for every segment: nothing is deleted", async () => {
    const log = await fiveSegments({});
    expect(await log.applyRetention(1_000 + retentionMs)).toBe(0);
    expect(log.segmentBaseOffsets()).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
    await log.close();
  });

  test("every sealed segment past the limit: all go but the active one", async () => {
    const log = await fiveSegments({});
    expect(await log.applyRetention(1_000_000)).toBe(5);
    expect(log.segmentBaseOffsets()).toEqual([5n]);
    expect(log.logStartOffset).toBe(5n);
    await log.close();
  });
});

describe("retention.bytes at its boundary", () => {
  async function segmentSize(): Promise<{ total: number; each: number }> {
    const log = await fiveSegments({ "retention.ms": -1 });
    const total = log.sizeBytes;
    await log.close();
    rmSync(join(dataDir, "aged-0"), { recursive: true, force: true });
    // Every batch has the same size (same value length, one record).
    return { total, each: total / 6 };
  }

  test("size minus the oldest segment exactly retention.bytes: it goes; one byte more: it stays", async () => {
    const { total, each } = await segmentSize();
    expect(Number.isInteger(each)).toBe(true);
    let log = await fiveSegments({ "retention.ms": -1, "retention.bytes": total - each });
    expect(await log.applyRetention(0)).toBe(1);
    expect(log.segmentBaseOffsets()).toEqual([1n, 2n, 3n, 4n, 5n]);
    await log.close();
    rmSync(join(dataDir, "aged-0"), { recursive: true, force: true });

    log = await fiveSegments({ "retention.ms": -1, "retention.bytes": total - each + 1 });
    expect(await log.applyRetention(0)).toBe(0);
    expect(log.segmentBaseOffsets()).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
    await log.close();
  });

  test("retention.bytes of two segments: exactly the four oldest go (the active one counts in the size)", async () => {
    const { each } = await segmentSize();
    const log = await fiveSegments({ "retention.ms": -1, "retention.bytes": 2 * each });
    expect(await log.applyRetention(0)).toBe(4);
    expect(log.segmentBaseOffsets()).toEqual([4n, 5n]);
    expect(log.sizeBytes).toBe(2 * each);
    await log.close();
  });

  test("retention.bytes of 0 keeps only the active segment", async () => {
    const log = await fiveSegments({ "retention.ms": -1, "retention.bytes": 0 });
    expect(await log.applyRetention(0)).toBe(5);
    expect(log.segmentBaseOffsets()).toEqual([5n]);
    await log.close();
  });
});
