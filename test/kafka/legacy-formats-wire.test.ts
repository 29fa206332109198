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
import { buildRecordBatch, compressionOf, decodeRecords, splitBatches } from "../../src/protocol/record-batch.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { connectTo } from "../helpers/connection.ts";
import { decodeSet, encodeMessage, encodeSet, type TestMessage } from "../helpers/legacy-messages.ts";

const { ProduceApi, FetchApi, ListOffsetsApi, CreateTopicsApi } = generated as unknown as Record<string, AnyApi>;
const text = new TextDecoder();
let broker: Broker;
let connection: KafkaConnection;

beforeAll(async () => {
  broker = await startBroker();
  connection = await connectTo(broker.bootstrap);
  const topics = [
    ["legacy", []], ["legacy-append-time", [{ name: "message.timestamp.type", value: "LogAppendTime" }]], ["legacy-new", []],
    ["legacy-refused", [{ name: "message.downconversion.enable", value: "false" }]],
  ] as const;
  for (const [name, configs] of topics) {
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

test("Fetch v0-3 down-convert RecordBatch v2: magic 0 for v0-1, magic 1 for v2-3, codec kept, offsets, keys, timestamps", async () => {
  const records = (base: number) => Array.from({ length: 3 }, (_, index) => ({ key: `k${base + index}`, value: `v${base + index}`, timestamp: 1_700_000_000_000 + base + index, headers: [{ key: "h", value: "x" }] }));
  expect((await produce("legacy-new", 8, buildRecordBatch({ records: records(0) }))).partition.errorCode).toBe(ErrorCode.NONE);
  expect((await produce("legacy-new", 8, buildRecordBatch({ records: records(3), compression: 3 }))).partition.errorCode).toBe(ErrorCode.NONE);
  for (const version of [0, 1, 2, 3]) {
    const partition = await fetch("legacy-new", version, 1n);
    expect(partition.errorCode).toBe(ErrorCode.NONE);
    expect(partition.highWatermark).toBe(6n);
    const { messages, partialBytes } = decodeSet(partition.records as Uint8Array);
    expect(partialBytes).toBe(0);
    const magic = version < 2 ? 0 : 1;
    expect(messages.map((message) => [message.offset, message.magic, message.attributes & 7, message.crcOk])).toEqual([
      [1n, magic, 0, true], [2n, magic, 0, true], [5n, magic, 3, true],
    ]);
    expect(messages.slice(0, 2).map((message) => [text.decode(message.key!), text.decode(message.value!), message.timestamp])).toEqual([
      ["k1", "v1", magic === 1 ? 1_700_000_000_001n : -1n], ["k2", "v2", magic === 1 ? 1_700_000_000_002n : -1n],
    ]);
  }
});

test("Fetch v0-2: a first message above partition_max_bytes comes partial; v3: whole (KIP-74); later partitions only what fits", async () => {
  expect((await produce("legacy-new", 8, buildRecordBatch({ records: [{ key: "big", value: "x".repeat(5000), timestamp: Date.now() }] }))).partition.errorCode).toBe(ErrorCode.NONE);
  for (const version of [0, 1, 2]) {
    const partition = await fetch("legacy-new", version, 6n, 1000);
    expect((partition.records as Uint8Array).length).toBe(1000);
    expect(decodeSet(partition.records as Uint8Array).messages).toEqual([]);
  }
  const v3 = await fetch("legacy-new", 3, 6n, 1000, 1000);
  const { messages } = decodeSet(v3.records as Uint8Array);
  expect(messages.map((message) => message.offset)).toEqual([6n]);
  expect(messages[0]!.value!.length).toBe(5000);
  // Whole messages only within the limit: 2 of the first 3 (each 12 + 22 + 2 + 2 bytes in magic 1).
  const two = await fetch("legacy-new", 2, 0n, 2 * 38 + 10);
  expect(decodeSet(two.records as Uint8Array)).toEqual({ messages: expect.any(Array), partialBytes: 0 });
  expect(decodeSet(two.records as Uint8Array).messages.map((message) => message.offset)).toEqual([0n, 1n]);
});

test("message.downconversion.enable=false: Fetch v0-3 get UNSUPPORTED_VERSION, v4+ read as usual", async () => {
  expect((await produce("legacy-refused", 8, buildRecordBatch({ records: [{ value: "v2 only", timestamp: Date.now() }] }))).partition.errorCode).toBe(ErrorCode.NONE);
  for (const version of [0, 1, 2, 3]) expect((await fetch("legacy-refused", version, 0n)).errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
  const v4 = await fetch("legacy-refused", 4, 0n);
  expect(v4.errorCode).toBe(ErrorCode.NONE);
  expect(splitBatches(v4.records as Uint8Array).length).toBe(1);
});

test("zstd data cannot be down-converted: UNSUPPORTED_COMPRESSION_TYPE, as Kafka answers Fetch < v10", async () => {
  const before = await logEndOffset("legacy-new");
  expect((await produce("legacy-new", 8, buildRecordBatch({ records: [{ value: "z", timestamp: Date.now() }], compression: 4 }))).partition.errorCode).toBe(ErrorCode.NONE);
  expect((await fetch("legacy-new", 3, before)).errorCode).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
});
