// The log cleaner and transactions, by Kafka's rules: records of aborted transactions are removed
// and never count as the latest value of their key; a COMMIT / ABORT marker goes once no record of
// its transaction is left and delete.retention.ms has passed (as tombstones); nothing at or above
// the last stable offset (an open transaction) is cleaned.

import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { topicDefaults, loadBrokerConfig, type TopicConfig } from "../../src/config/index.ts";
import { native } from "../../src/native/index.ts";
import { Attribute, ControlType, batchesIn, buildMarkerBatch, decodeLogRecords, encodeBatch, isControl, type LogRecord } from "../../src/protocol/record-batch.ts";
import { LogCleaner } from "../../src/storage/cleaner.ts";
import { openPartitionLog, realFs, type Log } from "../../src/storage/index.ts";
import { PartitionProducerState } from "../../src/storage/producer-state.ts";

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

const utf8 = new TextEncoder();
const text = new TextDecoder();

function config(overrides: Partial<TopicConfig> = {}): TopicConfig {
  return {
    ...topicDefaults(loadBrokerConfig().values),
    "cleanup.policy": ["compact"],
    "segment.bytes": 4096,
    "delete.retention.ms": 0,
    "min.cleanable.dirty.ratio": 0.01,
    ...overrides,
  };
}

async function openLog(overrides: Partial<TopicConfig> = {}): Promise<Log> {
  const dataDir = mkdtempSync(join(tmpdir(), "runnel-compaction-txn-"));
  directories.push(dataDir);
  return openPartitionLog({ dataDir, topic: "changelog", partition: 0, config: config(overrides), native, producerState: new PartitionProducerState() });
}

const sequences = new Map<bigint, number>();

/** One batch of key → value records; transactional for a producer id, plain for -1. */
async function put(log: Log, producerId: bigint, entries: [string, string | null][]): Promise<void> {
  const records: LogRecord[] = entries.map(([key, value], index) => ({
    offset: BigInt(index), timestamp: BigInt(Date.now()), key: utf8.encode(key), value: value === null ? null : utf8.encode(value), headers: new Uint8Array([0]),
  }));
  const transactional = producerId >= 0n;
  const sequence = sequences.get(producerId) ?? 0;
  if (transactional) sequences.set(producerId, sequence + records.length);
  const template = transactional
    ? { attributes: Attribute.transactional, producerId, producerEpoch: 0, baseSequence: sequence, partitionLeaderEpoch: 0 }
    : { attributes: 0, producerId: -1n, producerEpoch: -1, baseSequence: -1, partitionLeaderEpoch: 0 };
  await log.append(encodeBatch(records, template));
  log.updateHighWatermark(log.logEndOffset);
}

async function end(log: Log, producerId: bigint, committed: boolean): Promise<void> {
  const marker = buildMarkerBatch({ producerId, producerEpoch: 0, type: committed ? ControlType.commit : ControlType.abort, coordinatorEpoch: 0, timestampMs: Date.now() });
  await log.append(marker, { origin: "coordinator" });
  log.updateHighWatermark(log.logEndOffset);
}

/** A plain record too big for the current segment (a new active one), then sync: every sealed segment is cleanable. */
async function roll(log: Log): Promise<void> {
  await put(log, -1n, [["tail", Buffer.from(crypto.getRandomValues(new Uint8Array(2500))).toString("hex")]]);
  await log.flush();
}

interface Entry {
  offset: bigint;
  /** "data" record of a producer (-1: plain), or a "commit" / "abort" marker. */
  kind: "data" | "commit" | "abort";
  producerId: bigint;
  key: string;
  value: string | null;
}

/** Every batch from the log start, as read_uncommitted sees the log, the markers included. */
function entries(log: Log): Entry[] {
  const out: Entry[] = [];
  let cursor = log.logStartOffset;
  while (cursor < log.logEndOffset) {
    const read = log.read(cursor, 1 << 20);
    try {
      for (const chunk of read.chunks) {
        for (const batch of batchesIn(chunk)) {
          const header = batch.header;
          for (const record of decodeLogRecords(batch.bytes, header)!) {
            if (isControl(header.attributes)) {
              const type = new DataView(record.key!.buffer, record.key!.byteOffset).getInt16(2);
              out.push({ offset: record.offset, kind: type === ControlType.commit ? "commit" : "abort", producerId: header.producerId, key: "", value: null });
            } else {
              out.push({ offset: record.offset, kind: "data", producerId: header.producerId, key: text.decode(record.key!), value: record.value === null ? null : text.decode(record.value) });
            }
          }
          cursor = header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
        }
      }
    } finally {
      read.release();
    }
  }
  return out.filter((entry) => entry.key !== "tail");
}

