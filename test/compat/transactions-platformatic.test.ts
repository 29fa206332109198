// @platformatic/kafka 2.12 transactions against a real broker process: a transactional producer
// (transactionalId, idempotent) commits one transaction spanning several partitions of two topics
// and carrying a consumer group's offset (addConsumer + addOffset: AddOffsetsToTxn and
// TxnOffsetCommit), then aborts a second one that also carries an offset. A read_committed
// consumer sees exactly the committed records, a read_uncommitted one sees the aborted ones too,
// the group's committed offset is the committed transaction's, and a second producer with the
// same transactionalId fences the first (its commit fails).

import { afterAll, beforeAll, expect, test } from "bun:test";
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers, type Message } from "@platformatic/kafka";
import { startBroker, type Broker } from "../helpers/broker.ts";

let broker: Broker;
beforeAll(async () => {
  broker = await startBroker({ set: { "group.initial.rebalance.delay.ms": 0, "transaction.state.log.num.partitions": 3, "offsets.topic.num.partitions": 3 } });
});
afterAll(async () => {
  await broker?.stop();
});

const topicA = "platformatic-txn-a";
const topicB = "platformatic-txn-b";
const sourceTopic = "platformatic-txn-source";
const groupId = "platformatic-txn-group";
/** Every partition the transactions write to: topic A has 3 partitions, topic B has 2. */
const targets = [
  ...[0, 1, 2].map((partition) => ({ topic: topicA, partition })),
  ...[0, 1].map((partition) => ({ topic: topicB, partition })),
];

function transactionalProducer(clientId: string) {
  return new Producer({
    clientId,
    bootstrapBrokers: [broker.bootstrap],
    serializers: stringSerializers,
    idempotent: true,
    transactionalId: "platformatic-app",
  });
}

/** `count` records on every target partition, valued `${prefix}-${topic}-${partition}-${index}`. */
function recordsFor(prefix: string, count: number) {
  return targets.flatMap(({ topic, partition }) =>
    Array.from({ length: count }, (_, index) => ({ topic, partition, key: "k", value: `${prefix}-${topic}-${partition}-${index}` })),
  );
}

/**
 * Reads both topics from the earliest offset with the given isolation level until an "end"
 * record has arrived on every target partition (`ends` of them each); returns the values seen.
 */
async function readAll(isolationLevel: 0 | 1, name: string, ends = 1): Promise<string[]> {
  const consumer = new Consumer({
    clientId: `platformatic-txn-reader-${name}`,
    groupId: `platformatic-txn-reader-${name}`,
    bootstrapBrokers: [broker.bootstrap],
    deserializers: stringDeserializers,
    isolationLevel,
    autocommit: false,
  });
  const values: string[] = [];
  const endsSeen = new Map<string, number>();
  try {
    const stream = await consumer.consume({ topics: [topicA, topicB], mode: "earliest", maxWaitTime: 200 });
    await new Promise<void>((resolve, reject) => {
      stream.on("error", reject);
      stream.on("data", (message: Message<string, string, string, string>) => {
        values.push(message.value);
        if (!message.value.startsWith("end")) return;
        const where = `${message.topic}-${message.partition}`;
        endsSeen.set(where, (endsSeen.get(where) ?? 0) + 1);
        if (targets.every(({ topic, partition }) => (endsSeen.get(`${topic}-${partition}`) ?? 0) >= ends)) resolve();
      });
    });
    await stream.close();
  } finally {
    await consumer.close(true);
  }
  return values;
}

/** The offset `groupId` committed for the source topic's partition 0, or null if none. */
async function committedOffset(admin: Admin): Promise<bigint | null> {
  const [group] = await admin.listConsumerGroupOffsets({ groups: [groupId], requireStable: true });
  const partition = group?.topics.find((topic) => topic.name === sourceTopic)?.partitions.find((entry) => entry.partitionIndex === 0);
  return partition === undefined || partition.committedOffset < 0n ? null : partition.committedOffset;
}

/** A group member of `groupId` and the first `count` records it consumed from the source topic. */
async function sourceMessages(count: number) {
  const consumer = new Consumer({
    clientId: "platformatic-txn-source-reader",
    groupId,
    bootstrapBrokers: [broker.bootstrap],
    deserializers: stringDeserializers,
    autocommit: false,
  });
  const stream = await consumer.consume({ topics: [sourceTopic], mode: "earliest", maxWaitTime: 200 });
  const messages: Message<string, string, string, string>[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on("error", reject);
    stream.on("data", (message: Message<string, string, string, string>) => {
      messages.push(message);
      if (messages.length === count) resolve();
    });
  });
  stream.pause();
  return { consumer, stream, messages };
}

