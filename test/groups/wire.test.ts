// Group APIs on the wire against a real broker process, with a protocol-level client: the exact
// Kafka error for bad input (unknown groups/generations, oversized metadata, fenced members),
// several versions of each API, and no damage to other groups.

import { afterAll, beforeAll, expect, test } from "bun:test";
import type { KafkaConnection } from "../../src/client/connection.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import {
  CreateTopicsApi,
  DeleteGroupsApi,
  DescribeGroupsApi,
  FindCoordinatorApi,
  HeartbeatApi,
  JoinGroupApi,
  LeaveGroupApi,
  ListGroupsApi,
  OffsetCommitApi,
  OffsetDeleteApi,
  OffsetFetchApi,
  SyncGroupApi,
} from "../../src/protocol/generated/index.ts";
import { Writer } from "../../src/protocol/primitives.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { connectTo } from "../helpers/connection.ts";

let broker: Broker;
const clients: KafkaConnection[] = [];

async function client(): Promise<KafkaConnection> {
  const connected = await connectTo(broker.bootstrap, "wire-groups");
  clients.push(connected);
  return connected;
}

function subscription(topics: string[]): Uint8Array {
  const writer = new Writer();
  writer.int16(0);
  writer.int32(topics.length);
  for (const topic of topics) writer.string(topic);
  writer.int32(-1);
  return writer.finish();
}

