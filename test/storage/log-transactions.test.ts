// Transactions in the partition log: transactional batches open a transaction, COMMIT / ABORT
// markers (control batches, appended with origin "coordinator") close it; the last stable offset
// stops at the first open transaction; aborted transactions are listed for read_committed fetches;
// all of it survives a clean close (producer snapshot) and a crash (replay without the snapshot).

import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { native } from "../../src/native/index.ts";
import { ControlType, buildMarkerBatch, markerTypeOf, NOT_A_MARKER, Attribute } from "../../src/protocol/record-batch.ts";
import { openPartitionLog } from "../../src/storage/index.ts";
import { PartitionProducerState, decodeProducerSnapshot, encodeProducerSnapshot } from "../../src/storage/producer-state.ts";
import { simpleBatch } from "./batches.ts";
import { recordingLogger, topicConfig } from "./conformance-suite.ts";

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "runnel-txn-log-"));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

const config = topicConfig({ "segment.bytes": 1024 });
const directory = () => join(dataDir, "events-0");
const open = () => openPartitionLog({ dataDir, topic: "events", partition: 0, config, native, producerState: new PartitionProducerState(), logger: recordingLogger() });
const transactional = (producerId: bigint, sequence: number, count = 2) =>
  simpleBatch(native, count, { producerId, producerEpoch: 0, baseSequence: sequence, attributes: Attribute.transactional, valueBytes: 100 });
const marker = (producerId: bigint, type: 0 | 1) =>
  buildMarkerBatch({ producerId, producerEpoch: 0, type, coordinatorEpoch: 3, timestampMs: Date.now() });

type OpenLog = Awaited<ReturnType<typeof open>>;
const settle = (log: OpenLog) => log.updateHighWatermark(log.logEndOffset);

test("a marker batch carries its type; other batches are not markers", () => {
  const commit = marker(5n, ControlType.commit);
  expect(markerTypeOf(commit, new DataView(commit.buffer).getInt16(21))).toBe(ControlType.commit);
  const abort = marker(5n, ControlType.abort);
  expect(markerTypeOf(abort, new DataView(abort.buffer).getInt16(21))).toBe(ControlType.abort);
  const data = transactional(5n, 0);
  expect(markerTypeOf(data, Attribute.transactional)).toBe(NOT_A_MARKER);
});

test("clients may not append markers; the coordinator may", async () => {
  const log = await open();
  await expect(log.append(marker(5n, ControlType.commit))).rejects.toThrow();
  expect(log.logEndOffset).toBe(0n);
  await log.append(transactional(5n, 0));
  await log.append(marker(5n, ControlType.commit), { origin: "coordinator" });
  expect(log.logEndOffset).toBe(3n);
  await log.close();
});

test("the last stable offset stops at the first open transaction; aborts are listed", async () => {
  const log = await open();
  await log.append(simpleBatch(native, 1)); // 0: plain
  await log.append(transactional(10n, 0)); // 1-2: producer 10 opens
  await log.append(transactional(20n, 0)); // 3-4: producer 20 opens
  settle(log);
  expect(log.highWatermark).toBe(5n);
  expect(log.lastStableOffset).toBe(1n);

  await log.append(marker(10n, ControlType.abort), { origin: "coordinator" }); // 5: producer 10 aborted
  settle(log);
  expect(log.lastStableOffset).toBe(3n);
  expect(log.abortedTransactions(0n, 6n)).toEqual([{ producerId: 10n, firstOffset: 1n, lastOffset: 5n }]);

  await log.append(marker(20n, ControlType.commit), { origin: "coordinator" }); // 6: producer 20 committed
  settle(log);
  expect(log.lastStableOffset).toBe(7n);
  expect(log.abortedTransactions(0n, 7n)).toEqual([{ producerId: 10n, firstOffset: 1n, lastOffset: 5n }]);
  // A fetch past the abort marker has nothing to skip.
  expect(log.abortedTransactions(6n, 7n)).toEqual([]);

  await log.append(transactional(10n, 2)); // 7-8: producer 10 opens again
  settle(log);
  expect(log.lastStableOffset).toBe(7n);
  await log.close();
});

async function writeHistory(): Promise<void> {
  const log = await open();
  for (let round = 0; round < 6; round++) {
    await log.append(transactional(10n, round * 2));
    await log.append(marker(10n, round % 2 === 0 ? ControlType.abort : ControlType.commit), { origin: "coordinator" });
  }
  await log.append(transactional(30n, 0)); // 18-19: left open
  settle(log);
  expect(log.segmentCount).toBeGreaterThan(2);
  await log.close();
}

function expectHistory(log: OpenLog): void {
  log.updateHighWatermark(log.logEndOffset);
  expect(log.lastStableOffset).toBe(18n);
  expect(log.abortedTransactions(0n, 18n).map((entry) => entry.firstOffset)).toEqual([0n, 6n, 12n]);
  expect(log.abortedTransactions(0n, 18n).map((entry) => entry.lastOffset)).toEqual([2n, 8n, 14n]);
}

test("open and aborted transactions come back after a clean close (snapshot)", async () => {
  await writeHistory();
  const reopened = await open();
  expectHistory(reopened);
  await reopened.close();
});

test("open and aborted transactions come back from the log alone (every snapshot lost)", async () => {
  await writeHistory();
  for (const name of readdirSync(directory()).filter((file) => file.endsWith(".snapshot"))) unlinkSync(join(directory(), name));
  const reopened = await open();
  expectHistory(reopened);
  await reopened.close();
});

test("truncation below an ABORT marker reopens its transaction", async () => {
  const log = await open();
  await log.append(transactional(10n, 0)); // 0-1
  await log.append(marker(10n, ControlType.abort), { origin: "coordinator" }); // 2
  settle(log);
  expect(log.lastStableOffset).toBe(3n);
  await log.truncateTo(2n);
  settle(log);
  expect(log.lastStableOffset).toBe(0n);
  expect(log.abortedTransactions(0n, 2n)).toEqual([]);
  await log.close();
});

test("snapshots keep open and aborted transactions; version 1 snapshots still load", () => {
  const ongoing = new Map([[7n, 40n]]);
  const aborted = [{ producerId: 8n, firstOffset: 10n, lastOffset: 12n }];
  const decoded = decodeProducerSnapshot(encodeProducerSnapshot(50n, [], ongoing, aborted));
  expect(decoded.ongoing).toEqual(ongoing);
  expect(decoded.aborted).toEqual(aborted);
  // A version-1 snapshot: the same bytes without the transaction sections, version field 1.
  const v2 = encodeProducerSnapshot(50n, []);
  const v1 = new Uint8Array(v2.length - 8);
  v1.set(v2.subarray(0, 18));
  new DataView(v1.buffer).setUint16(4, 1);
  new DataView(v1.buffer).setUint32(18, Bun.hash.crc32(v1.subarray(0, 18)));
  const old = decodeProducerSnapshot(v1);
  expect(old.endOffset).toBe(50n);
  expect(old.ongoing.size).toBe(0);
});
