// @platformatic/kafka 2.12 admin calls that confluent-kafka-python 1.7 lacks, against a real broker
// process: IncrementalAlterConfigs (SET, DELETE, APPEND, SUBTRACT, validateOnly, errors),
// DescribeConfigs v4 (flexible: sources, synonyms, documentation), CreatePartitions, and
// DeleteRecords (offset, -1 = high watermark, beyond the high watermark),
// checked with ListOffsets and a fetch of what remains.

import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  Admin,
  ConfigResourceTypes,
  Consumer,
  IncrementalAlterConfigOperationTypes as Operation,
  Producer,
  stringDeserializers,
  stringSerializers,
} from "@platformatic/kafka";
import { startBroker, type Broker } from "../helpers/broker.ts";

let broker: Broker;
let admin: Admin;

beforeAll(async () => {
  broker = await startBroker();
  admin = new Admin({ clientId: "runnel-platformatic-admin", bootstrapBrokers: [broker.bootstrap], retries: 0 });
});

afterAll(async () => {
  await admin?.close();
  await broker?.stop();
});

async function topicConfigs(topic: string): Promise<Map<string, { value: string | null; configSource: number; synonyms: unknown[]; documentation: unknown }>> {
  const [description] = await admin.describeConfigs({
    resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }],
    includeSynonyms: true,
    includeDocumentation: true,
  });
  const configs = new Map();
  for (const config of description!.configs) configs.set(config.name, config);
  return configs;
}

/** The Kafka error code a failed admin call carried (platformatic wraps it in a MultipleErrors). */
function codesOf(error: unknown): number[] {
  const codes: number[] = [];
  const visit = (value: any, depth: number) => {
    if (!value || typeof value !== "object" || depth > 6) return;
    if (typeof value.apiCode === "number") codes.push(value.apiCode);
    for (const child of value.errors ?? []) visit(child, depth + 1);
    if (value.cause) visit(value.cause, depth + 1);
  };
  visit(error, 0);
  return codes;
}

async function failureCodes(call: () => Promise<unknown>): Promise<number[]> {
  try {
    await call();
  } catch (error) {
    return codesOf(error);
  }
  throw new Error("the call was expected to fail");
}

test("incremental alter configs: SET, APPEND, SUBTRACT, DELETE, validateOnly and errors", async () => {
  const topic = "platformatic-configs";
  await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
  const resource = (configs: any[]) => ({ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configs });

  await admin.incrementalAlterConfigs({
    resources: [resource([
      { name: "retention.ms", configOperation: Operation.SET, value: "120000" },
      { name: "cleanup.policy", configOperation: Operation.APPEND, value: "compact" },
    ])],
  });
  let configs = await topicConfigs(topic);
  expect(configs.get("retention.ms")).toMatchObject({ value: "120000", configSource: 1 });
  expect(configs.get("cleanup.policy")).toMatchObject({ value: "delete,compact", configSource: 1 });
  expect(configs.get("retention.ms")!.synonyms[0]).toMatchObject({ name: "retention.ms", value: "120000", source: 1 });
  expect(typeof configs.get("retention.ms")!.documentation).toBe("string");

  // Unlike AlterConfigs, keys not named keep their overrides.
  await admin.incrementalAlterConfigs({
    resources: [resource([{ name: "cleanup.policy", configOperation: Operation.SUBTRACT, value: "delete" }])],
  });
  configs = await topicConfigs(topic);
  expect(configs.get("cleanup.policy")!.value).toBe("compact");
  expect(configs.get("retention.ms")!.value).toBe("120000");

  await admin.incrementalAlterConfigs({
    resources: [resource([{ name: "retention.ms", configOperation: Operation.SET, value: "1" }])],
    validateOnly: true,
  });
  expect((await topicConfigs(topic)).get("retention.ms")!.value).toBe("120000");

  await admin.incrementalAlterConfigs({
    resources: [resource([
      { name: "retention.ms", configOperation: Operation.DELETE },
      { name: "cleanup.policy", configOperation: Operation.DELETE },
    ])],
  });
  configs = await topicConfigs(topic);
  expect(configs.get("retention.ms")).toMatchObject({ value: "604800000", configSource: 5 });
  expect(configs.get("cleanup.policy")).toMatchObject({ value: "delete", configSource: 5 });

  // INVALID_CONFIG (40) for a bad value, an unknown key, APPEND on a non-list key; nothing changes.
  for (const config of [
    { name: "retention.ms", configOperation: Operation.SET, value: "tomorrow" },
    { name: "no.such.config", configOperation: Operation.SET, value: "1" },
    { name: "retention.ms", configOperation: Operation.APPEND, value: "5" },
  ]) {
    expect(await failureCodes(() => admin.incrementalAlterConfigs({ resources: [resource([config])] }))).toContain(40);
  }
  expect((await topicConfigs(topic)).get("retention.ms")!.configSource).toBe(5);

  // Broker configs are static: INVALID_REQUEST (42).
  expect(await failureCodes(() => admin.incrementalAlterConfigs({
    resources: [{ resourceType: ConfigResourceTypes.BROKER, resourceName: "1", configs: [{ name: "num.partitions", configOperation: Operation.SET, value: "3" }] }],
  }))).toContain(42);
});

