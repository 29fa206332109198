// Message formats v0 and v1 on the wire against a real broker process: Produce v0-2 message sets
// up-converted to RecordBatch v2 (read back with Fetch v4 as v2 batches: keys, values, timestamps,
// codec), the v0-2 response shapes, LogAppendTime on magic 0, refused sets answered with Kafka's
// codes and nothing appended; Fetch v0-3 down-converted (see the Fetch tests below).

import { afterAll, beforeAll, expect, test } from "bun:test";
import type { KafkaConnection } from "../../src/client/connection.ts";
import type { AnyApi } from "../../src/protocol/api.ts";
import { compress } from "../../src/protocol/compression.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import * as generated from "../../src/protocol/generated/index.ts";
import { compressionOf, decodeRecords, splitBatches } from "../../src/protocol/record-batch.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { connectTo } from "../helpers/connection.ts";
import { encodeMessage, encodeSet, type TestMessage } from "../helpers/legacy-messages.ts";

const { ProduceApi, FetchApi, ListOffsetsApi, CreateTopicsApi } = generated as unknown as Record<string, AnyApi>;
const text = new TextDecoder();
let broker: Broker;
let connection: KafkaConnection;

beforeAll(async () => {
  broker = await startBroker();
  connection = await connectTo(broker.bootstrap);
  for (const [name, configs] of [["legacy", []], ["legacy-append-time", [{ name: "message.timestamp.type", value: "LogAppendTime" }]]] as const) {
    const created = await connection.request(CreateTopicsApi!, { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs }], timeoutMs: 5000 }, { version: 4 });
    expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
  }
});

afterAll(async () => {
  connection?.close();
  await broker?.stop();
});

async function produce(topic: string, version: number, records: Uint8Array) {
  const response = await connection.request(ProduceApi!, {
    transactionalId: null, acks: -1, timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  }, { version });
  return { partition: response.responses[0].partitionResponses[0], throttleTimeMs: response.throttleTimeMs };
}

async function logEndOffset(topic: string): Promise<bigint> {
  const response = await connection.request(ListOffsetsApi!, {
    replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
  }, { version: 5 });
  return response.topics[0].partitions[0].offset;
}

/** Fetch at `version` from `offset`: the partition's answer. */
async function fetch(topic: string, version: number, offset: bigint, partitionMaxBytes = 1 << 20, maxBytes = 1 << 24) {
  const response = await connection.request(FetchApi!, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, logStartOffset: -1n, partitionMaxBytes }] }],
    forgottenTopicsData: [], rackId: "",
  }, { version });
  return response.responses[0].partitions[0];
}

async function storedRecords(topic: string, offset: bigint) {
  const partition = await fetch(topic, 4, offset);
  expect(partition.errorCode).toBe(ErrorCode.NONE);
  return splitBatches(partition.records as Uint8Array).map((batch) => ({ codec: compressionOf(batch.header.attributes), records: decodeRecords(batch) }));
}

test("Produce v0 and v1 (magic 0) and v2 (magic 1, gzip) are appended as RecordBatch v2; v0-2 answers decode", async () => {
  const v0 = await produce("legacy", 0, encodeSet([{ magic: 0, key: "a", value: "one" }, { magic: 0, key: null, value: "two" }]));
  expect(v0.partition.errorCode).toBe(ErrorCode.NONE);
  expect(v0.partition.baseOffset).toBe(0n);
  const v1 = await produce("legacy", 1, encodeSet([{ magic: 0, key: "b", value: "three" }]));
  expect(v1.partition.errorCode).toBe(ErrorCode.NONE);
  expect(v1.partition.baseOffset).toBe(2n);
  expect(v1.throttleTimeMs).toBe(0);
  const inner: TestMessage[] = [{ magic: 1, offset: 0n, timestamp: 1_700_000_000_001n, key: "c", value: "four" }, { magic: 1, offset: 1n, timestamp: 1_700_000_000_002n, key: "d", value: "five" }];
  const wrapper = encodeMessage({ magic: 1, offset: 1n, attributes: 1, timestamp: 1_700_000_000_002n, key: null, value: compress(1, encodeSet(inner)) });
  const v2 = await produce("legacy", 2, wrapper);
  expect(v2.partition.errorCode).toBe(ErrorCode.NONE);
  expect(v2.partition.baseOffset).toBe(3n);
  expect(v2.partition.logAppendTimeMs).toBe(-1n);
  const batches = await storedRecords("legacy", 0n);
  expect(batches.map((batch) => batch.codec)).toEqual([0, 0, 1]);
  const records = batches.flatMap((batch) => batch.records);
  expect(records.map((record) => record.offset)).toEqual([0n, 1n, 2n, 3n, 4n]);
  expect(records.map((record) => text.decode(record.value!))).toEqual(["one", "two", "three", "four", "five"]);
  expect(records.map((record) => record.timestamp)).toEqual([-1n, -1n, -1n, 1_700_000_000_001n, 1_700_000_000_002n]);
});

test("magic 0 on a LogAppendTime topic gets the broker's time (logAppendTimeMs in Produce v2)", async () => {
  const before = BigInt(Date.now());
  const answer = await produce("legacy-append-time", 2, encodeSet([{ magic: 0, value: "stamped" }]));
  expect(answer.partition.errorCode).toBe(ErrorCode.NONE);
  expect(answer.partition.logAppendTimeMs).toBeGreaterThanOrEqual(before);
  const [batch] = await storedRecords("legacy-append-time", 0n);
  expect(batch!.records[0]!.timestamp).toBe(answer.partition.logAppendTimeMs);
});

test("refused sets: Kafka's codes per partition, nothing appended, the connection keeps serving", async () => {
  const before = await logEndOffset("legacy");
  const good = encodeMessage({ magic: 1, timestamp: 1n, value: "fine" });
  const badCrc = good.slice();
  badCrc[badCrc.length - 1]! ^= 0xff;
  const lying = good.slice();
  new DataView(lying.buffer).setInt32(8, 9999);
  const nested = encodeMessage({ magic: 1, attributes: 2, key: null, value: compress(2, encodeMessage({ magic: 1, attributes: 2, key: null, value: compress(2, good) })) });
  const bomb = encodeMessage({ magic: 1, attributes: 1, key: null, value: compress(1, encodeMessage({ magic: 1, value: new Uint8Array(100 * 1024 * 1024) })) });
  for (const [records, code] of [[badCrc, ErrorCode.CORRUPT_MESSAGE], [lying, ErrorCode.CORRUPT_MESSAGE], [nested, ErrorCode.INVALID_RECORD], [bomb, ErrorCode.CORRUPT_MESSAGE]] as const) {
    const answer = await produce("legacy", 2, records);
    expect(answer.partition.errorCode).toBe(code);
    expect(answer.partition.baseOffset).toBe(-1n);
  }
  expect(await logEndOffset("legacy")).toBe(before);
  expect((await produce("legacy", 2, good)).partition.errorCode).toBe(ErrorCode.NONE);
  expect(await logEndOffset("legacy")).toBe(before + 1n);
});
