// Fetch against a real broker process over its real partition logs: long polling by minBytes and
// maxWaitMs woken by appends (an append smaller than minBytes does not answer it, a later one that
// completes minBytes does); maxWaitMs answered empty when nothing comes; read_committed answered
// with the last stable offset and an empty aborted-transactions list; a response maxBytes smaller
// than the first batch still returns that batch whole (KIP-74) and nothing after it.

import { afterAll, beforeAll, expect, test } from "bun:test";
import type { AnyApi } from "../../src/protocol/api.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import * as generated from "../../src/protocol/generated/index.ts";
import { buildRecordBatch, splitBatches } from "../../src/protocol/record-batch.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { connectTo } from "../helpers/connection.ts";
import type { KafkaConnection } from "../../src/client/connection.ts";

const { ProduceApi, FetchApi, CreateTopicsApi, ApiVersionsApi } = generated as unknown as Record<string, AnyApi>;
let broker: Broker;
let producer: KafkaConnection;
let consumer: KafkaConnection;

beforeAll(async () => {
  broker = await startBroker();
  producer = await connectTo(broker.bootstrap);
  consumer = await connectTo(broker.bootstrap);
});

afterAll(async () => {
  producer?.close();
  consumer?.close();
  await broker?.stop();
});

async function createTopic(name: string): Promise<void> {
  const created = await producer.request(CreateTopicsApi!, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000,
  }, { version: 4 });
  expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
}

async function produce(topic: string, valueBytes: number): Promise<Uint8Array> {
  const batch = buildRecordBatch({ records: [{ value: new Uint8Array(valueBytes).fill(120) }] });
  const response = await producer.request(ProduceApi!, {
    transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
  }, { version: 8 });
  expect(response.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
  return batch;
}

function fetch(topic: string, options: { minBytes: number; maxWaitMs: number; maxBytes?: number; isolationLevel?: number }) {
  return consumer.request(FetchApi!, {
    replicaId: -1, maxWaitMs: options.maxWaitMs, minBytes: options.minBytes, maxBytes: options.maxBytes ?? 1 << 20,
    isolationLevel: options.isolationLevel ?? 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, logStartOffset: -1n, currentLeaderEpoch: -1 }] }],
    forgottenTopicsData: [], rackId: "",
  }, { version: 11, timeoutMs: 30000 });
}

test("minBytes: a small append does not answer the long poll, the append that completes minBytes does", async () => {
  await createTopic("long-poll");
  let answered = false;
  const pending = fetch("long-poll", { minBytes: 3000, maxWaitMs: 25000 }).then((response) => {
    answered = true;
    return response;
  });
  await produce("long-poll", 100);
  // A fence instead of a sleep: the append woke the long poll, which re-reads the log in the same
  // turn of the broker's event loop (setImmediate after the append). A round trip on the other
  // connection is handled in a later turn, so once its answer is here the fetch was re-evaluated;
  // had it been answered, its bytes were sent first and are read in the next turn of ours.
  await producer.request(ApiVersionsApi!, { clientSoftwareName: "fence", clientSoftwareVersion: "1" }, { version: 3 });
  await new Promise<void>((resolve) => setImmediate(resolve));
  expect(answered).toBe(false);
  await produce("long-poll", 5000);
  const response = await pending;
  const partition = response.responses[0].partitions[0];
  expect(partition.errorCode).toBe(ErrorCode.NONE);
  expect(partition.highWatermark).toBe(2n);
  expect(splitBatches(partition.records).map((batch) => batch.header.baseOffset)).toEqual([0n, 1n]);
});

test("maxWaitMs: answered empty when minBytes never arrives", async () => {
  await createTopic("long-poll-idle");
  const started = performance.now();
  const response = await fetch("long-poll-idle", { minBytes: 1, maxWaitMs: 300 });
  expect(performance.now() - started).toBeGreaterThanOrEqual(250);
  const partition = response.responses[0].partitions[0];
  expect(partition.errorCode).toBe(ErrorCode.NONE);
  expect(partition.records.length).toBe(0);
});

test("read_committed: last stable offset and an empty aborted-transactions list; maxBytes below the first batch returns it whole", async () => {
  await createTopic("committed");
  const first = await produce("committed", 4000);
  await produce("committed", 4000);
  const committed = (await fetch("committed", { minBytes: 1, maxWaitMs: 0, isolationLevel: 1 })).responses[0].partitions[0];
  expect(committed.lastStableOffset).toBe(2n);
  expect(committed.highWatermark).toBe(2n);
  expect(committed.abortedTransactions).toEqual([]);
  const small = (await fetch("committed", { minBytes: 1, maxWaitMs: 0, maxBytes: 10 })).responses[0].partitions[0];
  expect(small.records.length).toBe(first.length);
  expect(splitBatches(small.records).map((batch) => batch.header.baseOffset)).toEqual([0n]);
});
