// message.format.version (topic) and log.message.format.version (broker) are accepted and ignored
// with a deprecation warning, as Kafka 3.x does, instead of INVALID_CONFIG / a start-up error; any
// other unknown key is still refused. Against a real broker process: start-up with the broker key,
// CreateTopics, AlterConfigs and IncrementalAlterConfigs with the topic key, the warning in the log.

import { afterAll, beforeAll, expect, test } from "bun:test";
import type { KafkaConnection } from "../../src/client/connection.ts";
import { ConfigError, loadBrokerConfig, parseTopicOverrides } from "../../src/config/index.ts";
import type { AnyApi } from "../../src/protocol/api.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import * as generated from "../../src/protocol/generated/index.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { connectTo } from "../helpers/connection.ts";

const { CreateTopicsApi, AlterConfigsApi, IncrementalAlterConfigsApi } = generated as unknown as Record<string, AnyApi>;
let broker: Broker;
let connection: KafkaConnection;

beforeAll(async () => {
  broker = await startBroker({ set: { "log.message.format.version": "2.8-IV1" } });
  connection = await connectTo(broker.bootstrap);
});

afterAll(async () => {
  connection?.close();
  await broker?.stop();
});

test("config loading: the deprecated keys are accepted and ignored, unknown keys still refused", () => {
  expect(() => loadBrokerConfig({ overrides: [["log.message.format.version", "0.10.2"]] })).not.toThrow();
  expect(parseTopicOverrides({ "message.format.version": "0.9.0", "retention.ms": "1000" })).toEqual({ "retention.ms": 1000 });
  expect(() => loadBrokerConfig({ overrides: [["log.message.format.versions", "0.10.2"]] })).toThrow(ConfigError);
  expect(() => parseTopicOverrides({ "message.format.versions": "0.9.0" })).toThrow(ConfigError);
});

test("CreateTopics, AlterConfigs and IncrementalAlterConfigs accept message.format.version; the broker warns", async () => {
  const create = (name: string, key: string) => connection.request(CreateTopicsApi!, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: key, value: "0.10.2-IV0" }] }], timeoutMs: 5000,
  }, { version: 4 });
  expect((await create("format-version", "message.format.version")).topics[0].errorCode).toBe(ErrorCode.NONE);
  expect((await create("format-typo", "message.format.versions")).topics[0].errorCode).toBe(ErrorCode.INVALID_CONFIG);
  const altered = await connection.request(AlterConfigsApi!, {
    resources: [{ resourceType: 2, resourceName: "format-version", configs: [{ name: "message.format.version", value: "0.9.0" }, { name: "retention.ms", value: "60000" }] }], validateOnly: false,
  }, { version: 1 });
  expect(altered.responses[0].errorCode).toBe(ErrorCode.NONE);
  const incremental = await connection.request(IncrementalAlterConfigsApi!, {
    resources: [{ resourceType: 2, resourceName: "format-version", configs: [{ name: "message.format.version", configOperation: 0, value: "1.0" }] }], validateOnly: false,
  }, { version: 1 });
  expect(incremental.responses[0].errorCode).toBe(ErrorCode.NONE);
  await broker.stop();
  expect(broker.lastStderr).toContain("log.message.format.version is deprecated since Kafka 3.0 (KIP-724) and ignored");
  expect(broker.lastStderr).toMatch(/\[config\] message\.format\.version is deprecated since Kafka 3\.0/);
});
