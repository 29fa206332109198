// ListOffsets through @platformatic/kafka 2.12 (ListOffsets v5-v9) against a real broker process:
// earliest (-2), latest (-1), by timestamp (the first RECORD at or after it, inside a batch) and
// max timestamp (-3, v7+: the offset of the record holding the largest timestamp, as Kafka 3.8+
// answers, not the start of its batch). A missing client is a failure, never a skip.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { Admin, Producer, stringSerializers } from "@platformatic/kafka";
import { startBroker, type Broker } from "../helpers/broker.ts";

let broker: Broker;
let admin: Admin;

beforeAll(async () => {
  broker = await startBroker();
  admin = new Admin({ clientId: "runnel-platformatic-list-offsets", bootstrapBrokers: [broker.bootstrap], retries: 0 });
});

afterAll(async () => {
  await admin?.close();
  await broker?.stop();
});

test("earliest, latest, by timestamp and max timestamp (-3) name records, not batches", async () => {
  const topic = "platformatic-list-offsets";
  await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
  const base = BigInt(Date.now()) - 60_000n;
  // One batch (one send, one partition): the largest timestamp is held by its middle record (offset 2).
  // A second batch holds only older timestamps (offsets 5-6).
  const first = [0n, 1_000n, 9_000n, 3_000n, 4_000n];
  const second = [5_000n, 6_000n];
  const producer = new Producer({ clientId: "runnel-lo-producer", bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers, autocreateTopics: false });
  try {
    for (const deltas of [first, second]) {
      await producer.send({ acks: -1, messages: deltas.map((delta, index) => ({ topic, partition: 0, value: `v${index}`, timestamp: base + delta })) });
    }
  } finally {
    await producer.close();
  }
  const lookUp = async (timestamp: bigint) => {
    const [listed] = await admin.listOffsets({ topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp }] }] });
    const partition = listed!.partitions[0]!;
    return { offset: partition.offset, timestamp: partition.timestamp };
  };
  expect((await lookUp(-2n)).offset).toBe(0n);
  expect((await lookUp(-1n)).offset).toBe(7n);
  expect(await lookUp(-3n)).toEqual({ offset: 2n, timestamp: base + 9_000n });
  // By timestamp: the first record (in offset order) whose timestamp is at or after it.
  expect(await lookUp(base + 500n)).toEqual({ offset: 1n, timestamp: base + 1_000n });
  expect(await lookUp(base + 9_000n)).toEqual({ offset: 2n, timestamp: base + 9_000n });
  expect((await lookUp(base + 10_000n)).offset).toBe(-1n);
});