test("commit across two topics with offsets, abort, read_committed / read_uncommitted, fencing", async () => {
  const admin = new Admin({ clientId: "platformatic-txn-admin", bootstrapBrokers: [broker.bootstrap] });
  const producer = transactionalProducer("platformatic-txn-producer");
  const plain = new Producer({ clientId: "platformatic-txn-plain", bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers });
  let newer: Producer<string, string, string, string> | undefined;
  let source: Awaited<ReturnType<typeof sourceMessages>> | undefined;
  try {
    await admin.createTopics({ topics: [topicA], partitions: 3, replicas: 1 });
    await admin.createTopics({ topics: [topicB], partitions: 2, replicas: 1 });
    await admin.createTopics({ topics: [sourceTopic], partitions: 1, replicas: 1 });
    await plain.send({ messages: Array.from({ length: 10 }, (_, index) => ({ topic: sourceTopic, partition: 0, key: "s", value: `source-${index}` })), acks: -1 });
    source = await sourceMessages(10);

    // Committed: 3 records on each of the 5 partitions plus the group's offset after source-4.
    const committed = await producer.beginTransaction();
    await committed.send({ messages: recordsFor("committed", 3) });
    await committed.addConsumer(source.consumer);
    await committed.addOffset(source.messages[4]!);
    await committed.commit();
    expect(await committedOffset(admin)).toBe(5n);

    // Aborted: 2 records on each partition and an offset after source-8, all rolled back.
    const aborted = await producer.beginTransaction();
    await aborted.send({ messages: recordsFor("aborted", 2) });
    await aborted.addConsumer(source.consumer);
    await aborted.addOffset(source.messages[8]!);
    await aborted.abort();
    expect(await committedOffset(admin)).toBe(5n);

    const last = await producer.beginTransaction();
    await last.send({ messages: targets.map(({ topic, partition }) => ({ topic, partition, key: "k", value: "end" })) });
    await last.commit();

    const expectedCommitted = [...recordsFor("committed", 3).map((record) => record.value), ...targets.map(() => "end")].sort();
    const readCommitted = await readAll(1, "committed");
    expect([...readCommitted].sort()).toEqual(expectedCommitted);
    const readUncommitted = await readAll(0, "uncommitted");
    expect([...readUncommitted].sort()).toEqual([...expectedCommitted, ...recordsFor("aborted", 2).map((record) => record.value)].sort());

    // A second incarnation fences the first: initializing it aborts the zombie's open transaction
    // and bumps the epoch, so the zombie's commit fails.
    const zombie = await producer.beginTransaction();
    await zombie.send({ messages: [{ topic: topicA, partition: 0, key: "k", value: "zombie" }] });
    newer = transactionalProducer("platformatic-txn-newer");
    // The client sends InitProducerId v5 with producerId 0 / epoch 0 unless told otherwise, which
    // Kafka (KIP-360) reads as "I am producer 0 at epoch 0" and fences unless that is the current
    // incarnation; a new incarnation says -1 / -1 ("no previous id"), as librdkafka and the Java client do.
    const newerTransaction = await newer.beginTransaction({ producerId: -1n, producerEpoch: -1 });
    await newerTransaction.send({ messages: targets.map(({ topic, partition }) => ({ topic, partition, key: "k", value: "end-newer" })) });
    await newerTransaction.commit();
    const zombieCommit = await zombie.commit().then(() => null, (error: unknown) => error);
    expect(zombieCommit).toBeInstanceOf(Error);
    // EndTxn v4 from the old epoch: PRODUCER_FENCED (error code 90), as Kafka answers.
    const causes = (zombieCommit as { errors?: { apiId?: string }[] }).errors ?? [];
    expect(causes.map((cause) => cause.apiId)).toContain("PRODUCER_FENCED");
    const afterFencing = await readAll(1, "after-fencing", 2);
    expect(afterFencing.filter((value) => value === "end-newer").length).toBe(targets.length);
    expect(afterFencing).not.toContain("zombie");
  } finally {
    if (source) {
      await source.stream.close().catch(() => {});
      await source.consumer.close(true).catch(() => {});
    }
    await newer?.close().catch(() => {});
    await producer.close().catch(() => {});
    await plain.close().catch(() => {});
    await admin.close().catch(() => {});
  }
}, 60000);