beforeAll(async () => {
  broker = await startBroker({
    set: { "group.initial.rebalance.delay.ms": 0, "offset.metadata.max.bytes": 64, "offsets.topic.num.partitions": 3 },
  });
  const admin = await client();
  const created = await admin.request(CreateTopicsApi, {
    topics: [{ name: "wt", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
  }, { version: 4 });
  expect(created.topics[0].errorCode).toBe(0);
});

afterAll(async () => {
  for (const connected of clients) connected.close();
  await broker?.stop();
});

/** A one-member group (JoinGroup v5 with KIP-394, SyncGroup v3), Stable. */
async function stableMember(groupId: string, groupInstanceId: string | null = null) {
  const connection = await client();
  const join = (memberId: string) =>
    connection.request(JoinGroupApi, {
      groupId, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId, groupInstanceId, protocolType: "consumer",
      protocols: [{ name: "range", metadata: subscription(["wt"]) }],
    }, { version: 5 });
  let joined = await join("");
  if (joined.errorCode === ErrorCode.MEMBER_ID_REQUIRED) joined = await join(joined.memberId);
  expect(joined.errorCode).toBe(0);
  const synced = await connection.request(SyncGroupApi, {
    groupId, generationId: joined.generationId, memberId: joined.memberId, groupInstanceId,
    assignments: [{ memberId: joined.memberId, assignment: new Uint8Array([1, 2, 3]) }],
  }, { version: 3 });
  expect(synced.errorCode).toBe(0);
  expect([...synced.assignment]).toEqual([1, 2, 3]);
  return { connection, memberId: joined.memberId as string, generationId: joined.generationId as number };
}

test("FindCoordinator v0 and the batched v4 form name this node", async () => {
  const connection = await client();
  const v0 = await connection.request(FindCoordinatorApi, { key: "g" }, { version: 0 });
  expect(v0.errorCode).toBe(0);
  expect(v0.port).toBe(broker.port);
  const v4 = await connection.request(FindCoordinatorApi, { keyType: 0, coordinatorKeys: ["a", "b", ""] }, { version: 4 });
  expect(v4.coordinators.map((entry: any) => [entry.key, entry.errorCode, entry.port])).toEqual([
    ["a", 0, broker.port],
    ["b", 0, broker.port],
    ["", ErrorCode.INVALID_GROUP_ID, -1],
  ]);
});

test("bad commits get Kafka's errors and leave other groups' offsets alone", async () => {
  const member = await stableMember("good");
  const commit = (groupId: string, generationId: number, memberId: string, partitions: { partitionIndex: number; committedOffset: bigint; committedMetadata: string }[], topic = "wt") =>
    member.connection.request(OffsetCommitApi, {
      groupId, generationIdOrMemberEpoch: generationId, memberId, groupInstanceId: null,
      topics: [{ name: topic, partitions: partitions.map((partition) => ({ ...partition, committedLeaderEpoch: -1 })) }],
    }, { version: 7 });
  const ok = await commit("good", member.generationId, member.memberId, [{ partitionIndex: 0, committedOffset: 5n, committedMetadata: "fine" }]);
  expect(ok.topics[0].partitions[0].errorCode).toBe(0);

  const errorsOf = (response: any) => response.topics[0].partitions.map((partition: any) => partition.errorCode);
  expect(errorsOf(await commit("nobody", 3, "ghost", [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: "" }]))).toEqual([ErrorCode.ILLEGAL_GENERATION]);
  expect(errorsOf(await commit("good", member.generationId + 1, member.memberId, [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: "" }]))).toEqual([ErrorCode.ILLEGAL_GENERATION]);
  expect(errorsOf(await commit("good", member.generationId, "ghost", [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: "" }]))).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
  expect(errorsOf(await commit("good", -1, "", [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: "" }]))).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
  expect(errorsOf(await commit("good", member.generationId, member.memberId, [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: "" }], "no-such-topic"))).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  // Oversized metadata fails only its own partition.
  const mixed = await commit("good", member.generationId, member.memberId, [
    { partitionIndex: 0, committedOffset: 9n, committedMetadata: "x".repeat(65) },
    { partitionIndex: 1, committedOffset: 7n, committedMetadata: "ok" },
  ]);
  expect(errorsOf(mixed)).toEqual([ErrorCode.OFFSET_METADATA_TOO_LARGE, 0]);

  const fetched = await member.connection.request(OffsetFetchApi, {
    groups: [{ groupId: "good", topics: null }, { groupId: "nobody", topics: [{ name: "wt", partitionIndexes: [0] }] }],
    requireStable: true,
  }, { version: 8 });
  expect(fetched.groups[0].topics[0].partitions.map((partition: any) => [partition.partitionIndex, partition.committedOffset, partition.metadata])).toEqual([
    [0, 5n, "fine"],
    [1, 7n, "ok"],
  ]);
  expect(fetched.groups[1].topics[0].partitions[0].committedOffset).toBe(-1n);
  const v1 = await member.connection.request(OffsetFetchApi, { groupId: "good", topics: [{ name: "wt", partitionIndexes: [0, 1] }] }, { version: 1 });
  expect(v1.topics[0].partitions.map((partition: any) => partition.committedOffset)).toEqual([5n, 7n]);
});

