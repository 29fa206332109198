// @platformatic/kafka 2.12 group consumers against a real broker process: the classic protocol
// (JoinGroup v6+ flexible) and the KIP-848 consumer protocol (groupProtocol: "consumer",
// ConsumerGroupHeartbeat with the broker's assignor). Two consumers share a topic; every record
// is consumed once; a second run of the group resumes at the committed offsets.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from "@platformatic/kafka";
import { startBroker, type Broker } from "../helpers/broker.ts";

let broker: Broker;
beforeAll(async () => {
  broker = await startBroker({
    set: { "group.initial.rebalance.delay.ms": 0, "group.consumer.heartbeat.interval.ms": 500, "offsets.topic.num.partitions": 3 },
  });
});
afterAll(async () => {
  await broker?.stop();
});

async function produce(topic: string, from: number, count: number): Promise<void> {
  const producer = new Producer({ clientId: "groups-producer", bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers });
  try {
    const messages = Array.from({ length: count }, (_, index) => ({ topic, key: `k${from + index}`, value: String(from + index) }));
    await producer.send({ messages, acks: -1 });
  } finally {
    await producer.close();
  }
}

/** One record in each of the topic's 4 partitions, valued `base - partition` (a fence; see the test). */
async function probe(topic: string, base: number): Promise<void> {
  const producer = new Producer({ clientId: "groups-prober", bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers });
  try {
    const messages = [0, 1, 2, 3].map((partition) => ({ topic, partition, key: `probe${base}-${partition}`, value: String(base - partition) }));
    await producer.send({ messages, acks: -1 });
  } finally {
    await producer.close();
  }
}

/** How many partitions' probes of `base` the members received (each counted once, whoever got it). */
function probesSeen(one: number[], two: number[], base: number): number {
  return new Set([...one, ...two].filter((seen) => seen <= base && seen > base - 4)).size;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** A group member consuming into `sink`, committing each record. */
async function member(groupId: string, topic: string, protocol: "classic" | "consumer", sink: number[]) {
  const consumer = new Consumer({
    clientId: `groups-${protocol}`,
    groupId,
    bootstrapBrokers: [broker.bootstrap],
    deserializers: stringDeserializers,
    groupProtocol: protocol,
    sessionTimeout: 10_000,
    heartbeatInterval: 500,
    autocommit: false,
  });
  const stream = await consumer.consume({ topics: [topic], mode: "committed", fallbackMode: "earliest", maxWaitTime: 200 });
  stream.on("data", async (message) => {
    sink.push(Number(message.value));
    await message.commit();
  });
  return {
    consumer,
    async close() {
      await stream.close();
      await consumer.close(true);
    },
  };
}

for (const protocol of ["classic", "consumer"] as const) {
  test(`platformatic ${protocol} protocol: two members share a topic, a rerun resumes at commits`, async () => {
    const topic = `pf-${protocol}`;
    const groupId = `pf-group-${protocol}`;
    const admin = new Admin({ clientId: "groups-admin", bootstrapBrokers: [broker.bootstrap] });
    await admin.createTopics({ topics: [topic], partitions: 4, replicas: 1 });
    await admin.close();
    const first: number[] = [];
    const second: number[] = [];
    const a = await member(groupId, topic, protocol, first);
    const b = await member(groupId, topic, protocol, second);
    try {
      // Both members settle on a share of the 4 partitions before anything is produced, so that
      // no rebalance happens while records are in flight (platformatic commits asynchronously).
      const owned = (consumer: Consumer<string, string, string, string>) =>
        (consumer.assignments ?? []).reduce((sum, entry) => sum + entry.partitions.length, 0);
      await waitFor(() => owned(a.consumer) > 0 && owned(b.consumer) > 0 && owned(a.consumer) + owned(b.consumer) === 4, "both members assigned", 60_000);
      // A fetch the client sent before the split (a long poll over every partition) may still
      // return records of partitions it gave away. A fence instead of a sleep: one probe record
      // per partition. Each probe wakes every long poll that covers its partition, so once all
      // four probes are consumed, every fetch sent before the split has ended. Probes are
      // negative and not counted.
      await probe(topic, -10);
      await waitFor(() => probesSeen(first, second, -10) === 4, "the four probes", 60_000);
      await produce(topic, 0, 200);
      await waitFor(() => first.length + second.length >= 200, "200 records", 60_000);
      await produce(topic, 200, 100);
      await waitFor(() => first.length + second.length >= 300, "300 records", 60_000);
      expect(first.length).toBeGreaterThan(0);
      expect(second.length).toBeGreaterThan(0);
    } finally {
      await b.close();
      await a.close();
    }
    const all = [...first, ...second].filter((value) => value >= 0);
    expect(new Set(all).size).toBe(300);
    expect(all.length).toBe(300);

    await produce(topic, 300, 50);
    const rerun: number[] = [];
    const c = await member(groupId, topic, protocol, rerun);
    try {
      // A fence instead of a sleep: a sentinel in every partition after the 50. Records of a
      // partition arrive in offset order, so old records read again from a wrong position would
      // have come before that partition's sentinel.
      await probe(topic, -20);
      await waitFor(() => probesSeen(rerun, [], -20) === 4, "the four sentinels", 60_000);
    } finally {
      await c.close();
    }
    expect(rerun.filter((value) => value >= 0).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, index) => 300 + index));
  }, 150_000);
}
