// The Kafka client against a real broker process: admin calls, producing (keys, headers,
// timestamps, every compression codec, acks 0/1/all, idempotence) and consuming from every kind
// of start position, ListOffsets, a consumer group of two members, and retries across a broker
// restart.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  commitOffsets,
  Consumer,
  createPartitions,
  createTopics,
  deleteGroups,
  deleteTopics,
  describeCluster,
  describeConfigs,
  describeGroups,
  describeTopics,
  fetchCommittedOffsets,
  GroupConsumer,
  groupLag,
  incrementalAlterConfigs,
  alterConfigs,
  KafkaClient,
  listGroups,
  listOffsets,
  listTopics,
  OffsetSpec,
  partitionForKey,
  Producer,
  throwOnFailure,
  type ConsumedRecord,
} from "../../src/client/index.ts";
import { CompressionType, ErrorCode, KafkaError } from "../../src/protocol/index.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";

const decoder = new TextDecoder();
const text = (bytes: Uint8Array | null) => (bytes === null ? null : decoder.decode(bytes));

let broker: Broker;
let client: KafkaClient;
beforeAll(async () => {
  broker = await startBroker({ set: { "group.initial.rebalance.delay.ms": 0, "auto.create.topics.enable": "false" } });
  client = new KafkaClient({ bootstrap: broker.bootstrap, clientId: "client-test" });
});
afterAll(async () => {
  await client?.close();
  await broker?.stop();
});

/** Polls until `count` records arrived (bounded by the test timeout). */
async function pollUntil(consumer: { poll(timeoutMs: number): Promise<ConsumedRecord[]> }, count: number): Promise<ConsumedRecord[]> {
  const records: ConsumedRecord[] = [];
  while (records.length < count) records.push(...(await consumer.poll(1000)));
  return records;
}

