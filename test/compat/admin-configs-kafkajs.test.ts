// kafkajs 2.2.4 admin calls against a real broker process: describeCluster, createPartitions,
// describeConfigs (topic and broker, with synonyms), alterConfigs (replace-all, validateOnly,
// errors) and deleteTopicRecords, checked with fetchTopicOffsets.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { ConfigResourceTypes, Kafka, logLevel, type Admin } from "kafkajs";
import { startBroker, type Broker } from "../helpers/broker.ts";

let broker: Broker;
let admin: Admin;
let kafka: Kafka;

beforeAll(async () => {
  broker = await startBroker({ set: { "num.partitions": "1" } });
  kafka = new Kafka({ clientId: "runnel-kafkajs-admin", brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
});

test("describeCluster names this node as broker and controller", async () => {
  const cluster = await admin.describeCluster();
  expect(cluster.brokers).toEqual([{ nodeId: 1, host: broker.host, port: broker.port }]);
  expect(cluster.controller).toBe(1);
  expect(cluster.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
});

test("createPartitions grows a topic and refuses to shrink it", async () => {
  const topic = "kafkajs-grow";
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] });
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  expect(metadata.topics[0]!.partitions.length).toBe(3);
  await expect(admin.createPartitions({ topicPartitions: [{ topic, count: 2 }] })).rejects.toMatchObject({ type: "INVALID_PARTITIONS" });
});

test("describeConfigs and alterConfigs on a topic; broker configs are read-only", async () => {
  const topic = "kafkajs-configs";
  await admin.createTopics({ topics: [{ topic, configEntries: [{ name: "retention.ms", value: "3600000" }] }] });
  const describe = async () => {
    const result = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: true });
    return new Map(result.resources[0]!.configEntries.map((entry: any) => [entry.configName, entry]));
  };
  let configs = await describe();
  expect(configs.get("retention.ms")).toMatchObject({ configValue: "3600000", isDefault: false, readOnly: false, isSensitive: false });
  expect(configs.get("retention.ms")!.configSynonyms[0]).toMatchObject({ configName: "retention.ms", configValue: "3600000" });

  await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: "max.message.bytes", value: "2000000" }] }] });
  configs = await describe();
  expect(configs.get("max.message.bytes")!.configValue).toBe("2000000");
  expect(configs.get("retention.ms")).toMatchObject({ configValue: "604800000", isDefault: true });

  await expect(admin.alterConfigs({
    validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: "max.message.bytes", value: "-5" }] }],
  })).rejects.toMatchObject({ type: "INVALID_CONFIG" });
  await admin.alterConfigs({ validateOnly: true, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [] }] });
  expect((await describe()).get("max.message.bytes")!.configValue).toBe("2000000");

  const brokerConfigs = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.BROKER, name: "1", configNames: ["num.partitions", "log.retention.hours"] }], includeSynonyms: false,
  });
  const entries = new Map(brokerConfigs.resources[0]!.configEntries.map((entry: any) => [entry.configName, entry]));
  expect(entries.get("num.partitions")).toMatchObject({ configValue: "1", readOnly: true });
  expect(entries.get("log.retention.hours")).toMatchObject({ configValue: "168", readOnly: true });
  await expect(admin.alterConfigs({
    validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: "1", configEntries: [{ name: "num.partitions", value: "2" }] }],
  })).rejects.toMatchObject({ type: "INVALID_REQUEST" });
});

test("deleteTopicRecords moves the low watermark", async () => {
  const topic = "kafkajs-delete-records";
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let batch = 0; batch < 5; batch++) {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, index) => ({ partition: 0, value: `v${batch * 10 + index}` })) });
    }
  } finally {
    await producer.disconnect();
  }
  // kafkajs looks the leader up in its cached metadata: refresh it for the new topic first.
  await admin.fetchTopicMetadata({ topics: [topic] });
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "23" }] });
  expect(await admin.fetchTopicOffsets(topic)).toEqual([{ partition: 0, offset: "50", high: "50", low: "23" }]);
  // kafkajs sends -1 as "up to the high watermark".
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "-1" }] });
  expect((await admin.fetchTopicOffsets(topic))[0]!.low).toBe("50");
});
