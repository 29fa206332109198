// The idempotent-producer rules on the wire, against a real broker process, with hand-built
// RecordBatch v2 batches (so each case is exact): InitProducerId, in-order sequences, a retried
// batch acknowledged with its original offsets and not appended twice (also after a crash and
// restart: the state is rebuilt from the log), OUT_OF_ORDER_SEQUENCE_NUMBER for a gap,
// INVALID_PRODUCER_EPOCH for an old epoch, and transactional InitProducerId refused.

import { afterAll, beforeAll, expect, test } from "bun:test";
import type { AnyApi } from "../../src/protocol/api.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import * as generated from "../../src/protocol/generated/index.ts";
import { buildBatch } from "../../src/testing/record-batches.ts";
import { Compression, withRecordsSection } from "../fuzz/listener-wire.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { connectTo } from "../helpers/connection.ts";
import type { KafkaConnection } from "../../src/client/connection.ts";

const { InitProducerIdApi, ProduceApi, ListOffsetsApi, CreateTopicsApi } = generated as unknown as Record<string, AnyApi>;
const topic = "idempotence-wire";
let broker: Broker;
let connection: KafkaConnection;

beforeAll(async () => {
  broker = await startBroker();
  connection = await connectTo(broker.bootstrap);
  const created = await connection.request(CreateTopicsApi!, {
    topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000,
  }, { version: 4 });
  expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
});

afterAll(async () => {
  connection?.close();
  await broker?.stop();
});

/** A batch of `count` records from producer (id, epoch) starting at `sequence`. */
function producerBatch(producerId: bigint, epoch: number, sequence: number, count: number, number: number): Uint8Array {
  const plain = buildBatch({ batchNumber: number, recordCount: count, valueBytes: 16 });
  const view = new DataView(plain.buffer);
  view.setBigInt64(43, producerId);
  view.setInt16(51, epoch);
  view.setInt32(53, sequence);
  return withRecordsSection(plain, Compression.none, plain.slice(61));
}

async function produce(batch: Uint8Array): Promise<{ errorCode: number; baseOffset: bigint }> {
  const response = await connection.request(ProduceApi!, {
    transactionalId: null, acks: -1, timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
  }, { version: 8 });
  return response.responses[0].partitionResponses[0];
}

async function logEndOffset(): Promise<bigint> {
  const response = await connection.request(ListOffsetsApi!, {
    replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
  }, { version: 5 });
  return response.topics[0].partitions[0].offset;
}

test("InitProducerId gives fresh ids and epoch 0 to idempotent producers; a transactional id keeps its id and bumps its epoch", async () => {
  const versions = [0, 1, 2, 3, 4];
  const ids: bigint[] = [];
  for (const version of versions) {
    const response = await connection.request(InitProducerIdApi!, { transactionalId: null, transactionTimeoutMs: 60000 }, { version });
    expect(response.errorCode).toBe(ErrorCode.NONE);
    expect(response.producerEpoch).toBe(0);
    ids.push(response.producerId);
  }
  expect(new Set(ids).size).toBe(ids.length);
  for (let index = 1; index < ids.length; index++) expect(ids[index]! > ids[index - 1]!).toBe(true);
  // The first transactional call creates __transaction_state: retriable errors until it is served.
  const initTransactional = async () => {
    for (let attempt = 0; attempt < 200; attempt++) {
      const response = await connection.request(InitProducerIdApi!, { transactionalId: "tx-1", transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 }, { version: 4 });
      if (response.errorCode !== ErrorCode.COORDINATOR_NOT_AVAILABLE && response.errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return response;
      await Bun.sleep(25);
    }
    throw new Error("the transaction coordinator never became available");
  };
  const first = await initTransactional();
  expect(first.errorCode).toBe(ErrorCode.NONE);
  expect(first.producerEpoch).toBe(0);
  const second = await initTransactional();
  expect(second.errorCode).toBe(ErrorCode.NONE);
  expect(second.producerId).toBe(first.producerId);
  expect(second.producerEpoch).toBe(1);
  // Too long a transaction timeout (transaction.max.timeout.ms, 15 minutes by default).
  const tooLong = await connection.request(InitProducerIdApi!, { transactionalId: "tx-1", transactionTimeoutMs: 3_600_000, producerId: -1n, producerEpoch: -1 }, { version: 4 });
  expect(tooLong.errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
});

test("sequences, duplicates, gaps and epochs; duplicates still detected after a crash", async () => {
  const init = await connection.request(InitProducerIdApi!, { transactionalId: null, transactionTimeoutMs: 60000 }, { version: 1 });
  const producerId: bigint = init.producerId;
  const first = producerBatch(producerId, 0, 0, 3, 1);
  const second = producerBatch(producerId, 0, 3, 2, 2);
  const a = await produce(first);
  expect(a.errorCode).toBe(ErrorCode.NONE);
  const b = await produce(second);
  expect(b).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: a.baseOffset + 3n });
  const end = await logEndOffset();

  // A retry of either batch: acknowledged with its original offset, nothing appended.
  expect(await produce(first)).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: a.baseOffset });
  expect(await produce(second)).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: b.baseOffset });
  expect(await logEndOffset()).toBe(end);

  // A gap, and a new epoch that does not start at 0.
  expect((await produce(producerBatch(producerId, 0, 9, 1, 3))).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  expect((await produce(producerBatch(producerId, 1, 5, 1, 4))).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  expect(await logEndOffset()).toBe(end);

  // The state survives a crash: it is rebuilt from the log.
  connection.close();
  await broker.crash();
  connection = await connectTo(broker.bootstrap);
  expect(await logEndOffset()).toBe(end);
  // Producer ids are never handed out twice, even across a crash.
  const afterCrash = await connection.request(InitProducerIdApi!, { transactionalId: null, transactionTimeoutMs: 60000 }, { version: 4 });
  expect(afterCrash.producerId > producerId).toBe(true);
  expect(await produce(second)).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: b.baseOffset });
  expect(await logEndOffset()).toBe(end);
  const third = await produce(producerBatch(producerId, 0, 5, 1, 5));
  expect(third).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: end });

  // Epoch bump to 1 (sequence 0), after which epoch 0 is fenced.
  expect((await produce(producerBatch(producerId, 1, 0, 1, 6))).errorCode).toBe(ErrorCode.NONE);
  expect((await produce(producerBatch(producerId, 0, 6, 1, 7))).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
  expect(await logEndOffset()).toBe(end + 2n);
}, 60000);
