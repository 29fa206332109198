// The replica of one partition (src/replication/partition.ts) over a real partition log: the
// leader's high watermark follows its appends in the same turn, acks=all waits for the in-sync
// replicas (here: the fdatasync of an ISR of one; a second ISR member whose log end is unknown holds
// the high watermark, and the request times out), min.insync.replicas, leader-epoch fencing,
// NOT_LEADER_OR_FOLLOWER with the leader's id, long-poll waiters, reads and deletions bounded by the
// high watermark, OffsetForLeaderEpoch and ListOffsets answers.

import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PartitionRegistration } from "../../src/cluster/image.ts";
import { loadBrokerConfig, topicDefaults, type TopicConfig } from "../../src/config/index.ts";
import { native } from "../../src/native/index.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { Attribute, ControlType, buildMarkerBatch } from "../../src/protocol/record-batch.ts";
import { NotLeaderOrFollowerError, Partition, READ_COMMITTED, READ_UNCOMMITTED, waitForData } from "../../src/replication/index.ts";
import { PartitionProducerState } from "../../src/storage/producer-state.ts";
import { openPartitionLog, realFs } from "../../src/storage/index.ts";
import { FaultFs } from "../../src/testing/fault-fs.ts";
import { simpleBatch } from "../storage/batches.ts";
import { recordingLogger } from "../storage/conformance-suite.ts";

const config = topicDefaults(loadBrokerConfig({}).values);
const directories: string[] = [];
const opened: Partition[] = [];
afterEach(async () => {
  for (const partition of opened.splice(0)) await partition.log.close().catch(() => {});
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function registration(overrides: Partial<PartitionRegistration> = {}): PartitionRegistration {
  return { partition: 0, replicas: [1], isr: [1], addingReplicas: [], removingReplicas: [], leader: 1, leaderEpoch: 3, partitionEpoch: 0, ...overrides };
}

async function open(overrides: Partial<TopicConfig> = {}, fs = realFs, dataDir = mkdtempSync(join(tmpdir(), "runnel-partition-"))) {
  directories.push(dataDir);
  const topicConfig = { ...config, ...overrides };
  const log = await openPartitionLog({ dataDir, topic: "events", partition: 0, config: topicConfig, native, fs, logger: recordingLogger() });
  const partition = new Partition("events", 0, "AAAAAAAAAAAAAAAAAAAAAQ", log, 1, registration(), topicConfig, recordingLogger());
  opened.push(partition);
  return partition;
}

async function codeOf(work: Promise<unknown> | (() => unknown)): Promise<number> {
  try {
    await (typeof work === "function" ? work() : work);
    return ErrorCode.NONE;
  } catch (error) {
    if (error instanceof KafkaError) return error.code;
    throw error;
  }
}

const acks = (requiredAcks: number, timeoutMs = 2000) => ({ requiredAcks, timeoutMs });

test("the leader's high watermark follows its appends in the same turn; a new epoch starts at the log end", async () => {
  const partition = await open();
  expect(await codeOf(partition.appendRecordsToLeader(simpleBatch(native, 1), acks(1)))).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  expect(partition.makeLeader(registration())).toBe(true);
  expect(partition.makeLeader(registration())).toBe(false); // same epoch: nothing new
  const appending = partition.appendRecordsToLeader(simpleBatch(native, 3), acks(1));
  expect(partition.highWatermark).toBe(3n); // before the promise settles: a request behind this one sees it
  expect((await appending).baseOffset).toBe(0n);
  // Stamped with the leader epoch; the epoch's start is in the cache.
  partition.makeLeader(registration({ leaderEpoch: 5 }));
  await partition.appendRecordsToLeader(simpleBatch(native, 2), acks(1));
  expect(partition.lastOffsetForLeaderEpoch(-1, 3)).toEqual({ epoch: 3, endOffset: 3n });
  expect(partition.lastOffsetForLeaderEpoch(5, 5)).toEqual({ epoch: 5, endOffset: 5n });
  expect(partition.lastOffsetForLeaderEpoch(-1, 4)).toEqual({ epoch: 3, endOffset: 3n });
  expect(partition.fetchOffsetForTimestamp(-1n, READ_UNCOMMITTED)).toEqual({ offset: 5n, timestamp: -1n, leaderEpoch: 5 });
  expect(partition.fetchOffsetForTimestamp(-2n, READ_UNCOMMITTED)).toEqual({ offset: 0n, timestamp: -1n, leaderEpoch: 3 });
});

test("acks=all with an ISR of one waits for the fdatasync; a failed sync fails the produce", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "runnel-partition-"));
  const fs = new FaultFs({ root: dataDir, inner: realFs });
  const partition = await open({}, fs, dataDir);
  partition.makeLeader(registration());
  const syncsBefore = fs.counts.datasync;
  await partition.appendRecordsToLeader(simpleBatch(native, 1), acks(-1));
  expect(fs.counts.datasync).toBeGreaterThan(syncsBefore);
  const syncsAfterAll = fs.counts.datasync;
  await partition.appendRecordsToLeader(simpleBatch(native, 1), acks(1));
  expect(fs.counts.datasync).toBe(syncsAfterAll); // acks=1: no sync
  fs.inject = (operation) => (operation === "datasync" ? "EIO" : null);
  expect(await codeOf(partition.appendRecordsToLeader(simpleBatch(native, 1), acks(-1)))).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
  fs.inject = null;
});

