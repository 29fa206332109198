// The `.txnindex` files of a partition log: aborted transactions across many segment rolls (some
// spanning segments), retention deleting old segments with their index files, and restarts —
// clean, with index files removed, torn or past their segment's end, with the producer snapshots
// lost — after which read_committed Fetch's aborted-transaction answer (Log.abortedTransactions)
// is the same as before.

import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { native } from "../../src/native/index.ts";
import { Attribute, ControlType, batchesIn, buildMarkerBatch } from "../../src/protocol/record-batch.ts";
import { openPartitionLog } from "../../src/storage/index.ts";
import { PartitionProducerState } from "../../src/storage/producer-state.ts";
import { encodeTransactionIndexEntries, transactionIndexEntryBytes } from "../../src/storage/transaction-index.ts";
import type { AbortedTransaction } from "../../src/storage/types.ts";
import { simpleBatch } from "./batches.ts";
import { recordingLogger, topicConfig } from "./conformance-suite.ts";

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "runnel-txnindex-log-"));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

const config = topicConfig({ "segment.bytes": 1024 });
const directory = () => join(dataDir, "events-0");
const open = (logStartOffset?: bigint) =>
  openPartitionLog({ dataDir, topic: "events", partition: 0, config, native, producerState: new PartitionProducerState(), logger: recordingLogger(), logStartOffset });
type OpenLog = Awaited<ReturnType<typeof open>>;

/** What the test appended: the aborted transactions, in marker order, computed independently of the log. */
class History {
  readonly aborted: AbortedTransaction[] = [];
  private readonly open = new Map<bigint, bigint>();
  private readonly sequences = new Map<bigint, number>();

  constructor(private readonly log: OpenLog) {}

  async data(producerId: bigint): Promise<void> {
    const sequence = this.sequences.get(producerId) ?? 0;
    this.sequences.set(producerId, sequence + 2);
    const batch = simpleBatch(native, 2, { producerId, producerEpoch: 0, baseSequence: sequence, attributes: Attribute.transactional, valueBytes: 100 });
    const result = await this.log.append(batch);
    if (!this.open.has(producerId)) this.open.set(producerId, result.baseOffset);
  }

  async end(producerId: bigint, type: 0 | 1): Promise<void> {
    const batch = buildMarkerBatch({ producerId, producerEpoch: 0, type, coordinatorEpoch: 1, timestampMs: Date.now() });
    const result = await this.log.append(batch, { origin: "coordinator" });
    const firstOffset = this.open.get(producerId);
    this.open.delete(producerId);
    if (type === ControlType.abort && firstOffset !== undefined) this.aborted.push({ producerId, firstOffset, lastOffset: result.baseOffset });
  }

  isOpen(producerId: bigint): boolean {
    return this.open.has(producerId);
  }
}

/** A deterministic mix of four producers: data, commits and aborts, transactions spanning rolls. */
async function writeHistory(log: OpenLog): Promise<History> {
  const history = new History(log);
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  for (let step = 0; step < 160; step++) {
    const producerId = 10n + BigInt(Math.floor(random() * 4));
    if (history.isOpen(producerId) && random() < 0.3) await history.end(producerId, random() < 0.6 ? ControlType.abort : ControlType.commit);
    else await history.data(producerId);
  }
  // Close every transaction but one, which stays open at the end.
  for (const producerId of [10n, 11n, 12n]) if (history.isOpen(producerId)) await history.end(producerId, ControlType.abort);
  log.updateHighWatermark(log.logEndOffset);
  return history;
}

function expected(history: History, fromOffset: bigint, toOffset: bigint): AbortedTransaction[] {
  return history.aborted.filter((entry) => entry.lastOffset >= fromOffset && entry.firstOffset < toOffset);
}

/** Every fetch offset of the log, with a short, a middling and an open-ended upper bound. */
function answers(log: OpenLog): string {
  const lines: string[] = [];
  for (let from = log.logStartOffset; from <= log.logEndOffset; from++) {
    for (const to of [from + 1n, from + 20n, log.logEndOffset + 1n]) {
      const found = log.abortedTransactions(from, to).map((entry) => `${entry.producerId}:${entry.firstOffset}-${entry.lastOffset}`);
      lines.push(`${from}..${to} ${found.join(",")}`);
    }
  }
  return lines.join("\n");
}

function expectModel(log: OpenLog, history: History): void {
  for (let from = log.logStartOffset; from <= log.logEndOffset; from += 3n) {
    for (const to of [from + 1n, from + 20n, log.logEndOffset + 1n]) expect(log.abortedTransactions(from, to)).toEqual(expected(history, from, to));
  }
}

