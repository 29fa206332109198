// kafkajs 2.2.4 transactions against a real broker process: a transactional producer commits one
// transaction (with sendOffsets for a group) and aborts another; a read_committed consumer group
// sees only the committed records and a read_uncommitted one sees both; the group's committed
// offset is the committed transaction's. A second producer with the same transactionalId fences
// the first.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { Kafka, logLevel, type EachMessagePayload } from "kafkajs";
import { startBroker, type Broker } from "../helpers/broker.ts";

let broker: Broker;
beforeAll(async () => {
  broker = await startBroker({ set: { "group.initial.rebalance.delay.ms": 0, "transaction.state.log.num.partitions": 3, "offsets.topic.num.partitions": 3 } });
});
afterAll(async () => {
  await broker?.stop();
});

const topic = "kafkajs-transactions";

/** Consumes `topic` in a new group until the record "end" arrives; returns the values seen. */
async function consumeUntilEnd(kafka: Kafka, readUncommitted: boolean, name = String(readUncommitted), ends = 1): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `kafkajs-txn-reader-${name}`, readUncommitted });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      consumer.run({
        eachMessage: async ({ message }: EachMessagePayload) => {
          const value = message.value?.toString() ?? "";
          values.push(value);
          if (value === "end" && values.filter((seen) => seen === "end").length >= ends) resolve();
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return values;
}

test("commit, abort, sendOffsets, read_committed and read_uncommitted, fencing", async () => {
  const kafka = new Kafka({ clientId: "runnel-kafkajs-txn", brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });

  const producer = kafka.producer({ transactionalId: "kafkajs-app", maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  const committed = await producer.transaction();
  await committed.send({ topic, messages: Array.from({ length: 10 }, (_, index) => ({ value: `committed-${index}` })) });
  await committed.sendOffsets({ consumerGroupId: "kafkajs-txn-group", topics: [{ topic, partitions: [{ partition: 0, offset: "10" }] }] });
  await committed.commit();

  const aborted = await producer.transaction();
  await aborted.send({ topic, messages: Array.from({ length: 7 }, (_, index) => ({ value: `aborted-${index}` })) });
  await aborted.sendOffsets({ consumerGroupId: "kafkajs-txn-group", topics: [{ topic, partitions: [{ partition: 0, offset: "99" }] }] });
  await aborted.abort();

  const last = await producer.transaction();
  await last.send({ topic, messages: [{ value: "end" }] });
  await last.commit();

  const offsets = await admin.fetchOffsets({ groupId: "kafkajs-txn-group", topics: [topic] });
  expect(offsets[0]!.partitions).toEqual([expect.objectContaining({ partition: 0, offset: "10" })]);

  const readCommitted = await consumeUntilEnd(kafka, false);
  expect(readCommitted).toEqual([...Array.from({ length: 10 }, (_, index) => `committed-${index}`), "end"]);
  const readUncommitted = await consumeUntilEnd(kafka, true);
  expect(readUncommitted.length).toBe(18);
  expect(readUncommitted.filter((value) => value.startsWith("aborted-")).length).toBe(7);

  // A second incarnation fences the first: the zombie's open transaction is aborted when the newer
  // producer initializes, and its commit then fails.
  const zombie = await producer.transaction();
  await zombie.send({ topic, messages: [{ value: "zombie" }] });
  const newer = kafka.producer({ transactionalId: "kafkajs-app", maxInFlightRequests: 1, idempotent: true });
  await newer.connect();
  const newerTransaction = await newer.transaction();
  await newerTransaction.send({ topic, messages: [{ value: "newer" }, { value: "end" }] });
  await newerTransaction.commit();
  const zombieCommit = await zombie.commit().then(() => null, (error: unknown) => error);
  expect(zombieCommit).toBeInstanceOf(Error);
  const afterFencing = await consumeUntilEnd(kafka, false, "after-fencing", 2);
  expect(afterFencing).toContain("newer");
  expect(afterFencing.some((value) => value === "zombie")).toBe(false);
  await producer.disconnect();
  await newer.disconnect();
  await admin.disconnect();
}, 60000);