test("min.insync.replicas: acks=all refused with NOT_ENOUGH_REPLICAS before appending; acks=1 still served", async () => {
  const partition = await open({ "min.insync.replicas": 2 });
  partition.makeLeader(registration());
  expect(await codeOf(partition.appendRecordsToLeader(simpleBatch(native, 1), acks(-1)))).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
  expect(partition.logEndOffset).toBe(0n);
  await partition.appendRecordsToLeader(simpleBatch(native, 1), acks(1));
  expect(partition.logEndOffset).toBe(1n);
});

test("another in-sync replica whose log end is unknown holds the high watermark: acks=all times out, consumers see nothing new", async () => {
  const partition = await open();
  partition.makeLeader(registration({ replicas: [1, 2], isr: [1, 2] }));
  expect(await codeOf(partition.appendRecordsToLeader(simpleBatch(native, 2), acks(-1, 50)))).toBe(ErrorCode.REQUEST_TIMED_OUT);
  expect(partition.logEndOffset).toBe(2n);
  expect(partition.highWatermark).toBe(0n);
  const read = partition.readRecords(0n, 1 << 20, READ_UNCOMMITTED);
  expect(read.bytes).toBe(0);
  read.release();
  expect(partition.fetchOffsetForTimestamp(-1n, READ_UNCOMMITTED).offset).toBe(0n);
  expect(await codeOf(partition.deleteRecordsOnLeader(1n))).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
  // Shrunk to the leader alone (what the controller does when a follower lags): committed again.
  partition.makeLeader(registration({ replicas: [1, 2], isr: [1] }));
  expect(partition.highWatermark).toBe(2n);
});

test("acks=all: an ISR shrink in the same epoch commits the waiting batch; a new leader epoch meanwhile answers NOT_LEADER_OR_FOLLOWER", async () => {
  const partition = await open();
  partition.makeLeader(registration({ replicas: [1, 2], isr: [1, 2] }));
  const sameEpoch = partition.appendRecordsToLeader(simpleBatch(native, 2), acks(-1));
  partition.makeLeader(registration({ replicas: [1, 2], isr: [1], partitionEpoch: 1 }));
  expect((await sameEpoch).lastOffset).toBe(1n);
  partition.makeLeader(registration({ replicas: [1, 2], isr: [1, 2], partitionEpoch: 2 }));
  const waiting = partition.appendRecordsToLeader(simpleBatch(native, 2), acks(-1));
  // Led again in a newer epoch: the batch may have been truncated in between (Kafka's rule).
  partition.makeLeader(registration({ replicas: [1, 2], isr: [1], leaderEpoch: 4, partitionEpoch: 3 }));
  expect(partition.highWatermark).toBe(4n);
  expect(await codeOf(waiting)).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
});