const indexFiles = () => readdirSync(directory()).filter((name) => name.endsWith(".txnindex")).sort();
const indexBytes = () => new Map(indexFiles().map((name) => [name, readFileSync(join(directory(), name))]));
const removeSnapshots = () => {
  for (const name of readdirSync(directory()).filter((file) => file.endsWith(".snapshot"))) unlinkSync(join(directory(), name));
};

test("aborts across many rolls are indexed per segment, where their marker is", async () => {
  const log = await open();
  const history = await writeHistory(log);
  expect(log.segmentCount).toBeGreaterThan(20);
  expect(history.aborted.length).toBeGreaterThan(10);
  // Some transaction spans a roll: its first batch is in an earlier segment than its marker.
  const bases = log.segmentBaseOffsets();
  const segmentOf = (offset: bigint) => bases.filter((base) => base <= offset).length - 1;
  expect(history.aborted.some((entry) => segmentOf(entry.firstOffset) < segmentOf(entry.lastOffset))).toBe(true);
  expectModel(log, history);
  await log.flush();
  // One file per segment holding ABORT markers, named like the segment, 34 bytes per entry.
  for (const [index, base] of bases.entries()) {
    const end = bases[index + 1] ?? log.logEndOffset;
    const inSegment = history.aborted.filter((entry) => entry.lastOffset >= base && entry.lastOffset < end);
    const path = join(directory(), `${base.toString().padStart(20, "0")}.txnindex`);
    if (inSegment.length === 0) expect(existsSync(path)).toBe(false);
    else expect(readFileSync(path).length).toBe(inSegment.length * transactionIndexEntryBytes);
  }
  await log.close();
});

test("restarts answer the same: clean, index files removed, torn, past their end, snapshots lost", async () => {
  let log = await open();
  const history = await writeHistory(log);
  const before = answers(log);
  await log.close();
  const files = indexBytes();
  expect(files.size).toBeGreaterThan(5);

  // Clean restart: the files are used as they are.
  log = await open();
  expect(answers(log)).toBe(before);
  await log.close();
  expect(indexBytes()).toEqual(files);

  // Every index file removed (a log written before they existed): rebuilt by scanning the log.
  for (const name of files.keys()) unlinkSync(join(directory(), name));
  log = await open();
  expect(answers(log)).toBe(before);
  await log.close();
  expect(indexBytes()).toEqual(files);

  // A torn last entry in one file, an entry past its segment's end in another, a third removed,
  // and the snapshots lost (the producer state is replayed from the whole log).
  const [torn, pastEnd, removed] = [...files.keys()];
  truncateSync(join(directory(), torn!), files.get(torn!)!.length - 10);
  const bogus = encodeTransactionIndexEntries([{ producerId: 99n, firstOffset: 0n, lastOffset: 1_000_000n, lastStableOffset: 0n }]);
  writeFileSync(join(directory(), pastEnd!), Buffer.concat([files.get(pastEnd!)!, bogus]));
  unlinkSync(join(directory(), removed!));
  removeSnapshots();
  log = await open();
  expect(answers(log)).toBe(before);
  expectModel(log, history);
  await log.close();
  expect(indexBytes()).toEqual(files);

  // The same damage with the snapshots kept: the files are below the replay start and rescanned.
  truncateSync(join(directory(), torn!), files.get(torn!)!.length - 10);
  writeFileSync(join(directory(), pastEnd!), Buffer.concat([files.get(pastEnd!)!, bogus]));
  unlinkSync(join(directory(), removed!));
  log = await open();
  expect(answers(log)).toBe(before);
  await log.close();
  expect(indexBytes()).toEqual(files);
});

test("retention deletes index files with their segments; answers from the new log start stay right across restarts", async () => {
  let log = await open();
  const history = await writeHistory(log);
  const segmentsBefore = log.segmentCount;
  log.updateConfig({ ...config, "retention.bytes": Math.floor(log.sizeBytes / 3) });
  expect(await log.applyRetention()).toBeGreaterThan(5);
  await log.flush();
  const logStart = log.logStartOffset;
  expect(log.segmentCount).toBeLessThan(segmentsBefore);
  for (const name of indexFiles()) expect(BigInt(name.slice(0, 20))).toBeGreaterThanOrEqual(logStart);
  expect(readdirSync(directory()).filter((name) => name.endsWith(".log")).length).toBe(log.segmentCount);
  expectModel(log, history);
  const before = answers(log);
  await log.close();
  const files = indexBytes();

  log = await open(logStart);
  expect(log.logStartOffset).toBe(logStart);
  expect(answers(log)).toBe(before);
  await log.close();

  // Rebuilt with the snapshots lost: replayed from the log start, exact for the transactions whose
  // first batch is still in the log; one that began in a deleted segment starts at its first kept batch.
  for (const name of files.keys()) unlinkSync(join(directory(), name));
  removeSnapshots();
  log = await open(logStart);
  for (let from = logStart; from <= log.logEndOffset; from += 3n) {
    const found = log.abortedTransactions(from, log.logEndOffset + 1n);
    const model = expected(history, from, log.logEndOffset + 1n);
    expect(found.map((entry) => [entry.producerId, entry.lastOffset])).toEqual(model.map((entry) => [entry.producerId, entry.lastOffset]));
    for (const [index, entry] of found.entries()) {
      if (model[index]!.firstOffset >= logStart) expect(entry.firstOffset).toBe(model[index]!.firstOffset);
      else expect(entry.firstOffset).toBeGreaterThanOrEqual(logStart);
    }
  }
  await log.close();
});