describe("admin", () => {
  test("create, list, describe, grow and delete topics", async () => {
    const created = await createTopics(client, [
      { name: "admin-a", partitions: 3, configs: { "retention.ms": "3600000" } },
      { name: "admin-b" },
    ]);
    expect(created.map((topic) => [topic.name, topic.errorCode])).toEqual([["admin-a", 0], ["admin-b", 0]]);
    const again = await createTopics(client, [{ name: "admin-a", partitions: 1 }]);
    expect(again[0]!.errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    expect(() => throwOnFailure(again, "CreateTopics")).toThrow(/TOPIC_ALREADY_EXISTS/);

    const names = (await listTopics(client)).map((topic) => topic.name);
    expect(names).toContain("admin-a");
    expect(names).not.toContain("__consumer_offsets");
    const [described] = await describeTopics(client, ["admin-a"]);
    expect(described!.partitions.map((partition) => partition.leader)).toEqual([1, 1, 1]);
    expect(described!.id).not.toBe("AAAAAAAAAAAAAAAAAAAAAA");

    throwOnFailure(await createPartitions(client, [{ topic: "admin-a", count: 5 }]), "CreatePartitions");
    expect((await describeTopics(client, ["admin-a"]))[0]!.partitions.length).toBe(5);

    throwOnFailure(await deleteTopics(client, ["admin-a", "admin-b"]), "DeleteTopics");
    await expect(describeTopics(client, ["admin-a"])).rejects.toThrow(/UNKNOWN_TOPIC_OR_PARTITION/);
  });

  test("describe, incrementally alter and replace topic configs", async () => {
    throwOnFailure(await createTopics(client, [{ name: "configs", partitions: 1, configs: { "cleanup.policy": "compact" } }]), "create");
    const [before] = await describeConfigs(client, [{ kind: "topic", name: "configs" }]);
    const policy = before!.configs.find((entry) => entry.name === "cleanup.policy")!;
    expect(policy).toMatchObject({ value: "compact", source: "DYNAMIC_TOPIC_CONFIG", isDefault: false });

    const [altered] = await incrementalAlterConfigs(client, [{
      kind: "topic", name: "configs", changes: [{ name: "retention.ms", operation: "set", value: "1000" }, { name: "cleanup.policy", operation: "delete" }],
    }]);
    expect(altered!.errorCode).toBe(ErrorCode.NONE);
    const [after] = await describeConfigs(client, [{ kind: "topic", name: "configs", keys: ["retention.ms", "cleanup.policy"] }]);
    expect(Object.fromEntries(after!.configs.map((entry) => [entry.name, entry.value]))).toEqual({ "cleanup.policy": "delete", "retention.ms": "1000" });

    const [replaced] = await alterConfigs(client, [{ kind: "topic", name: "configs", configs: { "segment.ms": "60000" } }]);
    expect(replaced!.errorCode).toBe(ErrorCode.NONE);
    const [last] = await describeConfigs(client, [{ kind: "topic", name: "configs" }]);
    const overrides = last!.configs.filter((entry) => entry.source === "DYNAMIC_TOPIC_CONFIG").map((entry) => entry.name);
    expect(overrides).toEqual(["segment.ms"]);

    const [bad] = await incrementalAlterConfigs(client, [{ kind: "topic", name: "configs", changes: [{ name: "retention.ms", operation: "set", value: "soon" }] }]);
    expect(bad!.errorCode).toBe(ErrorCode.INVALID_CONFIG);
  });

  test("describe the cluster and a broker's configs", async () => {
    const cluster = await describeCluster(client);
    expect(cluster.brokers).toEqual([{ nodeId: 1, host: broker.host, port: broker.port, rack: null }]);
    expect(cluster.controllerId).toBe(1);
    expect(cluster.clusterId).toBeString();
    const [configs] = await describeConfigs(client, [{ kind: "broker", name: "1", keys: ["num.partitions"] }]);
    expect(configs!.configs.map((entry) => entry.name)).toEqual(["num.partitions"]);
  });
});

describe("produce and consume", () => {
  test("keys, headers, timestamps survive the round trip; keyed records go where Kafka puts them", async () => {
    throwOnFailure(await createTopics(client, [{ name: "round-trip", partitions: 4 }]), "create");
    const producer = new Producer(client);
    const sent = await Promise.all(Array.from({ length: 40 }, (_, index) => producer.send({
      topic: "round-trip",
      key: `key-${index % 7}`,
      value: `value-${index}`,
      headers: [{ key: "index", value: String(index) }, { key: "empty", value: null }],
      timestamp: 1_700_000_000_000 + index,
    })));
    await producer.close();
    for (const [index, metadata] of sent.entries()) {
      expect(metadata.partition).toBe(partitionForKey(new TextEncoder().encode(`key-${index % 7}`), 4));
    }
    const consumer = new Consumer(client, { maxWaitMs: 100 });
    await consumer.assign([0, 1, 2, 3].map((partition) => ({ topic: "round-trip", partition, from: "earliest" as const })));
    const records = await pollUntil(consumer, 40);
    consumer.close();
    const byValue = new Map(records.map((record) => [text(record.value), record]));
    for (const [index, metadata] of sent.entries()) {
      const record = byValue.get(`value-${index}`)!;
      expect({ partition: record.partition, offset: record.offset }).toEqual({ partition: metadata.partition, offset: metadata.offset });
      expect(text(record.key)).toBe(`key-${index % 7}`);
      expect(record.timestamp).toBe(BigInt(1_700_000_000_000 + index));
      expect(record.headers.map((header) => [header.key, text(header.value)])).toEqual([["index", String(index)], ["empty", null]]);
    }
  });

  test("every compression codec and acks 0, 1 and all", async () => {
    throwOnFailure(await createTopics(client, [{ name: "codecs", partitions: 1 }]), "create");
    const cases = [
      { compression: CompressionType.gzip, acks: -1 as const },
      { compression: CompressionType.snappy, acks: 1 as const },
      { compression: CompressionType.lz4, acks: -1 as const },
      { compression: CompressionType.zstd, acks: 1 as const },
      { compression: CompressionType.none, acks: 0 as const },
    ];
    let total = 0;
    for (const options of cases) {
      const producer = new Producer(client, { ...options, lingerMs: 20 });
      const results = await Promise.all(Array.from({ length: 50 }, (_, index) => producer.send({ topic: "codecs", value: `${options.compression}:${index}:${"x".repeat(200)}` })));
      await producer.close();
      if (options.acks === 0) expect(results.every((result) => result.offset === -1n)).toBe(true);
      else expect(results.map((result) => result.offset)).toEqual(Array.from({ length: 50 }, (_, index) => BigInt(total + index)));
      total += 50;
    }
    const consumer = new Consumer(client, { maxWaitMs: 100 });
    await consumer.assign([{ topic: "codecs", partition: 0, from: "earliest" }]);
    const records = await pollUntil(consumer, total);
    consumer.close();
    expect(records.map((record) => text(record.value)!.split(":").slice(0, 2).join(":"))).toEqual(
      cases.flatMap((options) => Array.from({ length: 50 }, (_, index) => `${options.compression}:${index}`)));
  });

  test("an idempotent producer stamps a producer id and consecutive sequences", async () => {
    throwOnFailure(await createTopics(client, [{ name: "idempotent", partitions: 1 }]), "create");
    const producer = new Producer(client, { idempotent: true, lingerMs: 0, batchBytesMax: 100 });
    const results = await Promise.all(Array.from({ length: 30 }, (_, index) => producer.send({ topic: "idempotent", partition: 0, value: `v${index}` })));
    await producer.close();
    expect(results.map((result) => result.offset)).toEqual(Array.from({ length: 30 }, (_, index) => BigInt(index)));
    const connection = await client.leaderConnection("idempotent", 0);
    const { FetchApi } = await import("../../src/protocol/index.ts");
    const { splitBatches } = await import("../../src/protocol/record-batch.ts");
    const fetched = await connection.request(FetchApi, { maxWaitMs: 0, topics: [{ topic: "idempotent", topicId: client.metadata.topic("idempotent")!.id, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }] });
    const batches = splitBatches(fetched.responses[0]!.partitions[0]!.records!);
    expect(batches.length).toBeGreaterThan(1);
    let expected = 0;
    for (const batch of batches) {
      expect(batch.header.producerId).toBeGreaterThanOrEqual(0n);
      expect(batch.header.baseSequence).toBe(expected);
      expected += batch.header.recordsCount;
    }
    expect(expected).toBe(30);
  });

  test("start positions: earliest, latest, an offset, a timestamp; ListOffsets", async () => {
    throwOnFailure(await createTopics(client, [{ name: "positions", partitions: 1 }]), "create");
    const producer = new Producer(client, { lingerMs: 0 });
    for (let index = 0; index < 10; index++) await producer.send({ topic: "positions", value: `r${index}`, timestamp: 1000 * (index + 1) });
    await producer.close();
    const [earliest, latest, at5500, maxTimestamp] = await listOffsets(client, [
      { topic: "positions", partition: 0, timestamp: OffsetSpec.earliest },
      { topic: "positions", partition: 0, timestamp: OffsetSpec.latest },
      { topic: "positions", partition: 0, timestamp: 5500n },
      { topic: "positions", partition: 0, timestamp: OffsetSpec.maxTimestamp },
    ]);
    expect([earliest!.offset, latest!.offset, at5500!.offset, maxTimestamp!.offset]).toEqual([0n, 10n, 5n, 9n]);

    const first = async (from: Parameters<Consumer["assign"]>[0][number]["from"]) => {
      const consumer = new Consumer(client, { maxWaitMs: 50 });
      await consumer.assign([{ topic: "positions", partition: 0, from }]);
      const records = await consumer.poll(300);
      const position = consumer.position("positions", 0);
      consumer.close();
      return { values: records.map((record) => text(record.value)), position };
    };
    expect((await first("earliest")).values.length).toBe(10);
    expect(await first("latest")).toEqual({ values: [], position: 10n });
    expect((await first({ offset: 7n })).values).toEqual(["r7", "r8", "r9"]);
    expect((await first({ timestamp: 8000 })).values).toEqual(["r7", "r8", "r9"]);
    expect(await first({ timestamp: 99_000 })).toEqual({ values: [], position: 10n });
  });

  test("a position past the end resets per autoOffsetReset, or fails with 'none'", async () => {
    throwOnFailure(await createTopics(client, [{ name: "reset", partitions: 1 }]), "create");
    const producer = new Producer(client, { lingerMs: 0 });
    await producer.send({ topic: "reset", value: "only" });
    await producer.close();
    const resetting = new Consumer(client, { maxWaitMs: 50, autoOffsetReset: "earliest" });
    await resetting.assign([{ topic: "reset", partition: 0, from: { offset: 50n } }]);
    expect((await pollUntil(resetting, 1)).map((record) => text(record.value))).toEqual(["only"]);
    resetting.close();
    const strict = new Consumer(client, { maxWaitMs: 50, autoOffsetReset: "none" });
    await strict.assign([{ topic: "reset", partition: 0, from: { offset: 50n } }]);
    await expect(strict.poll(2000)).rejects.toThrow(/OFFSET_OUT_OF_RANGE/);
    strict.close();
  });

  test("producing to a missing topic fails (auto-creation is off on this broker)", async () => {
    const producer = new Producer(client, { deliveryTimeoutMs: 1000 });
    await expect(producer.send({ topic: "does-not-exist", value: "x" })).rejects.toThrow(/UNKNOWN_TOPIC_OR_PARTITION/);
    await producer.close();
  });
});

describe("consumer groups", () => {
  test("two members split the partitions, commit, show up in describe and lag; the group is reset and deleted", async () => {
    throwOnFailure(await createTopics(client, [{ name: "grouped", partitions: 4 }]), "create");
    const options = { groupId: "billing", topics: ["grouped"], autoOffsetReset: "earliest" as const, maxWaitMs: 50, heartbeatIntervalMs: 100, sessionTimeoutMs: 6000 };
    const first = new GroupConsumer(client, options);
    const second = new GroupConsumer(new KafkaClient({ bootstrap: broker.bootstrap, clientId: "second" }), options);
    // Poll both until they hold two partitions each in one generation (the range assignor's split).
    const split = () => first.assignment().length === 1 && second.assignment().length === 1
      && first.member.generationId === second.member.generationId && !first.member.rejoinNeeded && !second.member.rejoinNeeded;
    while (!split()) await Promise.all([first.poll(50), second.poll(50)]);
    expect([...first.assignment(), ...second.assignment()].flatMap((entry) => entry.partitions).sort()).toEqual([0, 1, 2, 3]);
    expect(first.assignment()[0]!.partitions.length).toBe(2);

    const producer = new Producer(client);
    await Promise.all(Array.from({ length: 40 }, (_, index) => producer.send({ topic: "grouped", partition: index % 4, value: `g${index}` })));
    await producer.close();
    const seen = new Set<string>();
    while (seen.size < 40) {
      const [a, b] = await Promise.all([first.poll(200), second.poll(200)]);
      for (const record of [...a, ...b]) seen.add(text(record.value)!);
    }
    expect(seen.size).toBe(40);
    await first.commit();
    await second.commit();

    const [description] = await describeGroups(client, ["billing"]);
    expect(description!.state).toBe("Stable");
    expect(description!.members.length).toBe(2);
    expect(description!.members.flatMap((member) => member.assignment.flatMap((entry) => entry.partitions)).sort()).toEqual([0, 1, 2, 3]);
    expect((await listGroups(client)).map((group) => group.groupId)).toContain("billing");
    const lag = await groupLag(client, "billing");
    expect(lag.map((entry) => [entry.partition, entry.committed, entry.logEnd, entry.lag])).toEqual([0, 1, 2, 3].map((partition) => [partition, 10n, 10n, 0n]));
    expect(lag.every((entry) => entry.memberId !== null)).toBe(true);

    // A member of a stable group cannot be bypassed: an admin commit is refused while members exist.
    await expect(commitOffsets(client, "billing", [{ topic: "grouped", partition: 0, offset: 0n }])).rejects.toThrow(KafkaError);
    await first.close();
    await second.close();
    expect((await describeGroups(client, ["billing"]))[0]!.state).toBe("Empty");

    await commitOffsets(client, "billing", [{ topic: "grouped", partition: 0, offset: 3n }]);
    const committed = await fetchCommittedOffsets(client, "billing");
    expect(committed.map((entry) => [entry.partition, entry.offset])).toEqual([[0, 3n], [1, 10n], [2, 10n], [3, 10n]]);
    expect((await groupLag(client, "billing"))[0]!.lag).toBe(7n);
    expect(await deleteGroups(client, ["billing"])).toEqual([{ groupId: "billing", errorCode: 0 }]);
    expect(await fetchCommittedOffsets(client, "billing")).toEqual([]);
  }, 30_000);
});

describe("retries", () => {
  test("a producer and a consumer carry on across a broker restart", async () => {
    throwOnFailure(await createTopics(client, [{ name: "restart", partitions: 2 }]), "create");
    const own = new KafkaClient({ bootstrap: broker.bootstrap, clientId: "restart", retryBackoffMaxMs: 200 });
    const producer = new Producer(own, { lingerMs: 0 });
    const consumer = new Consumer(own, { maxWaitMs: 50 });
    await consumer.assign([0, 1].map((partition) => ({ topic: "restart", partition, from: "earliest" as const })));
    const before = await Promise.all(Array.from({ length: 20 }, (_, index) => producer.send({ topic: "restart", value: `before-${index}` })));
    expect((await pollUntil(consumer, 20)).length).toBe(20);
    await broker.restart();
    const after = await Promise.all(Array.from({ length: 20 }, (_, index) => producer.send({ topic: "restart", value: `after-${index}` })));
    const records = await pollUntil(consumer, 20);
    expect(records.map((record) => text(record.value)).sort()).toEqual(Array.from({ length: 20 }, (_, index) => `after-${index}`).sort());
    expect(before.length + after.length).toBe(40);
    await producer.close();
    consumer.close();
    await own.close();
  }, 30_000);
});
