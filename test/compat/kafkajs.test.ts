// kafkajs 2.2.4 against a real broker process: admin create/list/delete topics; produce records
// with keys, headers and null values (acks -1, gzip); consume them back with a consumer group
// (kafkajs has no group-less consumer); check every record.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { CompressionTypes, Kafka, logLevel } from "kafkajs";
import { startBroker, type Broker } from "../helpers/broker.ts";

let broker: Broker;
beforeAll(async () => {
  broker = await startBroker({ set: { "group.initial.rebalance.delay.ms": 0 } });
});
afterAll(async () => {
  await broker?.stop();
});

const topic = "kafkajs-roundtrip";
const count = 300;

function expected(index: number) {
  return {
    key: index % 4 === 0 ? null : `key-${index}`,
    value: index % 5 === 0 ? null : `value-${index}`,
    headers: (index % 3 === 0 ? {} : { index: String(index), empty: "" }) as Record<string, string>,
  };
}

test("admin, produce with keys/headers/null values, consume in a group", async () => {
  const kafka = new Kafka({ clientId: "runnel-kafkajs", brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  expect(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }, { topic: "kafkajs-doomed" }] })).toBe(true);
  expect(await admin.listTopics()).toEqual(expect.arrayContaining([topic, "kafkajs-doomed"]));
  await admin.deleteTopics({ topics: ["kafkajs-doomed"] });
  expect(await admin.listTopics()).not.toContain("kafkajs-doomed");
  const offsets = await admin.fetchTopicOffsets(topic);
  expect(offsets.map((entry) => entry.high)).toEqual(["0", "0"]);
  await admin.disconnect();

  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  for (let start = 0; start < count; start += 100) {
    const messages = [];
    for (let index = start; index < start + 100; index++) {
      const record = expected(index);
      messages.push({ partition: index % 2, key: record.key, value: record.value, headers: record.headers });
    }
    await producer.send({ topic, messages, acks: -1, compression: start === 0 ? CompressionTypes.GZIP : CompressionTypes.None });
  }
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: "kafkajs-group", maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = new Map<number, { key: string | null; value: string | null; headers: Record<string, string> }>();
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        const index = Number(message.offset) * 2 + partition;
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
        seen.set(index, { key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers });
        if (seen.size === count) resolve();
      },
    });
  });
  await done;
  await consumer.disconnect();
  for (let index = 0; index < count; index++) expect({ index, ...seen.get(index)! }).toEqual({ index, ...expected(index) });
}, 60000);
