// The transaction coordinator's state machine with an in-memory store and a recording marker
// writer: epochs and fencing, the abort of a previous incarnation's transaction, EndTxn's outcomes
// and retries, timeouts, id expiry, and the state records (Kafka's layout) replayed into a new
// coordinator.

import { expect, test } from "bun:test";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { TransactionCoordinator, type MarkerWriter, type TransactionStore } from "../../src/transactions/coordinator.ts";
import { decodeTransactionKey, decodeTransactionValue, encodeTransactionKey, encodeTransactionValue } from "../../src/transactions/records.ts";
import { TransactionState, type TopicPartition, type TransactionMetadata } from "../../src/transactions/state.ts";

class Harness {
  now = 1_000_000;
  nextProducerId = 5000n;
  readonly records: { key: Uint8Array; value: Uint8Array | null }[] = [];
  readonly markers: { producerId: bigint; producerEpoch: number; committed: boolean; partitions: TopicPartition[] }[] = [];
  failMarkers = false;
  readonly store: TransactionStore = {
    write: async (transactionalId, metadata) => {
      this.records.push({ key: encodeTransactionKey(transactionalId), value: metadata && encodeTransactionValue(metadata) });
    },
  };
  readonly markerWriter: MarkerWriter = {
    write: async (producerId, producerEpoch, committed, partitions) => {
      if (this.failMarkers) throw Object.assign(new Error("partition unavailable"), { code: ErrorCode.NOT_LEADER_OR_FOLLOWER });
      this.markers.push({ producerId, producerEpoch, committed, partitions });
    },
  };
  coordinator(): TransactionCoordinator {
    return new TransactionCoordinator({ maxTimeoutMs: 900_000, idExpirationMs: 7 * 86_400_000 }, {
      store: this.store,
      markers: this.markerWriter,
      newProducerId: async () => this.nextProducerId++,
      nowMs: () => this.now,
      owns: () => true,
    });
  }
  /** The state as replayed from the records written so far (newest record per id). */
  replayInto(coordinator: TransactionCoordinator): string[] {
    const ids: string[] = [];
    for (const record of this.records) {
      const id = decodeTransactionKey(record.key);
      ids.push(id);
      coordinator.loadRecord(id, decodeTransactionValue(id, record.value));
    }
    return ids;
  }
}

const partitionsOf = (...names: string[]): TopicPartition[] => names.map((name) => ({ topic: name.split("-")[0]!, partition: Number(name.split("-")[1]) }));