test("truncation drops the index entries of cut markers and reopens their transactions; retained entries stay", async () => {
  const log = await open();
  const history = await writeHistory(log);
  const cut = history.aborted[Math.floor(history.aborted.length / 2)]!;
  // Cut just above the first batch of a transaction whose marker goes: it is open again.
  const truncateAt = cut.firstOffset + 2n;
  expect(truncateAt).toBeLessThanOrEqual(cut.lastOffset);
  await log.truncateTo(truncateAt);
  log.updateHighWatermark(log.logEndOffset);
  const kept = history.aborted.filter((entry) => entry.lastOffset < truncateAt);
  expect(log.abortedTransactions(0n, log.logEndOffset + 1n)).toEqual(kept);
  expect(log.lastStableOffset).toBeLessThanOrEqual(cut.firstOffset);
  expect(log.hasOngoingTransaction(cut.producerId)).toBe(true);
  await log.flush();
  const totalEntries = indexFiles().reduce((sum, name) => sum + readFileSync(join(directory(), name)).length / transactionIndexEntryBytes, 0);
  expect(totalEntries).toBe(kept.length);
  await log.close();
  const reopened = await open();
  expect(reopened.abortedTransactions(0n, reopened.logEndOffset + 1n)).toEqual(kept);
  await reopened.close();
});

test("a follower's appends index the same aborted transactions as its leader's", async () => {
  const leader = await open();
  const history = await writeHistory(leader);
  const follower = await openPartitionLog({ dataDir, topic: "replica", partition: 0, config, native, producerState: new PartitionProducerState(), logger: recordingLogger() });
  let cursor = 0n;
  while (cursor < leader.logEndOffset) {
    const read = leader.read(cursor, 1 << 20);
    try {
      for (const chunk of read.chunks) {
        for (const batch of batchesIn(chunk)) {
          await follower.appendAsFollower(batch.bytes.slice());
          cursor = batch.header.baseOffset + BigInt(batch.header.lastOffsetDelta) + 1n;
        }
      }
    } finally {
      read.release();
    }
  }
  follower.updateHighWatermark(follower.logEndOffset);
  expect(follower.logEndOffset).toBe(leader.logEndOffset);
  expectModel(follower, history);
  expect(answers(follower)).toBe(answers(leader));
  await follower.flush();
  expect(readdirSync(join(dataDir, "replica-0")).filter((name) => name.endsWith(".txnindex")).length).toBeGreaterThan(5);
  await follower.close();
  await leader.close();
});

test("an ABORT marker that rolls the segment keeps its entry after a crash (the roll's snapshot is taken before the marker)", async () => {
  const log = await open();
  const data = (sequence: number) => simpleBatch(native, 1, { producerId: 10n, producerEpoch: 0, baseSequence: sequence, attributes: Attribute.transactional, valueBytes: 1 });
  const markerBytes = buildMarkerBatch({ producerId: 10n, producerEpoch: 0, type: ControlType.abort, coordinatorEpoch: 1, timestampMs: Date.now() });
  expect(data(0).length).toBeLessThan(markerBytes.length);
  // Fill the first segment so that the data still fits and the marker does not: the marker rolls.
  let sequence = 0;
  while (log.sizeBytes + data(sequence).length <= 1024) await log.append(data(sequence++));
  expect(log.segmentCount).toBe(1);
  const markerOffset = log.logEndOffset;
  await log.append(markerBytes, { origin: "coordinator" });
  expect(log.segmentBaseOffsets()).toEqual([0n, markerOffset]);
  await log.flush();
  expect(readdirSync(directory())).toContain(`${markerOffset.toString().padStart(20, "0")}.snapshot`);
  const entry = { producerId: 10n, firstOffset: 0n, lastOffset: markerOffset };
  expect(log.abortedTransactions(0n, markerOffset + 1n)).toEqual([entry]);
  // A crash image: the files as they are now, opened without a clean close (replay from the roll's snapshot).
  const recovered = await open();
  expect(recovered.abortedTransactions(0n, markerOffset + 1n)).toEqual([entry]);
  expect(recovered.hasOngoingTransaction(10n)).toBe(false);
  await recovered.close();
  await log.close();
});
