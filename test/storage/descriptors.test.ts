// The LRU of segment file descriptors (storage/descriptors.ts): however many partitions and
// segments there are, at most segmentDescriptorsMax segment files stay open (plus those holding
// unsynced writes, which are synced when the LRU needs their descriptors); every read and append
// still works, reopening files as needed.

import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBrokerConfig } from "../../src/config/index.ts";
import { native } from "../../src/native/index.ts";
import { createLogManager } from "../../src/storage/index.ts";
import { concat, simpleBatch, splitBatches } from "./batches.ts";
import { recordingLogger, topicConfig } from "./conformance-suite.ts";

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "runnel-descriptors-"));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

// Descriptors of this process open on files under the test's data directory: the ones the LRU
// governs. Counting every descriptor of the process made the check flaky under load (a socket of
// another test file closing late counted against the budget: 21 > 20 once in a full run).
const openDescriptors = () =>
  readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dataDir);
    } catch {
      return false; // closed between the listing and the look
    }
  }).length;
const brokerConfig = loadBrokerConfig({}).values;
const config = topicConfig({ "segment.bytes": 2048 });
const partitions = 60;
const budget = 12;

async function eventually(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

test.skipIf(process.platform !== "linux")("60 partitions of several segments each, 12 descriptors: appends, reads and a reopen all work", async () => {
  const before = openDescriptors();
  const manager = createLogManager({ dataDir, brokerConfig, native, logger: recordingLogger(), backgroundTasks: false, segmentDescriptorsMax: budget, topicConfigFor: () => config });
  await manager.open();
  const written = new Map<number, Uint8Array[]>();
  for (let partition = 0; partition < partitions; partition++) {
    const log = await manager.create("wide", partition, config);
    const batches = Array.from({ length: 8 }, (_, index) => simpleBatch(native, 2, { prefix: `p${partition}-${index}`, valueBytes: 200 }));
    // No flush policy (Kafka's default): the LRU must ask for the syncs that free descriptors.
    for (const batch of batches) await log.append(batch);
    written.set(partition, batches);
  }
  await eventually(() => manager.descriptors.openCount <= budget, "the segment files to come back under the budget");
  // The LRU's count can be back under its budget while a few descriptors are still open in the
  // data directory for a moment (seen once in the fallback run of a full suite: 21 > 20, with
  // fdatasyncs in flight): wait for the files themselves, bounded, rather than look once.
  // (Looked at once more after the wait, the count could again be 21 for a moment: index files of
  // a roll are written in the thread pool. The bounded wait is the check.)
  await eventually(() => openDescriptors() - before <= budget + 8, "the data directory's descriptors to come back under the budget");
  for (const [partition, batches] of written) {
    const log = manager.get("wide", partition)!;
    const result = log.read(0n, 1 << 20);
    expect(splitBatches(concat(result.chunks)).map((batch) => batch.bytes)).toEqual(batches);
    result.release();
  }
  expect(manager.descriptors.openCount).toBeLessThanOrEqual(budget + 1);
  await manager.close();
  expect(openDescriptors()).toBeLessThanOrEqual(before + 2);

  // Reopen: recovery of 60 partitions within the same budget.
  const again = createLogManager({ dataDir, brokerConfig, native, logger: recordingLogger(), backgroundTasks: false, segmentDescriptorsMax: budget, topicConfigFor: () => config });
  await again.open();
  await again.openFound();
  expect(again.descriptors.openCount).toBeLessThanOrEqual(budget);
  for (const [partition, batches] of written) {
    const result = again.get("wide", partition)!.read(0n, 1 << 20);
    expect(splitBatches(concat(result.chunks)).map((batch) => batch.bytes)).toEqual(batches);
    result.release();
  }
  await again.close();
});
