// Handlers answer from the metadata image, not from "this node leads everything": an in-process
// node (real metadata log, controller, replicas) with a second broker registered through the
// controller (no process behind it: nothing here contacts it). Produce and Fetch to a partition
// led elsewhere get NOT_LEADER_OR_FOLLOWER with KIP-951 leader hints; Metadata and DescribeCluster
// list both brokers, leaders, ISR and offline replicas; stale and future leader epochs are fenced;
// acks=all on a partition whose ISR holds a follower this node cannot hear from yet times out
// (the follower fetcher is the next step of issue 9).

import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  DescribeClusterApi,
  FetchApi,
  ListOffsetsApi,
  MetadataApi,
  OffsetForLeaderEpochApi,
  ProduceApi,
} from "../../src/protocol/generated/index.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { randomUuid } from "../../src/protocol/primitives.ts";
import { buildBatch } from "../../src/testing/record-batches.ts";
import { startInProcess, type InProcessServer } from "./in-process.ts";
import type { KafkaConnection } from "../../src/client/connection.ts";
import type { AnyApi } from "../../src/protocol/api.ts";
import { connectTo } from "../helpers/connection.ts";

let server: InProcessServer;
let client: KafkaConnection;

const endpoint = (port: number) => [{ name: "PLAINTEXT", host: "127.0.0.1", port, securityProtocol: 0 }];

async function registerLive(brokerId: number, port: number): Promise<void> {
  const { controller, publisher } = server.core;
  const registered = await controller.registerBroker({ brokerId, incarnationId: randomUuid(), endpoints: endpoint(port), rack: null, cleanShutdown: true });
  const heartbeat = await controller.brokerHeartbeat({ brokerId, brokerEpoch: registered.value, currentMetadataOffset: registered.offset });
  await publisher.waitForPublished(heartbeat.offset);
}

/** One request at an exact version, answered body (the shared client: test/helpers/connection.ts). */
function call(api: AnyApi, version: number, body: unknown): Promise<any> {
  return client.request(api, body as never, { version });
}

function produce(topic: string, acks: number, timeoutMs = 1000) {
  return { acks, timeoutMs, transactionalId: null, topicData: [{ name: topic, partitionData: [{ index: 0, records: buildBatch({ batchNumber: 1, recordCount: 2, valueBytes: 16 }) }] }] };
}