test("create partitions and delete records", async () => {
  const topic = "platformatic-delete-records";
  await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
  await admin.createPartitions({ topics: [{ name: topic, count: 2 }] });
  expect(await failureCodes(() => admin.createPartitions({ topics: [{ name: topic, count: 1 }] }))).toContain(37);

  const producer = new Producer({ clientId: "runnel-dr-producer", bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers, autocreateTopics: false });
  try {
    for (let batch = 0; batch < 10; batch++) {
      const messages = [];
      for (let index = 0; index < 10; index++) {
        const number = batch * 10 + index;
        messages.push({ topic, partition: 0, key: `k${number}`, value: `v${number}` }, { topic, partition: 1, key: `k${number}`, value: `v${number}` });
      }
      await producer.send({ messages, acks: -1 });
    }
  } finally {
    await producer.close();
  }

  const deleted = await admin.deleteRecords({
    topics: [{ name: topic, partitions: [{ partition: 0, offset: 35n }, { partition: 1, offset: -1n }] }],
  });
  const lowWatermarks = new Map(deleted[0]!.partitions.map((partition) => [partition.partition, partition.lowWatermark]));
  expect(lowWatermarks.get(0)).toBe(35n);
  expect(lowWatermarks.get(1)).toBe(100n);

  // Beyond the high watermark: OFFSET_OUT_OF_RANGE (1). (The client itself refuses unknown
  // partitions before sending; admin-configs-protocol.test.ts covers them on the wire.)
  expect(await failureCodes(() => admin.deleteRecords({ topics: [{ name: topic, partitions: [{ partition: 0, offset: 101n }] }] }))).toContain(1);

  const offsets = await admin.listOffsets({ topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -2n }, { partitionIndex: 1, timestamp: -2n }] }] });
  const earliest = new Map(offsets[0]!.partitions.map((partition) => [partition.partitionIndex, partition.offset]));
  expect(earliest.get(0)).toBe(35n);
  expect(earliest.get(1)).toBe(100n);

  // What remains of partition 0 starts at offset 35 (clients skip the start of a batch).
  const consumer = new Consumer({ clientId: "runnel-dr-consumer", groupId: "unused-dr", bootstrapBrokers: [broker.bootstrap], deserializers: stringDeserializers });
  try {
    const metadata = await consumer.metadata({ topics: [topic] });
    const response = await consumer.fetch({
      node: metadata.topics.get(topic)!.partitions[0]!.leader,
      topics: [{ topicId: metadata.topics.get(topic)!.id, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 35n, lastFetchedEpoch: -1, partitionMaxBytes: 1 << 20 }] }],
      maxWaitTime: 100,
    });
    const partition = response.responses[0]!.partitions[0]!;
    expect(partition.errorCode).toBe(0);
    expect(partition.logStartOffset).toBe(35n);
    const values: string[] = [];
    for (const batch of partition.records ?? []) {
      for (const record of batch.records) {
        if (batch.firstOffset + BigInt(record.offsetDelta) >= 35n) values.push(record.value!.toString());
      }
    }
    expect(values[0]).toBe("v35");
    expect(values.at(-1)).toBe("v99");
  } finally {
    await consumer.close();
  }
});
