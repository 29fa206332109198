// A node coordinates the groups of the __consumer_offsets partitions it leads (docs/replication.md
// §6), from the metadata image: an in-process node whose offsets topic has partitions led by a
// second broker (registered through the controller; no process behind it). Groups elsewhere get
// NOT_COORDINATOR and FindCoordinator names their coordinator; a partition loads when this node
// becomes its leader (COORDINATOR_LOAD_IN_PROGRESS until it is loaded) and unloads when it stops
// being (NOT_COORDINATOR, parked joins answered so that members move on).

import { afterAll, beforeAll, expect, test } from "bun:test";
import { OFFSETS_TOPIC, offsetsPartitionFor } from "../../src/groups/index.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { FindCoordinatorApi, JoinGroupApi, OffsetCommitApi, OffsetFetchApi } from "../../src/protocol/generated/index.ts";
import { randomUuid } from "../../src/protocol/primitives.ts";
import type { BrokerCore } from "../../src/node.ts";
import { startInProcess, type InProcessServer } from "../kafka/in-process.ts";
import type { KafkaConnection } from "../../src/client/connection.ts";
import type { AnyApi } from "../../src/protocol/api.ts";
import { connectTo } from "../helpers/connection.ts";

const partitionCount = 4;
let server: InProcessServer;
let client: KafkaConnection;

const endpoint = (port: number) => [{ name: "PLAINTEXT", host: "127.0.0.1", port, securityProtocol: 0 }];

async function registerLive(core: BrokerCore, brokerId: number, port: number, incarnationId = randomUuid()): Promise<void> {
  const registered = await core.controller.registerBroker({ brokerId, incarnationId, endpoints: endpoint(port), rack: null, cleanShutdown: true });
  const heartbeat = await core.controller.brokerHeartbeat({ brokerId, brokerEpoch: registered.value, currentMetadataOffset: registered.offset });
  await core.publisher.waitForPublished(heartbeat.offset);
}

/** A group id whose offsets partition is `partition`. */
function groupOn(partition: number, prefix = "g"): string {
  for (let index = 0; ; index++) if (offsetsPartitionFor(`${prefix}${index}`, partitionCount) === partition) return `${prefix}${index}`;
}

/** One request at an exact version, answered body (the shared client: test/helpers/connection.ts). */
function call(api: AnyApi, version: number, body: unknown): Promise<any> {
  return client.request(api, body as never, { version });
}

const commit = (groupId: string) => call(OffsetCommitApi, 7, {
  groupId, generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null,
  topics: [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: 3n, committedLeaderEpoch: -1, committedMetadata: "" }] }],
});
const fetchOffsets = (groupId: string) => call(OffsetFetchApi, 7, { groupId, topics: null, requireStable: false });

beforeAll(async () => {
  server = await startInProcess([["offsets.topic.num.partitions", String(partitionCount)]], {
    async beforeRegister(core, port) {
      // Both brokers live first, then __consumer_offsets with partitions 1 and 3 on broker 2 alone
      // (one replica each: with an ISR of two, commits would wait for a follower that never fetches).
      await registerLive(core, 1, port, core.incarnationId);
      await registerLive(core, 2, 9002);
      await core.admin.createTopic({
        name: OFFSETS_TOPIC, numPartitions: -1, replicationFactor: -1, assignments: [[1], [2], [1], [2]],
        configs: { "cleanup.policy": "compact" },
      });
      await core.admin.createTopic({ name: "t", numPartitions: 1, replicationFactor: -1, assignments: [[1]], configs: {} });
    },
  });
  client = await connectTo(server.bootstrap);
});

afterAll(async () => {
  client.close();
  await server.close();
});

test("groups of partitions led elsewhere: NOT_COORDINATOR; FindCoordinator names the leader of the group's partition", async () => {
  expect(server.core.groups.partitions.loadedPartitions()).toEqual([0, 2]);
  const here = groupOn(0);
  const elsewhere = groupOn(1);
  const found = await call(FindCoordinatorApi, 4, { keyType: 0, coordinatorKeys: [here, elsewhere] });
  expect(found.coordinators.map((entry: { key: string; nodeId: number; port: number }) => [entry.key, entry.nodeId, entry.port]))
    .toEqual([[here, 1, server.server.port], [elsewhere, 2, 9002]]);
  expect((await commit(here)).topics[0].partitions[0].errorCode).toBe(0);
  expect((await commit(elsewhere)).topics[0].partitions[0].errorCode).toBe(ErrorCode.NOT_COORDINATOR);
  expect((await fetchOffsets(elsewhere)).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
  const join = await call(JoinGroupApi, 5, {
    groupId: elsewhere, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: "", groupInstanceId: null,
    protocolType: "consumer", protocols: [{ name: "range", metadata: new Uint8Array(0) }],
  });
  expect(join.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
});

test("losing a partition unloads its groups (NOT_COORDINATOR); leading it again loads them back from the log (LOAD_IN_PROGRESS meanwhile)", async () => {
  const group = groupOn(2, "moving");
  expect((await commit(group)).topics[0].partitions[0].errorCode).toBe(0);
  const { replicas } = server.core;
  const replica = replicas.partition(OFFSETS_TOPIC, 2)!;
  const registration = server.broker.metadata.image.topicsByName.get(OFFSETS_TOPIC)!.partitions[2]!;
  // What the reconciler does when the image moves the leadership to broker 2, then back.
  replicas.becomeFollower(replica, { ...registration, replicas: [1, 2], isr: [2], leader: 2, leaderEpoch: registration.leaderEpoch + 1 });
  expect(server.core.groups.coordinatorError(group)).toBe(ErrorCode.NOT_COORDINATOR);
  expect(server.core.groups.coordinator.state(group)).toBeUndefined(); // dropped from memory
  expect((await fetchOffsets(group)).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
  replicas.becomeLeader(replica, { ...registration, leaderEpoch: registration.leaderEpoch + 2 });
  expect(server.core.groups.coordinatorError(group)).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  await server.core.groups.partitions.loaded();
  expect(server.core.groups.coordinatorError(group)).toBe(ErrorCode.NONE);
  const fetched = await fetchOffsets(group);
  expect(fetched.errorCode).toBe(0);
  expect(fetched.topics[0].partitions[0].committedOffset).toBe(3n);
});