function fetch(topic: string, currentLeaderEpoch = -1) {
  return {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, topicId: server.broker.metadata.image.topicsByName.get(topic)!.id, partitions: [{ partition: 0, currentLeaderEpoch, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [], rackId: "",
  };
}

beforeAll(async () => {
  server = await startInProcess();
  client = await connectTo(server.bootstrap);
  await registerLive(2, 9002);
  const create = (name: string, replicas: number[]) =>
    server.core.admin.createTopic({ name, numPartitions: -1, replicationFactor: -1, assignments: [replicas], configs: {} });
  await create("remote", [2]);
  await create("local", [1]);
  await create("pair", [1, 2]);
});

afterAll(async () => {
  client.close();
  await server.close();
});

test("Produce to a partition led elsewhere: NOT_LEADER_OR_FOLLOWER with the leader and its endpoint (v10+), no hint before", async () => {
  const hinted = await call(ProduceApi, 10, produce("remote", 1));
  const partition = hinted.responses[0].partitionResponses[0];
  expect(partition.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  expect(partition.currentLeader).toEqual({ leaderId: 2, leaderEpoch: 0 });
  expect(hinted.nodeEndpoints).toEqual([{ nodeId: 2, host: "127.0.0.1", port: 9002, rack: null }]);
  const plain = await call(ProduceApi, 9, produce("remote", 1));
  expect(plain.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  expect(await call(ProduceApi, 9, produce("local", 1))).toMatchObject({ responses: [{ partitionResponses: [{ errorCode: 0, baseOffset: 0n }] }] });
});

test("Fetch from a partition led elsewhere: NOT_LEADER_OR_FOLLOWER with currentLeader (v12+) and nodeEndpoints (v16+)", async () => {
  const response = await call(FetchApi, 16, fetch("remote"));
  const partition = response.responses[0].partitions[0];
  expect(partition.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  expect(partition.currentLeader).toEqual({ leaderId: 2, leaderEpoch: 0 });
  expect(response.nodeEndpoints).toEqual([{ nodeId: 2, host: "127.0.0.1", port: 9002, rack: null }]);
});

test("a client's currentLeaderEpoch is checked in Fetch, ListOffsets and OffsetForLeaderEpoch (a newer one: UNKNOWN_LEADER_EPOCH)", async () => {
  const epoch = server.broker.metadata.image.topicsByName.get("local")!.partitions[0]!.leaderEpoch;
  expect((await call(FetchApi, 12, fetch("local", epoch + 1))).responses[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
  expect((await call(FetchApi, 12, fetch("local", epoch))).responses[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
  const listOffsets = (currentLeaderEpoch: number) => call(ListOffsetsApi, 7, {
    replicaId: -1, isolationLevel: 0, topics: [{ name: "local", partitions: [{ partitionIndex: 0, currentLeaderEpoch, timestamp: -1n }] }],
  });
  expect((await listOffsets(epoch + 1)).topics[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
  expect((await listOffsets(epoch)).topics[0].partitions[0]).toMatchObject({ errorCode: 0, offset: 2n, leaderEpoch: epoch });
  const forEpoch = (currentLeaderEpoch: number, leaderEpoch: number) => call(OffsetForLeaderEpochApi, 3, {
    replicaId: -1, topics: [{ topic: "local", partitions: [{ partition: 0, currentLeaderEpoch, leaderEpoch }] }],
  });
  expect((await forEpoch(epoch + 1, epoch)).topics[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
  expect((await forEpoch(epoch, epoch)).topics[0].partitions[0]).toMatchObject({ errorCode: 0, leaderEpoch: epoch, endOffset: 2n });
  expect((await forEpoch(-1, epoch + 5)).topics[0].partitions[0]).toMatchObject({ errorCode: 0, leaderEpoch: -1, endOffset: -1n });
});

test("acks=all waits for every in-sync replica: with a follower not heard from, REQUEST_TIMED_OUT; acks=1 is answered", async () => {
  const all = await call(ProduceApi, 9, produce("pair", -1, 100));
  expect(all.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.REQUEST_TIMED_OUT);
  const one = await call(ProduceApi, 9, produce("pair", 1));
  expect(one.responses[0].partitionResponses[0]).toMatchObject({ errorCode: 0, baseOffset: 2n });
});

test("Metadata and DescribeCluster come from the image: brokers, leaders, replicas, ISR; a fenced broker's replicas are offline", async () => {
  const metadata = await call(MetadataApi, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  expect(metadata.brokers.map((broker: { nodeId: number; port: number }) => [broker.nodeId, broker.port]))
    .toEqual([[1, server.server.port], [2, 9002]]);
  expect(metadata.controllerId).toBe(1);
  const byName = new Map(metadata.topics.map((topic: { name: string }) => [topic.name, topic]));
  expect((byName.get("remote") as { partitions: unknown[] }).partitions[0]).toMatchObject({ leaderId: 2, replicaNodes: [2], isrNodes: [2], offlineReplicas: [] });
  expect((byName.get("pair") as { partitions: unknown[] }).partitions[0]).toMatchObject({ leaderId: 1, replicaNodes: [1, 2], isrNodes: [1, 2] });
  const cluster = await call(DescribeClusterApi, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 });
  expect(cluster.brokers.map((broker: { brokerId: number }) => broker.brokerId)).toEqual([1, 2]);
  // Broker 2 restarts (a new incarnation registers, fenced): it leaves the broker list and the ISR
  // where another member remains; its only-replica partition has no leader.
  await server.core.controller.registerBroker({ brokerId: 2, incarnationId: randomUuid(), endpoints: endpoint(9002), rack: null, cleanShutdown: true });
  await server.core.publisher.waitForPublished(await server.core.controller.proposalsSettled());
  const fenced = await call(MetadataApi, 12, { topics: [{ name: "remote", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }, { name: "pair", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  expect(fenced.brokers.map((broker: { nodeId: number }) => broker.nodeId)).toEqual([1]);
  expect(fenced.topics[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.LEADER_NOT_AVAILABLE, leaderId: -1, isrNodes: [2], offlineReplicas: [2] });
  expect(fenced.topics[1].partitions[0]).toMatchObject({ errorCode: 0, leaderId: 1, isrNodes: [1], offlineReplicas: [2] });
  // The ISR is the leader alone now: acks=all is answered again.
  expect((await call(ProduceApi, 9, produce("pair", -1, 1000))).responses[0].partitionResponses[0].errorCode).toBe(0);
});
