// Retention in the background: the LogManager's timer (log.retention.check.interval.ms) deletes old
// segments by itself, nobody calls runRetention(); and a retention pass never waits for an
// fdatasync, so appends go on ("appended" answers) while a slow sync is in flight — the deleted
// segments' files are unlinked only once that sync no longer uses their descriptors.

import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBrokerConfig } from "../../src/config/index.ts";
import { native } from "../../src/native/index.ts";
import { createLogManager, realFs, type Log, type StorageFs } from "../../src/storage/index.ts";
import { simpleBatch } from "./batches.ts";
import { manualClock, recordingLogger, topicConfig } from "./conformance-suite.ts";

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "runnel-background-retention-"));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

/** Wait for a condition, checking on every turn of the event loop (no fixed sleep). */
async function eventually(condition: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 5000; attempt++) {
    if (condition()) return;
    await Bun.sleep(1);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const startMs = 1_700_000_100_000;

async function appendOld(log: Log, count: number): Promise<void> {
  // Timestamps one second apart, starting 100 s before the clock's start.
  for (let index = 0; index < count; index++) {
    await log.append(simpleBatch(native, 1, { timestampMs: BigInt(startMs - 100_000 + index * 1000), valueBytes: 100 }));
  }
}

test("the retention timer deletes expired segments by itself (log.retention.check.interval.ms)", async () => {
  const manual = manualClock(startMs);
  // Each retention pass reads the clock once; after the appends nothing else does.
  let clockReads = 0;
  const clock = { ...manual, nowMs: () => (clockReads++, manual.nowMs()) };
  const brokerConfig = loadBrokerConfig({ overrides: [["log.dirs", dataDir], ["log.retention.check.interval.ms", "5"]] }).values;
  const manager = createLogManager({ dataDir, brokerConfig, native, clock, logger: recordingLogger() });
  await manager.open();
  try {
    const log = (await manager.create("events", 0, topicConfig({ "segment.bytes": 1024, "retention.ms": 3_600_000 }))) as Log;
    await appendOld(log, 30);
    const segments = log.segmentCount;
    expect(segments).toBeGreaterThan(5);
    // Nothing is older than an hour: several timer passes later, every segment is still there.
    const logFiles = () => readdirSync(join(dataDir, "events-0")).filter((name) => name.endsWith(".log")).length;
    const readsBefore = clockReads;
    await eventually(() => clockReads >= readsBefore + 3, "three retention passes");
    expect(log.segmentCount).toBe(segments);
    expect(logFiles()).toBe(segments);
    // Two hours later every sealed segment has expired; the timer alone deletes them.
    manual.advance(7_200_000);
    await eventually(() => log.segmentCount === 1, "the retention timer to delete the sealed segments");
    expect(log.logStartOffset).toBe(log.segmentBaseOffsets()[0]!);
    expect(log.logEndOffset).toBe(30n);
    await log.flush();
    await eventually(() => logFiles() === 1, "the deleted segments' files to be unlinked");
    expect((await log.append(simpleBatch(native, 1))).baseOffset).toBe(30n);
  } finally {
    await manager.close();
  }
});

test("a retention pass does not wait for an fdatasync in flight, and neither do appends", async () => {
  // A file layer whose fdatasyncs wait until released: a slow disk, frozen.
  let held: (() => void)[] = [];
  let holding = false;
  const fs: StorageFs = {
    ...realFs,
    async datasync(fd) {
      if (holding) await new Promise<void>((release) => held.push(release));
      return realFs.datasync(fd);
    },
  };
  const releaseAll = () => {
    holding = false;
    for (const release of held.splice(0)) release();
  };
  const clock = manualClock(startMs);
  const brokerConfig = loadBrokerConfig({ overrides: [["log.dirs", dataDir]] }).values;
  const manager = createLogManager({ dataDir, brokerConfig, native, clock, fs, logger: recordingLogger(), backgroundTasks: false });
  await manager.open();
  try {
    const log = (await manager.create("events", 0, topicConfig({ "segment.bytes": 1024, "retention.ms": 60_000 }))) as Log;
    await appendOld(log, 30);
    await log.flush();
    const segmentsBefore = log.segmentBaseOffsets();

    holding = true;
    const appended = await log.append(simpleBatch(native, 1));
    let durable = false;
    void appended.durable.then(() => (durable = true));
    void log.flush(); // starts an fdatasync, which is held (not awaited: it settles on release)
    await eventually(() => held.length > 0, "an fdatasync to be in flight");

    // Retention and more appends complete while that fdatasync is held.
    clock.advance(3_600_000);
    const deleted = await manager.runRetention();
    expect(deleted).toBe(segmentsBefore.length - 1);
    expect(log.segmentCount).toBe(1);
    for (let index = 0; index < 5; index++) expect((await log.append(simpleBatch(native, 1))).baseOffset).toBe(BigInt(31 + index));
    expect(durable).toBe(false);
    // The deleted segments' files stay until the sync that may be using their descriptors is done.
    const firstFile = join(dataDir, "events-0", `${segmentsBefore[0]!.toString().padStart(20, "0")}.log`);
    expect(existsSync(firstFile)).toBe(true);

    releaseAll();
    await eventually(() => durable, "the held append to become durable");
    await log.flush();
    await eventually(() => !existsSync(firstFile), "the deleted segment's file to be unlinked");
    expect(log.logEndOffset).toBe(36n);
  } finally {
    releaseAll();
    await manager.close();
  }
});
