// Recovery details beyond the conformance suite: leftovers of interrupted operations, damaged index
// files, the recovery point, and a sealed segment whose reserved tail was never trimmed on disk.

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { native } from "../../src/native/index.ts";
import { createLogManager, openPartitionLog, type Log } from "../../src/storage/index.ts";
import { concat, simpleBatch, splitBatches } from "./batches.ts";
import { recordingLogger, topicConfig } from "./conformance-suite.ts";
import { loadBrokerConfig } from "../../src/config/index.ts";

const brokerConfig = loadBrokerConfig({}).values;
let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "runnel-log-recovery-"));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

const config = topicConfig({ "segment.bytes": 1024, "index.interval.bytes": 100 });
const directory = () => join(dataDir, "events-0");

async function writeLog(batchCount: number): Promise<Uint8Array[]> {
  const log = await openPartitionLog({ dataDir, topic: "events", partition: 0, config, native, logger: recordingLogger() });
  const batches: Uint8Array[] = [];
  for (let index = 0; index < batchCount; index++) {
    const batch = simpleBatch(native, 2, { prefix: `x${index}`, valueBytes: 60, timestampMs: 1_000_000n + BigInt(index) });
    batches.push(batch);
    await log.append(batch);
  }
  await log.close();
  return batches;
}

async function reopen(recoveryPoint?: bigint) {
  const logger = recordingLogger();
  const log = await openPartitionLog({ dataDir, topic: "events", partition: 0, config, native, logger, recoveryPoint });
  return { log, logger };
}

function readEverything(log: Log): Uint8Array {
  const result = log.read(log.logStartOffset, 1 << 24);
  const bytes = concat(result.chunks);
  result.release();
  return bytes;
}

function segmentNames(): string[] {
  return readdirSync(directory()).filter((name) => name.endsWith(".log")).sort();
}