const cleanerFor = () => new LogCleaner({ logs: () => [], fs: realFs, native, backoffMs: 1000, sliceBytes: 2048 });
const summary = (list: Entry[]) => list.map((entry) => (entry.kind === "data" ? `${entry.key}=${entry.value}` : `${entry.kind}(${entry.producerId})`));

test("an aborted record is not the latest value of its key: the committed one stays, the aborted data goes", async () => {
  const log = await openLog();
  await put(log, 7n, [["k", "committed"], ["j", "j1"]]);
  await end(log, 7n, true);
  await put(log, 7n, [["k", "aborted"], ["j", "aborted-too"]]);
  await end(log, 7n, false);
  await roll(log);
  expect(await cleanerFor().cleanLog(log, true)).not.toBeNull();
  // The committed transaction's records and marker stay (its records are the latest of their keys);
  // the aborted transaction's records go, and its marker with them (nothing of it is left).
  expect(summary(entries(log))).toEqual(["k=committed", "j=j1", "commit(7)"]);
  await log.close();
});

test("a marker goes once its transaction has no record left; a younger one stays for delete.retention.ms", async () => {
  const log = await openLog();
  await put(log, 7n, [["k", "v1"]]);
  await end(log, 7n, true);
  await put(log, 8n, [["k", "v2"]]);
  await end(log, 8n, true);
  await roll(log);
  await cleanerFor().cleanLog(log, true);
  // Producer 7's record was superseded: nothing of its transaction is left, nor its marker.
  expect(summary(entries(log))).toEqual(["k=v2", "commit(8)"]);
  await log.close();

  const retained = await openLog({ "delete.retention.ms": 3_600_000 });
  await put(retained, 9n, [["k", "v1"]]);
  await end(retained, 9n, true);
  await put(retained, 10n, [["k", "v2"]]);
  await end(retained, 10n, false);
  await roll(retained);
  await cleanerFor().cleanLog(retained, true);
  // Within delete.retention.ms the empty transactions' markers stay (a consumer part-way through
  // must still see the abort): only the aborted data goes.
  expect(summary(entries(retained))).toEqual(["k=v1", "commit(9)", "abort(10)"]);
  await retained.close();
});

test("nothing at or above the last stable offset is cleaned: an open transaction's records and what follows stay", async () => {
  const log = await openLog();
  await put(log, -1n, [["k", "plain-1"]]);
  await put(log, 7n, [["k", "open"]]);
  await put(log, -1n, [["k", "plain-2"]]);
  await roll(log);
  expect(log.lastStableOffset).toBe(1n);
  const stats = await cleanerFor().cleanLog(log, true);
  expect(stats).toBeNull();
  expect(summary(entries(log))).toEqual(["k=plain-1", "k=open", "k=plain-2"]);
  // Once aborted, the transaction's record goes and plain-2 is the latest value.
  await end(log, 7n, false);
  await roll(log);
  await cleanerFor().cleanLog(log, true);
  expect(summary(entries(log))).toEqual(["k=plain-2"]);
  await log.close();
});

test("the cleaned segment keeps its .txnindex: an aborted transaction the cleaner removed stays listed, as in Kafka", async () => {
  const log = await openLog();
  await put(log, 7n, [["k", "committed"]]); // 0
  await end(log, 7n, true); // 1
  await put(log, 7n, [["k", "aborted"], ["j", "aborted-too"]]); // 2-3
  await end(log, 7n, false); // 4
  await roll(log);
  const aborted = [{ producerId: 7n, firstOffset: 2n, lastOffset: 4n }];
  expect(log.abortedTransactions(0n, log.logEndOffset)).toEqual(aborted);
  const indexPath = join(log.directory, `${"0".padStart(20, "0")}.txnindex`);
  const before = readFileSync(indexPath);
  expect(await cleanerFor().cleanLog(log, true)).not.toBeNull();
  expect(summary(entries(log))).toEqual(["k=committed", "commit(7)"]);
  expect(readFileSync(indexPath)).toEqual(before);
  expect(log.abortedTransactions(0n, log.logEndOffset)).toEqual(aborted);
  // Still valid at the next start (its marker offset is inside the segment, though the marker is gone).
  await log.close();
  const reopened = await openPartitionLog({ dataDir: dirname(log.directory), topic: "changelog", partition: 0, config: config(), native, producerState: new PartitionProducerState() });
  expect(reopened.abortedTransactions(0n, reopened.logEndOffset)).toEqual(aborted);
  await reopened.close();
});
