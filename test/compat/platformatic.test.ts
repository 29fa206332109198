// @platformatic/kafka 2.12 (flexible versions, Metadata v10+ / Fetch v13+ by topic id): admin
// create/list/delete topics, produce with keys, headers and null values, and read everything back
// with Consumer.fetch (no group) after a broker restart.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from "@platformatic/kafka";
import { startBroker, type Broker } from "../helpers/broker.ts";

let broker: Broker;
beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker?.stop();
});

const count = 300;
const topic = "platformatic-roundtrip";

function expected(index: number) {
  return {
    key: index % 4 === 0 ? null : `key-${index}`,
    value: index % 5 === 0 ? null : `value-${index}`,
    header: `h${index}`,
  };
}

test("admin, produce, restart, fetch by topic id", async () => {
  let idBeforeRestart = "";
  const admin = new Admin({ clientId: "runnel-admin", bootstrapBrokers: [broker.bootstrap] });
  try {
    await admin.createTopics({ topics: [topic, "platformatic-doomed"], partitions: 2, replicas: 1 });
    expect(await admin.listTopics()).toEqual(expect.arrayContaining([topic, "platformatic-doomed"]));
    await admin.deleteTopics({ topics: ["platformatic-doomed"] });
    expect(await admin.listTopics()).not.toContain("platformatic-doomed");
    idBeforeRestart = (await admin.metadata({ topics: [topic] })).topics.get(topic)!.id;
  } finally {
    await admin.close();
  }

  const producer = new Producer({ clientId: "runnel-producer", bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers, autocreateTopics: false });
  try {
    const messages = [];
    for (let index = 0; index < count; index++) {
      const record = expected(index);
      messages.push({ topic, partition: index % 2, key: record.key as string, value: record.value as string, headers: { h: record.header } });
    }
    const result = await producer.send({ messages, acks: -1 });
    expect(result.offsets?.length ?? 0).toBeGreaterThan(0);
  } finally {
    await producer.close();
  }

  await broker.restart();

  const consumer = new Consumer({ clientId: "runnel-consumer", groupId: "unused", bootstrapBrokers: [broker.bootstrap], deserializers: stringDeserializers });
  try {
    const metadata = await consumer.metadata({ topics: [topic] });
    const topicInfo = metadata.topics.get(topic)!;
    expect(topicInfo.id).toMatch(/^[0-9a-f-]{36}$|^[A-Za-z0-9_-]{22}$/);
    expect(topicInfo.id).toBe(idBeforeRestart); // topic ids survive a restart
    const seen = new Map<number, { key: unknown; value: unknown; header: unknown }>();
    for (const partition of [0, 1]) {
      let fetchOffset = 0n;
      while (fetchOffset < BigInt(count / 2)) {
        const response = await consumer.fetch({
          node: metadata.topics.get(topic)!.partitions[partition]!.leader,
          topics: [{ topicId: topicInfo.id, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, partitionMaxBytes: 1 << 20 }] }],
          maxWaitTime: 1000,
        });
        const data = response.responses[0]!.partitions[0]!;
        expect(data.errorCode).toBe(0);
        expect(data.highWatermark).toBe(BigInt(count / 2));
        for (const batch of data.records ?? []) {
          for (const record of batch.records) {
            const offset = batch.firstOffset + BigInt(record.offsetDelta);
            if (offset < fetchOffset) continue;
            const index = Number(offset) * 2 + partition;
            const header = record.headers.find(([name]) => name?.toString() === "h")?.[1];
            seen.set(index, { key: record.key?.length ? record.key.toString() : record.key === null || record.key === undefined ? null : "", value: record.value === null || record.value === undefined ? null : record.value.toString(), header: header?.toString() });
            fetchOffset = offset + 1n;
          }
        }
      }
    }
    expect(seen.size).toBe(count);
    for (let index = 0; index < count; index++) {
      const got = seen.get(index)!;
      const want = expected(index);
      expect({ index, value: got.value, header: got.header }).toEqual({ index, value: want.value, header: want.header });
      expect(got.key === null || got.key === "" ? null : got.key).toBe(want.key);
    }
  } finally {
    await consumer.close();
  }
}, 60000);