test("heartbeats from unknown, stale and fenced members", async () => {
  const member = await stableMember("hb", "instance-1");
  const heartbeat = (memberId: string, generationId: number, groupInstanceId: string | null = null) =>
    member.connection.request(HeartbeatApi, { groupId: "hb", generationId, memberId, groupInstanceId }, { version: 3 }).then((response: any) => response.errorCode);
  expect(await heartbeat(member.memberId, member.generationId, "instance-1")).toBe(0);
  expect(await heartbeat(member.memberId, member.generationId - 1, "instance-1")).toBe(ErrorCode.ILLEGAL_GENERATION);
  expect(await heartbeat("ghost", member.generationId)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  expect(await heartbeat("ghost", 1, null).then(() => member.connection.request(HeartbeatApi, { groupId: "missing", generationId: 1, memberId: "x" }, { version: 0 }))).toMatchObject({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID });
  // The same static instance starts again: the old member id is fenced.
  const replacement = await stableMember("hb", "instance-1");
  expect(replacement.memberId).not.toBe(member.memberId);
  expect(await heartbeat(member.memberId, member.generationId, "instance-1")).toBe(ErrorCode.FENCED_INSTANCE_ID);
  const left = await replacement.connection.request(LeaveGroupApi, { groupId: "hb", members: [{ memberId: member.memberId, groupInstanceId: "instance-1" }] }, { version: 3 });
  expect(left.members[0].errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
});

test("describe, list with a state filter, delete groups, delete offsets", async () => {
  const member = await stableMember("admin");
  await member.connection.request(OffsetCommitApi, {
    groupId: "admin", generationIdOrMemberEpoch: member.generationId, memberId: member.memberId, retentionTimeMs: -1n,
    topics: [{ name: "wt", partitions: [{ partitionIndex: 0, committedOffset: 3n, committedMetadata: null }] }],
  }, { version: 2 });
  const described = await member.connection.request(DescribeGroupsApi, { groups: ["admin", "missing"], includeAuthorizedOperations: false }, { version: 5 });
  expect(described.groups[0].groupState).toBe("Stable");
  expect(described.groups[0].protocolData).toBe("range");
  expect(described.groups[0].members[0].memberId).toBe(member.memberId);
  expect(described.groups[1].groupState).toBe("Dead");
  const stable = await member.connection.request(ListGroupsApi, { statesFilter: ["Stable"] }, { version: 4 });
  expect(stable.groups.map((group: any) => group.groupId)).toContain("admin");
  expect(stable.groups.every((group: any) => group.groupState === "Stable")).toBe(true);
  const deleteOffsets = await member.connection.request(OffsetDeleteApi, { groupId: "admin", topics: [{ name: "wt", partitions: [{ partitionIndex: 0 }] }] }, { version: 0 });
  expect(deleteOffsets.topics[0].partitions[0].errorCode).toBe(ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
  const refused = await member.connection.request(DeleteGroupsApi, { groupsNames: ["admin", "missing"] }, { version: 2 });
  expect(refused.results.map((result: any) => result.errorCode)).toEqual([ErrorCode.NON_EMPTY_GROUP, ErrorCode.GROUP_ID_NOT_FOUND]);
  const left = await member.connection.request(LeaveGroupApi, { groupId: "admin", memberId: member.memberId }, { version: 1 });
  expect(left.errorCode).toBe(0);
  const deleted = await member.connection.request(DeleteGroupsApi, { groupsNames: ["admin"] }, { version: 0 });
  expect(deleted.results[0].errorCode).toBe(0);
  const after = await member.connection.request(OffsetFetchApi, { groupId: "admin", topics: null }, { version: 3 });
  expect(after.topics).toEqual([]);
});

test("acknowledged commits survive kill -9 of the broker; a Stable group is restored with its members", async () => {
  const member = await stableMember("durable");
  const committed = await member.connection.request(OffsetCommitApi, {
    groupId: "durable", generationIdOrMemberEpoch: member.generationId, memberId: member.memberId, groupInstanceId: null,
    topics: [{ name: "wt", partitions: [{ partitionIndex: 1, committedOffset: 4242n, committedLeaderEpoch: 3, committedMetadata: "meta" }] }],
  }, { version: 8 });
  expect(committed.topics[0].partitions[0].errorCode).toBe(0);
  for (const connected of clients.splice(0)) connected.close();
  await broker.crash();
  const after = await client();
  const fetched = await after.request(OffsetFetchApi, { groupId: "durable", topics: [{ name: "wt", partitionIndexes: [1] }], requireStable: false }, { version: 6 });
  expect(fetched.topics[0].partitions[0]).toMatchObject({ committedOffset: 4242n, committedLeaderEpoch: 3, metadata: "meta", errorCode: 0 });
  // The member's session restarts with the broker: its heartbeat is accepted, its assignment kept.
  const heartbeat = await after.request(HeartbeatApi, { groupId: "durable", generationId: member.generationId, memberId: member.memberId, groupInstanceId: null }, { version: 3 });
  expect(heartbeat.errorCode).toBe(0);
  const described = await after.request(DescribeGroupsApi, { groups: ["durable"] }, { version: 0 });
  expect(described.groups[0].groupState).toBe("Stable");
  expect([...described.groups[0].members[0].memberAssignment]).toEqual([1, 2, 3]);
});
