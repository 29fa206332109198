// The admin handlers on the wire, every version, against a real broker process: DescribeCluster,
// OffsetForLeaderEpoch, DeleteRecords, CreatePartitions, DescribeConfigs, AlterConfigs and
// IncrementalAlterConfigs edge cases that clients hide (unknown partitions, wrong broker ids,
// duplicate keys or topics, unsupported resource types, compacted topics).

import { afterAll, beforeAll, expect, test } from "bun:test";
import type { AnyApi } from "../../src/protocol/api.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import * as generated from "../../src/protocol/generated/index.ts";
import { buildBatch } from "../../src/testing/record-batches.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { connectTo } from "../helpers/connection.ts";
import type { KafkaConnection } from "../../src/client/connection.ts";

const api = generated as unknown as Record<string, AnyApi>;
let broker: Broker;
let connection: KafkaConnection;

beforeAll(async () => {
  broker = await startBroker({ set: { "node.id": "3", "auto.create.topics.enable": "false" } });
  connection = await connectTo(broker.bootstrap);
  const created = await connection.request(api.CreateTopicsApi!, {
    topics: [
      { name: "wire-admin", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] },
      { name: "wire-compacted", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: "cleanup.policy", value: "compact" }] },
    ],
    timeoutMs: 5000,
  }, { version: 4 });
  for (const topic of created.topics) expect(topic.errorCode).toBe(ErrorCode.NONE);
  for (let number = 0; number < 5; number++) {
    const response = await connection.request(api.ProduceApi!, {
      transactionalId: null, acks: 1, timeoutMs: 5000,
      topicData: [{ name: "wire-admin", partitionData: [{ index: 0, records: buildBatch({ batchNumber: number, recordCount: 4, valueBytes: 16 }) }] }],
    }, { version: 8 });
    expect(response.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
  }
});

afterAll(async () => {
  connection?.close();
  await broker?.stop();
});