test("epoch fencing and NOT_LEADER_OR_FOLLOWER with the leader's id; waiters wake on the high watermark and on a role change", async () => {
  const partition = await open();
  partition.makeLeader(registration());
  expect(await codeOf(() => partition.checkLeader(2))).toBe(ErrorCode.FENCED_LEADER_EPOCH);
  expect(await codeOf(() => partition.checkLeader(4))).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
  expect(await codeOf(() => partition.checkLeader(3))).toBe(ErrorCode.NONE);
  let woken = 0;
  const cancel = partition.onHighWatermark(partition.highWatermark, () => woken++);
  expect(partition.waiterCount).toBe(1);
  await partition.appendRecordsToLeader(simpleBatch(native, 1), acks(1));
  expect(woken).toBe(1);
  expect(partition.waiterCount).toBe(0);
  cancel(); // idempotent after the wake
  partition.onHighWatermark(partition.highWatermark, () => woken++);
  partition.makeFollower(registration({ leader: 2, leaderEpoch: 4 }));
  expect(woken).toBe(2);
  let thrown: unknown;
  try {
    partition.readRecords(0n, 100, READ_UNCOMMITTED);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(NotLeaderOrFollowerError);
  expect((thrown as NotLeaderOrFollowerError).leaderId).toBe(2);
  expect((thrown as NotLeaderOrFollowerError).leaderEpoch).toBe(4);
  // A follower's waiter is answered at once (the request then gets NOT_LEADER_OR_FOLLOWER).
  partition.onHighWatermark(0n, () => woken++);
  expect(woken).toBe(3);
});

test("DeleteRecords on the leader: -1 means the high watermark; compacted topics refuse it", async () => {
  const partition = await open();
  partition.makeLeader(registration());
  await partition.appendRecordsToLeader(simpleBatch(native, 4), acks(1));
  expect(await partition.deleteRecordsOnLeader(2n)).toBe(2n);
  expect(await partition.deleteRecordsOnLeader(1n)).toBe(2n);
  expect(await partition.deleteRecordsOnLeader(-1n)).toBe(4n);
  expect(await codeOf(partition.deleteRecordsOnLeader(5n))).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
  partition.updateConfig({ ...config, "cleanup.policy": ["compact"] });
  expect(await codeOf(partition.deleteRecordsOnLeader(4n))).toBe(ErrorCode.POLICY_VIOLATION);
});

test("read_committed waiters wake when the last stable offset moves, not on appends inside an open transaction", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "runnel-partition-"));
  directories.push(dataDir);
  const log = await openPartitionLog({ dataDir, topic: "events", partition: 0, config, native, logger: recordingLogger(), producerState: new PartitionProducerState() });
  const partition = new Partition("events", 0, "AAAAAAAAAAAAAAAAAAAAAQ", log, 1, registration(), config, recordingLogger());
  opened.push(partition);
  partition.makeLeader(registration());
  const transactional = (sequence: number) => simpleBatch(native, 2, { producerId: 9n, producerEpoch: 0, baseSequence: sequence, attributes: Attribute.transactional });
  await partition.appendRecordsToLeader(simpleBatch(native, 1), acks(1)); // 0
  await partition.appendRecordsToLeader(transactional(0), acks(1)); // 1-2: open transaction
  expect(partition.lastStableOffset).toBe(1n);
  let woken = false;
  const parked = waitForData([partition], 10_000, new AbortController().signal, READ_COMMITTED).then(() => (woken = true));
  await partition.appendRecordsToLeader(transactional(2), acks(1)); // 3-4: same transaction
  await partition.appendRecordsToLeader(simpleBatch(native, 1), acks(1)); // 5: plain, the high watermark moves
  await new Promise((resolve) => setImmediate(resolve));
  expect(partition.highWatermark).toBe(6n);
  expect(woken).toBe(false);
  const marker = buildMarkerBatch({ producerId: 9n, producerEpoch: 0, type: ControlType.commit, coordinatorEpoch: 0, timestampMs: Date.now() });
  await partition.appendRecordsToLeader(marker, { ...acks(1), origin: "coordinator" });
  await parked;
  expect(woken).toBe(true);
  expect(partition.lastStableOffset).toBe(7n);
});