test("first InitProducerId: a new id at epoch 0; later ones bump the epoch", async () => {
  const harness = new Harness();
  const coordinator = harness.coordinator();
  const first = await coordinator.initProducerId("app", 60_000, null);
  expect(first).toEqual({ errorCode: ErrorCode.NONE, producerId: 5000n, producerEpoch: 0 });
  const second = await coordinator.initProducerId("app", 60_000, null);
  expect(second).toEqual({ errorCode: ErrorCode.NONE, producerId: 5000n, producerEpoch: 1 });
  // KIP-360: an expected id/epoch that is not the current one is fenced.
  expect((await coordinator.initProducerId("app", 60_000, { producerId: 5000n, producerEpoch: 0 })).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
  expect((await coordinator.initProducerId("app", 60_000, { producerId: 5000n, producerEpoch: 1 })).producerEpoch).toBe(2);
  // A retry of that bump (its answer lost) gets the same answer, not a second bump nor a fence (Kafka's lastProducerEpoch).
  expect(await coordinator.initProducerId("app", 60_000, { producerId: 5000n, producerEpoch: 1 })).toEqual({ errorCode: ErrorCode.NONE, producerId: 5000n, producerEpoch: 2 });
  expect((await coordinator.initProducerId("app", 60_000, { producerId: 5000n, producerEpoch: 0 })).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
  expect((await coordinator.initProducerId("app", 60_000, { producerId: 5001n, producerEpoch: 2 })).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
  // An initialising producer (no id given) bumps and forgets the last epoch: the old one is fenced again.
  expect((await coordinator.initProducerId("app", 60_000, null)).producerEpoch).toBe(3);
  expect((await coordinator.initProducerId("app", 60_000, { producerId: 5000n, producerEpoch: 2 })).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
  expect((await coordinator.initProducerId("app", 0, null)).errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  expect((await coordinator.initProducerId("app", 900_001, null)).errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
});

test("commit: partitions added, markers with the producer's epoch on each, Complete; a retried EndTxn answers NONE", async () => {
  const harness = new Harness();
  const coordinator = harness.coordinator();
  const { producerId, producerEpoch } = await coordinator.initProducerId("app", 60_000, null);
  expect(await coordinator.addPartitions("app", producerId, producerEpoch, partitionsOf("a-0", "a-1"))).toBe(ErrorCode.NONE);
  expect(await coordinator.addPartitions("app", producerId, producerEpoch, partitionsOf("b-0"))).toBe(ErrorCode.NONE);
  expect(coordinator.verifyPartition("app", producerId, producerEpoch, { topic: "b", partition: 0 })).toBe(ErrorCode.NONE);
  expect(coordinator.verifyPartition("app", producerId, producerEpoch, { topic: "b", partition: 1 })).toBe(ErrorCode.INVALID_TXN_STATE);
  expect((await coordinator.endTransaction("app", producerId, producerEpoch, true)).errorCode).toBe(ErrorCode.NONE);
  expect(harness.markers).toEqual([{ producerId, producerEpoch, committed: true, partitions: partitionsOf("a-0", "a-1", "b-0") }]);
  expect(coordinator.describe("app")?.state).toBe(TransactionState.CompleteCommit);
  expect((await coordinator.endTransaction("app", producerId, producerEpoch, true)).errorCode).toBe(ErrorCode.NONE);
  expect((await coordinator.endTransaction("app", producerId, producerEpoch, false)).errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
  expect(harness.markers.length).toBe(1);
  // After Complete, the partitions are no longer in a transaction.
  expect(coordinator.verifyPartition("app", producerId, producerEpoch, { topic: "a", partition: 0 })).toBe(ErrorCode.INVALID_TXN_STATE);
});

test("fencing: a new incarnation aborts the open transaction with a bumped epoch; the old producer is PRODUCER_FENCED", async () => {
  const harness = new Harness();
  const coordinator = harness.coordinator();
  const old = await coordinator.initProducerId("app", 60_000, null);
  await coordinator.addPartitions("app", old.producerId, old.producerEpoch, partitionsOf("a-0"));
  // The new incarnation's first call aborts the old transaction and asks it to retry.
  expect((await coordinator.initProducerId("app", 60_000, null)).errorCode).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
  expect(harness.markers).toEqual([{ producerId: old.producerId, producerEpoch: 1, committed: false, partitions: partitionsOf("a-0") }]);
  const retried = await coordinator.initProducerId("app", 60_000, null);
  expect(retried).toEqual({ errorCode: ErrorCode.NONE, producerId: old.producerId, producerEpoch: 2 });
  expect(await coordinator.addPartitions("app", old.producerId, old.producerEpoch, partitionsOf("a-1"))).toBe(ErrorCode.PRODUCER_FENCED);
  expect((await coordinator.endTransaction("app", old.producerId, old.producerEpoch, true)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
  expect(coordinator.verifyPartition("app", old.producerId, old.producerEpoch, { topic: "a", partition: 0 })).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
  expect(await coordinator.addPartitions("app", 999n, 2, partitionsOf("a-1"))).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
});

test("transaction.timeout.ms: the coordinator aborts an expired transaction and fences its producer", async () => {
  const harness = new Harness();
  const coordinator = harness.coordinator();
  const producer = await coordinator.initProducerId("app", 10_000, null);
  await coordinator.addPartitions("app", producer.producerId, producer.producerEpoch, partitionsOf("a-0"));
  harness.now += 9_999;
  expect(coordinator.abortTimedOut()).toBe(0);
  harness.now += 1;
  expect(coordinator.abortTimedOut()).toBe(1);
  await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
  expect(coordinator.describe("app")?.state).toBe(TransactionState.CompleteAbort);
  expect(harness.markers.at(-1)).toEqual({ producerId: producer.producerId, producerEpoch: 1, committed: false, partitions: partitionsOf("a-0") });
  expect((await coordinator.endTransaction("app", producer.producerId, producer.producerEpoch, true)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
});

test("markers that fail leave PrepareCommit; the next sweep writes them and completes", async () => {
  const harness = new Harness();
  const coordinator = harness.coordinator();
  const producer = await coordinator.initProducerId("app", 60_000, null);
  await coordinator.addPartitions("app", producer.producerId, producer.producerEpoch, partitionsOf("a-0"));
  harness.failMarkers = true;
  expect((await coordinator.endTransaction("app", producer.producerId, producer.producerEpoch, true)).errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  expect(coordinator.describe("app")?.state).toBe(TransactionState.PrepareCommit);
  expect(await coordinator.addPartitions("app", producer.producerId, producer.producerEpoch, partitionsOf("a-1"))).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
  harness.failMarkers = false;
  coordinator.abortTimedOut();
  await new Promise((resolve) => setImmediate(resolve));
  expect(coordinator.describe("app")?.state).toBe(TransactionState.CompleteCommit);
  expect(harness.markers).toEqual([{ producerId: producer.producerId, producerEpoch: 0, committed: true, partitions: partitionsOf("a-0") }]);
});

test("the state records replay into a new coordinator; a transaction caught in PrepareAbort gets its markers", async () => {
  const harness = new Harness();
  const coordinator = harness.coordinator();
  const producer = await coordinator.initProducerId("app", 60_000, null);
  await coordinator.addPartitions("app", producer.producerId, producer.producerEpoch, partitionsOf("a-0", "b-3"));
  harness.failMarkers = true;
  await coordinator.endTransaction("app", producer.producerId, producer.producerEpoch, false);
  harness.failMarkers = false;
  const restarted = harness.coordinator();
  const ids = harness.replayInto(restarted);
  const replayed = restarted.describe("app")!;
  expect(replayed.state).toBe(TransactionState.PrepareAbort);
  expect([...replayed.partitions.get("b")!]).toEqual([3]);
  restarted.finishLoading(ids);
  await new Promise((resolve) => setImmediate(resolve));
  expect(restarted.describe("app")?.state).toBe(TransactionState.CompleteAbort);
  expect(harness.markers.at(-1)?.committed).toBe(false);
  expect((await restarted.initProducerId("app", 60_000, null)).producerEpoch).toBe(1);
});

test("idle transactional ids expire after transactional.id.expiration.ms (tombstone)", async () => {
  const harness = new Harness();
  const coordinator = harness.coordinator();
  await coordinator.initProducerId("idle", 60_000, null);
  harness.now += 7 * 86_400_000;
  expect(coordinator.expireIds()).toBe(1);
  await new Promise((resolve) => setImmediate(resolve));
  expect(coordinator.describe("idle")).toBeUndefined();
  expect(harness.records.at(-1)?.value).toBeNull();
});

test("records: Kafka's TransactionLogValue v0 layout round-trips", () => {
  const metadata: TransactionMetadata = {
    transactionalId: "app", producerId: 77n, producerEpoch: 3, timeoutMs: 60_000, state: TransactionState.Ongoing,
    partitions: new Map([["orders", new Set([0, 2])]]), lastUpdateTimestampMs: 1_700_000_000_000, startTimestampMs: 1_699_999_999_000,
  };
  const value = encodeTransactionValue(metadata);
  // version 0, producer id, epoch, timeout, status 1 (Ongoing), one topic…
  expect([...value.subarray(0, 2)]).toEqual([0, 0]);
  expect(new DataView(value.buffer).getBigInt64(2)).toBe(77n);
  expect(value[16]).toBe(TransactionState.Ongoing);
  expect(decodeTransactionValue("app", value)).toEqual(metadata);
  expect(decodeTransactionKey(encodeTransactionKey("app"))).toBe("app");
});