test("DescribeCluster v0-v1: this node as broker and controller", async () => {
  for (const version of [0, 1]) {
    const response = await connection.request(api.DescribeClusterApi!, { includeClusterAuthorizedOperations: version === 1 }, { version });
    expect(response.errorCode).toBe(ErrorCode.NONE);
    expect(response.controllerId).toBe(3);
    expect(response.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(response.brokers).toEqual([{ brokerId: 3, host: broker.host, port: broker.port, rack: null }]);
    if (version === 1) expect(response.clusterAuthorizedOperations).toBeGreaterThan(0);
    else expect(response.clusterAuthorizedOperations).toBe(-2147483648);
  }
  const controllers = await connection.request(api.DescribeClusterApi!, { endpointType: 2 }, { version: 1 });
  expect(controllers.errorCode).toBe(ErrorCode.MISMATCHED_ENDPOINT_TYPE);
});

test("OffsetForLeaderEpoch v0-v4: epoch 0 ends at the log end offset; fencing by current epoch", async () => {
  for (let version = 0; version <= 4; version++) {
    const response = await connection.request(api.OffsetForLeaderEpochApi!, {
      replicaId: -1,
      topics: [
        {
          topic: "wire-admin",
          partitions: [
            { partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 },
            { partition: 1, currentLeaderEpoch: -1, leaderEpoch: 0 },
            { partition: 9, currentLeaderEpoch: -1, leaderEpoch: 0 },
          ],
        },
        { topic: "no-such-topic", partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] },
      ],
    }, { version });
    const [p0, p1, p9] = response.topics[0].partitions;
    expect(p0).toMatchObject({ errorCode: ErrorCode.NONE, endOffset: 20n });
    expect(p1).toMatchObject({ errorCode: ErrorCode.NONE, endOffset: 0n });
    expect(p9.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(response.topics[1].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    if (version >= 1) expect(p0.leaderEpoch).toBe(0);
  }
  const fencing = await connection.request(api.OffsetForLeaderEpochApi!, {
    replicaId: -1,
    topics: [{
      topic: "wire-admin",
      partitions: [
        { partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 },
        { partition: 0, currentLeaderEpoch: 5, leaderEpoch: 0 },
        { partition: 0, currentLeaderEpoch: 0, leaderEpoch: 7 },
      ],
    }],
  }, { version: 4 });
  const [current, future, unknownEpoch] = fencing.topics[0].partitions;
  expect(current).toMatchObject({ errorCode: ErrorCode.NONE, leaderEpoch: 0, endOffset: 20n });
  expect(future.errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
  expect(unknownEpoch).toMatchObject({ errorCode: ErrorCode.NONE, leaderEpoch: -1, endOffset: -1n });
});

test("DeleteRecords v0-v2: offsets, -1, beyond the high watermark, unknown partitions, compacted topics", async () => {
  let expectedStart = 0n;
  for (let version = 0; version <= 2; version++) {
    expectedStart += 2n;
    const response = await connection.request(api.DeleteRecordsApi!, {
      timeoutMs: 5000,
      topics: [
        { name: "wire-admin", partitions: [{ partitionIndex: 0, offset: expectedStart }, { partitionIndex: 5, offset: 1n }] },
        { name: "wire-compacted", partitions: [{ partitionIndex: 0, offset: 0n }] },
      ],
    }, { version });
    expect(response.topics[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, lowWatermark: expectedStart });
    expect(response.topics[0].partitions[1].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(response.topics[1].partitions[0].errorCode).toBe(ErrorCode.POLICY_VIOLATION);
  }
  const beyond = await connection.request(api.DeleteRecordsApi!, {
    timeoutMs: 5000, topics: [{ name: "wire-admin", partitions: [{ partitionIndex: 0, offset: 21n }, { partitionIndex: 1, offset: -5n }] }],
  }, { version: 2 });
  expect(beyond.topics[0].partitions.map((partition: any) => partition.errorCode)).toEqual([ErrorCode.OFFSET_OUT_OF_RANGE, ErrorCode.OFFSET_OUT_OF_RANGE]);
  // An offset below the start changes nothing; -1 means the high watermark.
  const below = await connection.request(api.DeleteRecordsApi!, {
    timeoutMs: 5000, topics: [{ name: "wire-admin", partitions: [{ partitionIndex: 0, offset: 1n }] }],
  }, { version: 2 });
  expect(below.topics[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, lowWatermark: expectedStart });
  const all = await connection.request(api.DeleteRecordsApi!, {
    timeoutMs: 5000, topics: [{ name: "wire-admin", partitions: [{ partitionIndex: 0, offset: -1n }] }],
  }, { version: 2 });
  expect(all.topics[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, lowWatermark: 20n });
});

test("CreatePartitions v0-v3: duplicates, assignments, validateOnly", async () => {
  for (let version = 0; version <= 3; version++) {
    const response = await connection.request(api.CreatePartitionsApi!, {
      timeoutMs: 5000, validateOnly: true,
      topics: [
        { name: "wire-admin", count: 4, assignments: null },
        { name: "dup", count: 4, assignments: null },
        { name: "dup", count: 5, assignments: null },
        { name: "no-such-topic", count: 4, assignments: null },
      ],
    }, { version });
    expect(response.results.map((result: any) => result.errorCode)).toEqual([
      ErrorCode.NONE, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
  }
  const assigned = await connection.request(api.CreatePartitionsApi!, {
    timeoutMs: 5000, validateOnly: false,
    topics: [
      { name: "wire-admin", count: 3, assignments: [{ brokerIds: [3] }] },
      { name: "wire-compacted", count: 2, assignments: [{ brokerIds: [1] }] },
    ],
  }, { version: 3 });
  expect(assigned.results.map((result: any) => result.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.INVALID_REPLICA_ASSIGNMENT]);
  const metadata = await connection.request(api.MetadataApi!, { topics: [{ name: "wire-admin" }, { name: "wire-compacted" }] }, { version: 9 });
  expect(metadata.topics.map((topic: any) => topic.partitions.length)).toEqual([3, 1]);
});

test("DescribeConfigs v0-v4: resource types, broker ids, unknown topics, chosen keys", async () => {
  for (let version = 0; version <= 4; version++) {
    const response = await connection.request(api.DescribeConfigsApi!, {
      resources: [
        { resourceType: 2, resourceName: "wire-compacted", configurationKeys: ["cleanup.policy", "no.such.key"] },
        { resourceType: 4, resourceName: "3", configurationKeys: ["node.id"] },
        { resourceType: 4, resourceName: "", configurationKeys: null },
        { resourceType: 4, resourceName: "1", configurationKeys: null },
        { resourceType: 8, resourceName: "3", configurationKeys: null },
        { resourceType: 2, resourceName: "no-such-topic", configurationKeys: null },
        { resourceType: 2, resourceName: "wire-admin", configurationKeys: [] },
      ],
      ...(version >= 1 ? { includeSynonyms: true } : {}),
      ...(version >= 3 ? { includeDocumentation: true } : {}),
    }, { version });
    const [topic, node, clusterDefault, otherBroker, logger, missing, emptyKeys] = response.results;
    // An empty key list means every key, as a null one does.
    expect(emptyKeys.configs.length).toBeGreaterThan(20);
    expect(topic.errorCode).toBe(ErrorCode.NONE);
    expect(topic.configs.map((config: any) => [config.name, config.value])).toEqual([["cleanup.policy", "compact"]]);
    if (version >= 1) expect(topic.configs[0].configSource).toBe(1);
    else expect(topic.configs[0].isDefault).toBe(false);
    expect(node.configs.map((config: any) => [config.name, config.value, config.readOnly])).toEqual([["node.id", "3", true]]);
    expect(clusterDefault).toMatchObject({ errorCode: ErrorCode.NONE, configs: [] });
    expect(otherBroker.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(logger.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(missing.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
});

test("AlterConfigs v0-v2 and IncrementalAlterConfigs v0-v1: duplicate keys, unknown operations, resource types", async () => {
  for (let version = 0; version <= 2; version++) {
    const response = await connection.request(api.AlterConfigsApi!, {
      validateOnly: true,
      resources: [
        { resourceType: 2, resourceName: "wire-admin", configs: [{ name: "retention.ms", value: "1000" }, { name: "retention.ms", value: "2000" }] },
        { resourceType: 2, resourceName: "wire-admin", configs: [{ name: "retention.ms", value: "1000" }] },
        { resourceType: 4, resourceName: "", configs: [] },
        { resourceType: 8, resourceName: "3", configs: [] },
        { resourceType: 2, resourceName: "no-such-topic", configs: [] },
      ],
    }, { version });
    expect(response.responses.map((result: any) => result.errorCode)).toEqual([
      ErrorCode.INVALID_REQUEST, ErrorCode.NONE, ErrorCode.NONE, ErrorCode.INVALID_REQUEST, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ]);
    expect(response.responses[0].errorMessage).toContain("retention.ms");
  }
  for (let version = 0; version <= 1; version++) {
    const response = await connection.request(api.IncrementalAlterConfigsApi!, {
      validateOnly: false,
      resources: [
        { resourceType: 2, resourceName: "wire-admin", configs: [{ name: "retention.ms", configOperation: 9, value: "1" }] },
        { resourceType: 2, resourceName: "wire-admin", configs: [{ name: "segment.ms", configOperation: 0, value: null }] },
        { resourceType: 2, resourceName: "wire-admin", configs: [{ name: "retention.bytes", configOperation: 0, value: "1000000" }] },
      ],
    }, { version });
    expect(response.responses.map((result: any) => result.errorCode)).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.NONE]);
  }
  // The change was applied and persisted: it survives a restart.
  connection.close();
  await broker.restart();
  connection = await connectTo(broker.bootstrap);
  const described = await connection.request(api.DescribeConfigsApi!, {
    resources: [{ resourceType: 2, resourceName: "wire-admin", configurationKeys: ["retention.bytes"] }], includeSynonyms: false, includeDocumentation: false,
  }, { version: 4 });
  expect(described.results[0].configs[0]).toMatchObject({ name: "retention.bytes", value: "1000000", configSource: 1 });
}, 30000);
