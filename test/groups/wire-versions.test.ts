// Every version of every group API the descriptors define, on the wire against a real broker
// process: ApiVersions advertises exactly the descriptors' ranges, and a full group lifecycle
// (join, sync, heartbeat, commit, fetch, describe, list, leave, offset delete, delete) answers
// correctly at each version, including OffsetFetch v8+ with several groups in one request.

import { afterAll, beforeAll, expect, test } from "bun:test";
import type { KafkaConnection } from "../../src/client/connection.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import {
  ApiVersionsApi,
  ConsumerGroupDescribeApi,
  ConsumerGroupHeartbeatApi,
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
  const connected = await connectTo(broker.bootstrap, "wire-versions");
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
  broker = await startBroker({ set: { "group.initial.rebalance.delay.ms": 0, "offsets.topic.num.partitions": 2 } });
  const admin = await client();
  const created = await admin.request(CreateTopicsApi, {
    topics: [
      { name: "vt", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
      { name: "other", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
    ],
    timeoutMs: 5000,
  }, { version: 4 });
  expect(created.topics.map((topic: any) => topic.errorCode)).toEqual([0, 0]);
});

afterAll(async () => {
  for (const connected of clients) connected.close();
  await broker?.stop();
});

const GROUP_APIS = [
  OffsetCommitApi, OffsetFetchApi, FindCoordinatorApi, JoinGroupApi, HeartbeatApi, LeaveGroupApi, SyncGroupApi,
  DescribeGroupsApi, ListGroupsApi, DeleteGroupsApi, OffsetDeleteApi,
];

test("ApiVersions advertises every version the descriptors define for the group APIs", async () => {
  const connection = await client();
  const response = await connection.request(ApiVersionsApi, { clientSoftwareName: "t", clientSoftwareVersion: "1" }, { version: 3 });
  expect(response.errorCode).toBe(0);
  const advertised = new Map<number, [number, number]>(response.apiKeys.map((key: any) => [key.apiKey, [key.minVersion, key.maxVersion]]));
  for (const api of GROUP_APIS) expect([api.apiKey, advertised.get(api.apiKey)]).toEqual([api.apiKey, [api.minVersion, api.maxVersion]]);
  // KIP-848: the stable versions (an unstable latest version is not advertised).
  for (const api of [ConsumerGroupHeartbeatApi, ConsumerGroupDescribeApi]) {
    const stableMax = api.latestVersionUnstable ? Math.max(0, api.maxVersion - 1) : api.maxVersion;
    expect([api.apiKey, advertised.get(api.apiKey)]).toEqual([api.apiKey, [0, stableMax]]);
  }
});

test("FindCoordinator: every version names this node", async () => {
  const connection = await client();
  for (let version = FindCoordinatorApi.minVersion; version <= FindCoordinatorApi.maxVersion; version++) {
    const response = await connection.request(FindCoordinatorApi, version < 4 ? { key: "g", keyType: 0 } : { keyType: 0, coordinatorKeys: ["g", "h"] }, { version });
    if (version < 4) {
      expect([version, response.errorCode, response.host, response.port]).toEqual([version, 0, broker.host, broker.port]);
    } else {
      expect([version, response.coordinators.map((entry: any) => [entry.key, entry.errorCode, entry.port])]).toEqual([
        version, [["g", 0, broker.port], ["h", 0, broker.port]],
      ]);
    }
  }
});

test("OffsetCommit with a generation for a group that does not exist: ILLEGAL_GENERATION before v9, GROUP_ID_NOT_FOUND from v9", async () => {
  const connection = await client();
  for (let version = 1; version <= OffsetCommitApi.maxVersion; version++) {
    const response = await connection.request(OffsetCommitApi, {
      groupId: "no-such-group", generationIdOrMemberEpoch: 3, memberId: "ghost", groupInstanceId: null, retentionTimeMs: -1n,
      topics: [{ name: "vt", partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: "" }] }],
    }, { version });
    expect([version, response.topics[0].partitions[0].errorCode]).toEqual([version, version >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION]);
  }
  // Nothing was created by the refused commits.
  const described = await connection.request(DescribeGroupsApi, { groups: ["no-such-group"], includeAuthorizedOperations: false }, { version: 5 });
  expect(described.groups[0].groupState).toBe("Dead");
});

