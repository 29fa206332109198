// Produce validation on the wire against a real broker process: message.timestamp.before.max.ms and
// message.timestamp.after.max.ms refuse a batch with INVALID_TIMESTAMP and name each refused record
// in recordErrors (Produce v8+: batch index and message), as Kafka's RecordValidationException does;
// nothing of a refused batch is appended; kafkajs 2.2.4 sees the error. More than one batch per
// partition is INVALID_RECORD (Kafka: v3+ carries exactly one), and so is a record without a key on
// a compacted topic (named in recordErrors). A missing client is a
// failure, never a skip.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import type { AnyApi } from "../../src/protocol/api.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import * as generated from "../../src/protocol/generated/index.ts";
import { buildRecordBatch } from "../../src/protocol/record-batch.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { connectTo } from "../helpers/connection.ts";
import type { KafkaConnection } from "../../src/client/connection.ts";

const { ProduceApi, ListOffsetsApi, CreateTopicsApi } = generated as unknown as Record<string, AnyApi>;
const topic = "timestamp-bounds";
const hourMs = 3_600_000;
let broker: Broker;
let connection: KafkaConnection;

beforeAll(async () => {
  broker = await startBroker();
  connection = await connectTo(broker.bootstrap);
  const created = await connection.request(CreateTopicsApi!, {
    topics: [{
      name: topic, numPartitions: 1, replicationFactor: 1, assignments: [],
      configs: [{ name: "message.timestamp.before.max.ms", value: String(hourMs) }, { name: "message.timestamp.after.max.ms", value: "60000" }],
    }],
    timeoutMs: 5000,
  }, { version: 4 });
  expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
});

afterAll(async () => {
  connection?.close();
  await broker?.stop();
});

async function produce(version: number, records: Uint8Array) {
  const response = await connection.request(ProduceApi!, {
    transactionalId: null, acks: -1, timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  }, { version });
  return response.responses[0].partitionResponses[0];
}

async function logEndOffset(): Promise<bigint> {
  const response = await connection.request(ListOffsetsApi!, {
    replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
  }, { version: 5 });
  return response.topics[0].partitions[0].offset;
}

test("out-of-range timestamps: INVALID_TIMESTAMP with the refused records in recordErrors, nothing appended", async () => {
  for (const compression of [0, 1]) {
    const now = Date.now();
    // Records 1 (two hours old) and 3 (a day ahead) are out of range; 0 and 2 are fine.
    const timestamps = [now, now - 2 * hourMs, now, now + 24 * hourMs];
    const batch = buildRecordBatch({ compression, records: timestamps.map((timestamp, index) => ({ value: `v${index}`, timestamp })) });
    const refused = await produce(8, batch);
    expect(refused.errorCode).toBe(ErrorCode.INVALID_TIMESTAMP);
    expect(refused.baseOffset).toBe(-1n);
    expect(refused.errorMessage).toContain("invalid timestamp");
    expect(refused.recordErrors.map((record: { batchIndex: number }) => record.batchIndex)).toEqual([1, 3]);
    for (const record of refused.recordErrors) expect(record.batchIndexErrorMessage).toContain("message.timestamp.before.max.ms=3600000");
    // Produce v7 has no recordErrors; the partition error is the same.
    expect((await produce(7, batch)).errorCode).toBe(ErrorCode.INVALID_TIMESTAMP);
    expect(await logEndOffset()).toBe(0n);
  }
  const fine = await produce(8, buildRecordBatch({ records: [{ value: "ok", timestamp: Date.now() - 1000 }] }));
  expect(fine.errorCode).toBe(ErrorCode.NONE);
  expect(fine.recordErrors).toEqual([]);
  expect(await logEndOffset()).toBe(1n);
});

test("kafkajs: a record older than message.timestamp.before.max.ms is refused with INVALID_TIMESTAMP", async () => {
  const kafka = new Kafka({ clientId: "runnel-timestamps", brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const producer = kafka.producer();
  await producer.connect();
  try {
    let refusal: { type?: string } | undefined;
    await producer
      .send({ topic, acks: -1, messages: [{ value: "old", timestamp: String(Date.now() - 2 * hourMs) }] })
      .catch((error: { type?: string; originalError?: { type?: string } }) => (refusal = error.originalError ?? error));
    expect(refusal?.type).toBe("INVALID_TIMESTAMP");
    const sent = await producer.send({ topic, acks: -1, messages: [{ value: "new", timestamp: String(Date.now()) }] });
    expect(sent[0]!.errorCode).toBe(0);
  } finally {
    await producer.disconnect();
  }
  expect(await logEndOffset()).toBe(2n);
});

test("more than one record batch for a partition is INVALID_RECORD (v3+: exactly one, as Kafka) and nothing is appended", async () => {
  const before = await logEndOffset();
  const batch = () => buildRecordBatch({ records: [{ value: "a", timestamp: Date.now() }, { value: "b", timestamp: Date.now() }] });
  const one = batch();
  const two = new Uint8Array(one.length * 2);
  two.set(one, 0);
  two.set(batch(), one.length);
  const refused = await produce(8, two);
  expect(refused.errorCode).toBe(ErrorCode.INVALID_RECORD);
  expect(refused.errorMessage).toContain("exactly one record batch");
  expect(await logEndOffset()).toBe(before);
  expect((await produce(8, one)).errorCode).toBe(ErrorCode.NONE);
  expect(await logEndOffset()).toBe(before + 2n);
});

test("a compacted topic refuses records without a key: INVALID_RECORD naming them, nothing appended; kafkajs sees it", async () => {
  const compacted = "compacted-keys";
  const created = await connection.request(CreateTopicsApi!, {
    topics: [{ name: compacted, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: "cleanup.policy", value: "compact" }] }],
    timeoutMs: 5000,
  }, { version: 4 });
  expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
  const produceTo = async (records: Uint8Array) => {
    const response = await connection.request(ProduceApi!, {
      transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: compacted, partitionData: [{ index: 0, records }] }],
    }, { version: 8 });
    return response.responses[0].partitionResponses[0];
  };
  for (const compression of [0, 4]) {
    const refused = await produceTo(buildRecordBatch({ compression, records: [{ key: "a", value: "1" }, { key: null, value: "2" }, { key: "b", value: null }] }));
    expect(refused.errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect(refused.recordErrors.map((record: { batchIndex: number }) => record.batchIndex)).toEqual([1]);
    expect(refused.recordErrors[0].batchIndexErrorMessage).toContain("without a key");
  }
  const accepted = await produceTo(buildRecordBatch({ records: [{ key: "a", value: "1" }, { key: "b", value: null }] }));
  expect(accepted.errorCode).toBe(ErrorCode.NONE);
  expect(accepted.baseOffset).toBe(0n);

  const kafka = new Kafka({ clientId: "runnel-compacted", brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const producer = kafka.producer();
  await producer.connect();
  try {
    let refusal: { type?: string } | undefined;
    await producer.send({ topic: compacted, acks: -1, messages: [{ value: "keyless" }] })
      .catch((error: { type?: string; originalError?: { type?: string } }) => (refusal = error.originalError ?? error));
    expect(refusal?.type).toBe("INVALID_RECORD");
    expect((await producer.send({ topic: compacted, acks: -1, messages: [{ key: "k", value: "keyed" }] }))[0]!.baseOffset).toBe("2");
  } finally {
    await producer.disconnect();
  }
});
