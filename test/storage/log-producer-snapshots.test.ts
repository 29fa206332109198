// Producer-state snapshots: written at roll and close, loaded at open so that recovery replays only
// the batches after the newest usable one; damaged or too-new snapshots are skipped.

import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { native } from "../../src/native/index.ts";
import { openPartitionLog } from "../../src/storage/index.ts";
import { PartitionProducerState } from "../../src/storage/producer-state.ts";
import type { BatchProducerInfo } from "../../src/storage/types.ts";
import { simpleBatch } from "./batches.ts";
import { recordingLogger, topicConfig } from "./conformance-suite.ts";

class CountingState extends PartitionProducerState {
  updates = 0;
  override update(batch: BatchProducerInfo): void {
    this.updates += 1;
    super.update(batch);
  }
}

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "runnel-snapshots-"));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

const config = topicConfig({ "segment.bytes": 1024 });
const directory = () => join(dataDir, "events-0");
const snapshots = () => readdirSync(directory()).filter((name) => name.endsWith(".snapshot")).sort();
const batchFor = (sequence: number) => simpleBatch(native, 1, { producerId: 7n, producerEpoch: 0, baseSequence: sequence, valueBytes: 200 });

async function open(state: PartitionProducerState) {
  return openPartitionLog({ dataDir, topic: "events", partition: 0, config, native, producerState: state, logger: recordingLogger() });
}

test("recovery replays only the batches after the newest usable snapshot", async () => {
  const log = await open(new PartitionProducerState());
  for (let sequence = 0; sequence < 20; sequence++) await log.append(batchFor(sequence));
  expect(log.segmentCount).toBeGreaterThan(3);
  await log.close();
  // Two kept: the last roll's and the close's (at the log end offset 20).
  expect(snapshots().length).toBe(2);
  expect(snapshots().at(-1)).toBe("00000000000000000020.snapshot");

  // After a clean close: nothing to replay, and the state still knows the producer's batches.
  let state = new CountingState();
  let reopened = await open(state);
  expect(state.updates).toBe(0);
  expect((await reopened.append(batchFor(19))).duplicate).toBe(true);
  expect((await reopened.append(batchFor(20))).baseOffset).toBe(20n);
  await reopened.close();

  // Without the newest snapshot: only the batches after the older one are replayed.
  unlinkSync(join(directory(), snapshots().at(-1)!));
  const older = BigInt(snapshots().at(-1)!.slice(0, 20));
  state = new CountingState();
  reopened = await open(state);
  expect(state.updates).toBe(Number(21n - older));
  expect((await reopened.append(batchFor(20))).duplicate).toBe(true);
  await reopened.close();

  // Damaged snapshots are skipped (and removed): the whole log is replayed.
  for (const name of snapshots()) writeFileSync(join(directory(), name), "not a snapshot");
  state = new CountingState();
  reopened = await open(state);
  expect(state.updates).toBe(21);
  expect((await reopened.append(batchFor(21))).baseOffset).toBe(21n);
  await reopened.close();
});

test("truncation removes snapshots past the new end", async () => {
  const log = await open(new PartitionProducerState());
  for (let sequence = 0; sequence < 20; sequence++) await log.append(batchFor(sequence));
  // A roll's snapshot is written off the event loop; the sync after the roll waits for it.
  await log.flush();
  const before = snapshots();
  expect(before.length).toBe(2);
  const newest = BigInt(before.at(-1)!.slice(0, 20));
  await log.truncateTo(newest - 1n);
  // Exactly the older snapshot stays (the list is not empty: `every` over nothing would pass).
  expect(snapshots()).toEqual(before.slice(0, 1));
  expect(BigInt(snapshots()[0]!.slice(0, 20))).toBeLessThanOrEqual(newest - 1n);
  await log.close();
});