// One lifecycle per index i: each API is used at version min(i, its max), so every version of
// every classic group API is exercised at least once.
const lifecycleCount = Math.max(...GROUP_APIS.map((api) => api.maxVersion)) + 1;
for (let index = 0; index < lifecycleCount; index++) {
  test(`group lifecycle with each API at version min(${index}, max)`, async () => {
    const v = (api: { maxVersion: number }) => Math.min(index, api.maxVersion);
    const groupId = `lifecycle-${index}`;
    const connection = await client();
    const join = (memberId: string) =>
      connection.request(JoinGroupApi, {
        groupId, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId, groupInstanceId: null, protocolType: "consumer",
        protocols: [{ name: "range", metadata: subscription(["vt"]) }], reason: null,
      }, { version: v(JoinGroupApi) });
    let joined = await join("");
    if (v(JoinGroupApi) >= 4) {
      // KIP-394: the first join only hands out a member id.
      expect(joined.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
      joined = await join(joined.memberId);
    }
    expect(joined.errorCode).toBe(0);
    expect(joined.leader).toBe(joined.memberId);
    expect(joined.protocolName).toBe("range");
    expect(joined.members.map((member: any) => member.memberId)).toEqual([joined.memberId]);
    const memberId: string = joined.memberId;
    const generationId: number = joined.generationId;

    const synced = await connection.request(SyncGroupApi, {
      groupId, generationId, memberId, groupInstanceId: null, protocolType: "consumer", protocolName: "range",
      assignments: [{ memberId, assignment: new Uint8Array([index]) }],
    }, { version: v(SyncGroupApi) });
    expect(synced.errorCode).toBe(0);
    expect([...synced.assignment]).toEqual([index]);

    const heartbeat = await connection.request(HeartbeatApi, { groupId, generationId, memberId, groupInstanceId: null }, { version: v(HeartbeatApi) });
    expect(heartbeat.errorCode).toBe(0);

    // OffsetCommit v0 carries no generation: it is a simple commit, refused for a group with
    // members (UNKNOWN_MEMBER_ID, as Kafka), accepted for a group without members.
    const commitVersion = v(OffsetCommitApi);
    const commitTarget = commitVersion === 0 ? `${groupId}-simple` : groupId;
    const commit = (target: string, generation: number, member: string) =>
      connection.request(OffsetCommitApi, {
        groupId: target, generationIdOrMemberEpoch: generation, memberId: member, groupInstanceId: null, retentionTimeMs: -1n,
        topics: [{ name: "vt", partitions: [{ partitionIndex: 0, committedOffset: BigInt(100 + index), committedLeaderEpoch: 7, commitTimestamp: -1n, committedMetadata: `m${index}` }] }],
      }, { version: commitVersion });
    if (commitVersion === 0) {
      const refused = await commit(groupId, -1, "");
      expect(refused.topics[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
      const simple = await commit(commitTarget, -1, "");
      expect(simple.topics[0].partitions[0].errorCode).toBe(0);
    } else {
      const committed = await commit(groupId, generationId, memberId);
      expect(committed.topics[0].partitions[0].errorCode).toBe(0);
    }

    const fetchVersion = v(OffsetFetchApi);
    // Leader epochs travel on commits from v6 and on fetches from v5.
    const expected = { partitionIndex: 0, committedOffset: BigInt(100 + index), committedLeaderEpoch: commitVersion >= 6 && fetchVersion >= 5 ? 7 : -1, metadata: `m${index}`, errorCode: 0 };
    if (fetchVersion >= 8) {
      // A second group with its own commit (simple, outside group management), fetched in the same request.
      const second = `${groupId}-second`;
      const secondCommit = await connection.request(OffsetCommitApi, {
        groupId: second, generationIdOrMemberEpoch: -1, memberId: "", retentionTimeMs: -1n,
        topics: [{ name: "other", partitions: [{ partitionIndex: 0, committedOffset: 55n, committedMetadata: null }] }],
      }, { version: 2 });
      expect(secondCommit.topics[0].partitions[0].errorCode).toBe(0);
      const fetched = await connection.request(OffsetFetchApi, {
        groups: [
          { groupId: commitTarget, memberId: null, memberEpoch: -1, topics: [{ name: "vt", partitionIndexes: [0] }] },
          { groupId: second, memberId: null, memberEpoch: -1, topics: null },
          { groupId: "never-committed", memberId: null, memberEpoch: -1, topics: [{ name: "vt", partitionIndexes: [0] }] },
        ],
        requireStable: true,
      }, { version: fetchVersion });
      expect(fetched.groups.map((group: any) => [group.groupId, group.errorCode])).toEqual([[commitTarget, 0], [second, 0], ["never-committed", 0]]);
      expect(fetched.groups[0].topics[0].partitions[0]).toMatchObject(expected);
      expect(fetched.groups[1].topics.map((topic: any) => [topic.name, topic.partitions.map((partition: any) => partition.committedOffset)])).toEqual([["other", [55n]]]);
      expect(fetched.groups[2].topics[0].partitions[0]).toMatchObject({ committedOffset: -1n, errorCode: 0 });
    } else {
      const fetched = await connection.request(OffsetFetchApi, { groupId: commitTarget, topics: [{ name: "vt", partitionIndexes: [0] }], requireStable: fetchVersion >= 7 }, { version: fetchVersion });
      if (fetchVersion >= 2) expect(fetched.errorCode).toBe(0);
      expect(fetched.topics[0].partitions[0]).toMatchObject(expected);
      if (fetchVersion >= 2) {
        // v2+: null topics means every committed partition.
        const all = await connection.request(OffsetFetchApi, { groupId: commitTarget, topics: null }, { version: fetchVersion });
        expect(all.topics.map((topic: any) => topic.name)).toEqual(["vt"]);
      }
    }

    const described = await connection.request(DescribeGroupsApi, { groups: [groupId], includeAuthorizedOperations: false }, { version: v(DescribeGroupsApi) });
    expect(described.groups[0]).toMatchObject({ errorCode: 0, groupId, groupState: "Stable", protocolType: "consumer", protocolData: "range" });
    expect(described.groups[0].members.map((member: any) => [member.memberId, [...member.memberAssignment]])).toEqual([[memberId, [index]]]);

    const listVersion = v(ListGroupsApi);
    const listed = await connection.request(ListGroupsApi, listVersion >= 4 ? { statesFilter: ["stable"], typesFilter: listVersion >= 5 ? ["classic"] : [] } : {}, { version: listVersion });
    expect(listed.errorCode).toBe(0);
    const mine = listed.groups.find((group: any) => group.groupId === groupId);
    expect(mine).toMatchObject({ groupId, protocolType: "consumer" });
    if (listVersion >= 4) {
      expect(mine!.groupState).toBe("Stable");
      expect(listed.groups.every((group: any) => group.groupState === "Stable")).toBe(true);
    }

    const leaveVersion = v(LeaveGroupApi);
    const left = await connection.request(LeaveGroupApi, leaveVersion < 3 ? { groupId, memberId } : { groupId, members: [{ memberId, groupInstanceId: null, reason: null }] }, { version: leaveVersion });
    expect(left.errorCode).toBe(0);
    if (leaveVersion >= 3) expect(left.members.map((member: any) => [member.memberId, member.errorCode])).toEqual([[memberId, 0]]);
    const afterLeave = await connection.request(HeartbeatApi, { groupId, generationId, memberId, groupInstanceId: null }, { version: v(HeartbeatApi) });
    expect(afterLeave.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const empty = await connection.request(DescribeGroupsApi, { groups: [groupId], includeAuthorizedOperations: false }, { version: v(DescribeGroupsApi) });
    expect(empty.groups[0].groupState).toBe("Empty");

    const offsetDeleted = await connection.request(OffsetDeleteApi, { groupId, topics: [{ name: "vt", partitions: [{ partitionIndex: 0 }] }] }, { version: v(OffsetDeleteApi) });
    expect([offsetDeleted.errorCode, offsetDeleted.topics[0].partitions[0].errorCode]).toEqual([0, 0]);
    const none = await connection.request(OffsetFetchApi, { groupId, topics: null }, { version: 3 });
    expect(none.topics).toEqual([]);
    const deleted = await connection.request(DeleteGroupsApi, { groupsNames: [groupId, groupId + "-missing"] }, { version: v(DeleteGroupsApi) });
    expect(deleted.results.map((result: any) => [result.groupId, result.errorCode])).toEqual([[groupId, 0], [groupId + "-missing", ErrorCode.GROUP_ID_NOT_FOUND]]);
    const dead = await connection.request(DescribeGroupsApi, { groups: [groupId], includeAuthorizedOperations: false }, { version: v(DescribeGroupsApi) });
    expect(dead.groups[0].groupState).toBe("Dead");
  });
}