describe("partition log recovery", () => {
  test("leftover .tmp/.deleted/.cleaned files are removed, a .swap completes, orphan indexes go", async () => {
    const batches = await writeLog(12);
    const names = segmentNames();
    writeFileSync(join(directory(), "00000000000000000000.index.tmp"), "junk");
    writeFileSync(join(directory(), "00000000000000000099.log.deleted"), "junk");
    writeFileSync(join(directory(), "00000000000000000099.log.cleaned"), "junk");
    writeFileSync(join(directory(), "00000000000000999999.index"), "orphan");
    // A finished swap: the cleaned copy of the first segment (here: identical bytes).
    const first = join(directory(), names[0]!);
    writeFileSync(first + ".swap", Bun.file(first).size > 0 ? new Uint8Array(await Bun.file(first).arrayBuffer()) : new Uint8Array());
    const { log } = await reopen();
    const left = readdirSync(directory());
    expect(left.some((name) => /\.(tmp|deleted|cleaned|swap)$/.test(name))).toBe(false);
    expect(existsSync(join(directory(), "00000000000000999999.index"))).toBe(false);
    expect(readEverything(log)).toEqual(concat(batches));
    await log.close();
  });

  test("garbage and truncated index files are rebuilt; every offset and timestamp still resolves", async () => {
    const batches = await writeLog(30);
    const all = splitBatches(concat(batches));
    const lastOffset = all.at(-1)!.lastOffset;
    for (const recoveryPoint of [0n, lastOffset + 1n]) {
      const names = readdirSync(directory());
      for (const [index, name] of names.filter((file) => file.endsWith(".index") || file.endsWith(".timeindex")).entries()) {
        const path = join(directory(), name);
        if (index % 2 === 0) writeFileSync(path, new Uint8Array(24).map((_, at) => (at * 91) & 0xff));
        else writeFileSync(path, new Uint8Array(5));
      }
      const { log, logger } = await reopen(recoveryPoint);
      for (const batch of all) {
        const result = log.read(batch.lastOffset, 1);
        expect(splitBatches(concat(result.chunks))[0]!.baseOffset).toBe(batch.baseOffset);
        result.release();
      }
      for (const [index, batch] of all.entries()) {
        expect(log.offsetForTimestamp(1_000_000n + BigInt(index))?.offset).toBe(batch.baseOffset);
      }
      if (recoveryPoint > 0n) expect(logger.warnings.some((line) => line.includes("rebuilding"))).toBe(true);
      await log.close();
    }
  });

  test("a bit flip in a sealed segment (no recovery checkpoint) is kept as damage: later segments stay, only that batch answers CORRUPT_MESSAGE", async () => {
    // Issue 8, item 3: one flipped byte used to cut the segment there and delete every later one.
    const batches = await writeLog(30);
    const all = splitBatches(concat(batches));
    const names = segmentNames();
    expect(names.length).toBeGreaterThan(4);
    const victim = join(directory(), names[2]!);
    const bytes = new Uint8Array(await Bun.file(victim).arrayBuffer());
    bytes[bytes.length - 20]! ^= 0x01; // inside the last batch of the segment: its CRC fails
    writeFileSync(victim, bytes);
    const { log, logger } = await reopen(0n);
    expect(segmentNames()).toEqual(names);
    expect(log.logEndOffset).toBe(all.at(-1)!.lastOffset + 1n);
    const damagedLine = logger.warnings.find((line) => line.includes("damaged data in a segment file"));
    expect(damagedLine).toContain(names[2]!);
    expect(damagedLine).toContain("CRC");
    expect(logger.warnings.some((line) => line.includes("deleting a segment"))).toBe(false);
    const nextBase = BigInt(names[3]!.slice(0, 20));
    const damaged = all.filter((batch) => batch.baseOffset < nextBase).at(-1)!;
    for (const batch of all) {
      if (batch === damaged) {
        expect(() => log.read(batch.baseOffset, 1)).toThrow("CORRUPT_MESSAGE");
        continue;
      }
      const result = log.read(batch.baseOffset, 1);
      expect(splitBatches(concat(result.chunks))[0]!.bytes).toEqual(batch.bytes);
      result.release();
    }
    await log.close();
  });

  test("a damaged batch header under a sampled index entry below the recovery point: the open rescans instead of throwing", async () => {
    // Issue 8, item 2: the start-up spot check of the time index walked into the damaged header and
    // threw CORRUPT_MESSAGE out of Segment.findBatch: every start failed.
    const manager = createLogManager({ dataDir, brokerConfig, native, logger: recordingLogger(), backgroundTasks: false });
    await manager.open();
    const written = await manager.create("events", 0, config);
    for (let index = 0; index < 30; index++) await written.append(simpleBatch(native, 2, { valueBytes: 60, timestampMs: 1_000_000n + BigInt(index) }));
    await manager.close();
    const names = segmentNames();
    const victim = join(directory(), names[1]!);
    const bytes = new Uint8Array(await Bun.file(victim).arrayBuffer());
    // The second batch is the first one the offset and time indexes name. Its lastOffsetDelta gets
    // a high bit: magic, length and base offset still match the index, so only the walk that the
    // time index check makes (findBatch) sees the damage.
    const second = new DataView(bytes.buffer).getInt32(8) + 12;
    const victimBase = new DataView(bytes.buffer).getBigInt64(second);
    bytes[second + 23]! |= 0x40;
    writeFileSync(victim, bytes);
    const logger = recordingLogger();
    const again = createLogManager({ dataDir, brokerConfig, native, logger, backgroundTasks: false, topicConfigFor: () => config });
    await again.open();
    await again.openFound();
    const log = again.getLog("events", 0)!;
    expect(log.logEndOffset).toBe(60n);
    expect(logger.warnings.some((line) => line.includes("damaged data in a segment file") && line.includes(names[1]!))).toBe(true);
    expect(() => log.read(victimBase, 1)).toThrow("CORRUPT_MESSAGE");
    for (let offset = 0n; offset < 60n; offset++) {
      if (offset === victimBase || offset === victimBase + 1n) continue;
      const result = log.read(offset, 1);
      expect(splitBatches(concat(result.chunks))[0]!.lastOffset).toBeGreaterThanOrEqual(offset);
      result.release();
    }
    await again.close();
  });

  test("a sealed segment with an unsynced reserved (zero) tail keeps the segments after it", async () => {
    const batches = await writeLog(30);
    const names = segmentNames();
    appendFileSync(join(directory(), names[1]!), new Uint8Array(3000));
    const { log, logger } = await reopen(0n);
    expect(segmentNames()).toEqual(names);
    expect(readEverything(log)).toEqual(concat(batches));
    expect(logger.warnings.some((line) => line.includes("3000"))).toBe(true);
    expect(statSync(join(directory(), names[1]!)).size).toBeLessThan(3000);
    await log.close();
  });

  test("an empty last segment after a hole (lost unsynced data before a roll) is dropped", async () => {
    const batches = await writeLog(30);
    const names = segmentNames();
    const all = splitBatches(concat(batches));
    // The last segment lost all its data; the one before lost its last batch.
    truncateSync(join(directory(), names.at(-1)!), 0);
    const previous = join(directory(), names.at(-2)!);
    const previousBase = BigInt(names.at(-2)!.slice(0, 20));
    const inPrevious = all.filter((batch) => batch.baseOffset >= previousBase && batch.baseOffset < BigInt(names.at(-1)!.slice(0, 20)));
    truncateSync(previous, statSync(previous).size - inPrevious.at(-1)!.bytes.length);
    const { log, logger } = await reopen(0n);
    expect(segmentNames()).toEqual(names.slice(0, -1));
    expect(log.logEndOffset).toBe(inPrevious.at(-1)!.baseOffset);
    expect(logger.warnings.some((line) => line.includes("hole"))).toBe(true);
    expect((await log.append(simpleBatch(native, 1))).baseOffset).toBe(inPrevious.at(-1)!.baseOffset);
    await log.close();
  });

  test("every empty segment after a hole is dropped (two rolls whose data was lost; seen in the power-loss test)", async () => {
    const batches = await writeLog(30);
    const names = segmentNames();
    expect(names.length).toBeGreaterThan(3);
    const all = splitBatches(concat(batches));
    // The last two segments lost all their data (their files' creation survived); the one before
    // them lost its last batch.
    truncateSync(join(directory(), names.at(-1)!), 0);
    truncateSync(join(directory(), names.at(-2)!), 0);
    const previous = join(directory(), names.at(-3)!);
    const previousBase = BigInt(names.at(-3)!.slice(0, 20));
    const inPrevious = all.filter((batch) => batch.baseOffset >= previousBase && batch.baseOffset < BigInt(names.at(-2)!.slice(0, 20)));
    truncateSync(previous, statSync(previous).size - inPrevious.at(-1)!.bytes.length);
    const { log, logger } = await reopen(0n);
    expect(segmentNames()).toEqual(names.slice(0, -2));
    expect(log.logEndOffset).toBe(inPrevious.at(-1)!.baseOffset);
    expect(logger.warnings.filter((line) => line.includes("hole")).length).toBe(2);
    // Every offset below the log end offset reads (no hole inside the log).
    for (let offset = log.logStartOffset; offset < log.logEndOffset; offset++) {
      const result = log.read(offset, 1);
      expect(result.bytes).toBeGreaterThan(0);
      result.release();
    }
    expect((await log.append(simpleBatch(native, 1))).baseOffset).toBe(inPrevious.at(-1)!.baseOffset);
    await log.close();
  });

  test("segments below the recovery point are trusted (not rescanned) when their indexes are sane", async () => {
    const manager = createLogManager({ dataDir, brokerConfig, native, logger: recordingLogger(), backgroundTasks: false });
    await manager.open();
    const log = await manager.create("events", 0, config);
    for (let index = 0; index < 30; index++) await log.append(simpleBatch(native, 2, { valueBytes: 60 }));
    await manager.close();
    const names = segmentNames();
    // Damage a record's bytes (not a header) of the first sealed segment: only a CRC scan sees it.
    const victim = join(directory(), names[0]!);
    const bytes = new Uint8Array(await Bun.file(victim).arrayBuffer());
    bytes[100]! ^= 0x01;
    writeFileSync(victim, bytes);
    const logger = recordingLogger();
    const again = createLogManager({ dataDir, brokerConfig, native, logger, backgroundTasks: false, topicConfigFor: () => config });
    await again.open();
    await again.openFound();
    expect(again.getLog("events", 0)!.logEndOffset).toBe(60n);
    expect(logger.warnings).toEqual([]);
    await again.close();
  });

  test("after a clean shutdown the active segment is trusted; without the marker it is rescanned", async () => {
    const manager = createLogManager({ dataDir, brokerConfig, native, logger: recordingLogger(), backgroundTasks: false });
    await manager.open();
    const log = await manager.create("events", 0, config);
    for (let index = 0; index < 30; index++) await log.append(simpleBatch(native, 2, { valueBytes: 60 }));
    await manager.close();
    expect(existsSync(join(dataDir, ".runnel_cleanshutdown"))).toBe(true);
    const active = join(directory(), segmentNames().at(-1)!);
    const bytes = new Uint8Array(await Bun.file(active).arrayBuffer());
    bytes[100]! ^= 0x01; // a record byte: only a CRC scan notices
    writeFileSync(active, bytes);

    let logger = recordingLogger();
    let again = createLogManager({ dataDir, brokerConfig, native, logger, backgroundTasks: false, topicConfigFor: () => config });
    await again.open();
    await again.openFound();
    expect(existsSync(join(dataDir, ".runnel_cleanshutdown"))).toBe(false); // removed before any append
    expect(again.getLog("events", 0)!.logEndOffset).toBe(60n);
    expect(logger.warnings).toEqual([]);
    await again.close();

    rmSync(join(dataDir, ".runnel_cleanshutdown"));
    logger = recordingLogger();
    again = createLogManager({ dataDir, brokerConfig, native, logger, backgroundTasks: false, topicConfigFor: () => config });
    await again.open();
    await again.openFound();
    // Rescanned: the flip is found. Valid batches follow it, so it is damage, not a torn tail: kept.
    expect(again.getLog("events", 0)!.logEndOffset).toBe(60n);
    expect(logger.warnings.some((line) => line.includes("CRC") && line.includes("damaged"))).toBe(true);
    await again.close();
  });

  test("a damaged checkpoint file is ignored with a warning and the logs are scanned whole", async () => {
    const manager = createLogManager({ dataDir, brokerConfig, native, logger: recordingLogger(), backgroundTasks: false });
    await manager.open();
    const log = await manager.create("events", 0, config);
    for (let index = 0; index < 10; index++) await log.append(simpleBatch(native, 1));
    await manager.close();
    writeFileSync(join(dataDir, "recovery-point-offset-checkpoint"), "0\n7\nnonsense\n");
    const logger = recordingLogger();
    const again = createLogManager({ dataDir, brokerConfig, native, logger, backgroundTasks: false, topicConfigFor: () => config });
    await again.open();
    await again.openFound();
    expect(logger.warnings.some((line) => line.includes("checkpoint"))).toBe(true);
    expect(again.getLog("events", 0)!.logEndOffset).toBe(10n);
    await again.close();
  });
});
