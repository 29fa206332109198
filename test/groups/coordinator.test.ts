// The classic group coordinator driven by a manual clock: no sockets, no sleeps.

import { describe, expect, test } from "bun:test";
import { GroupCoordinator, type GroupCoordinatorConfig } from "../../src/groups/coordinator.ts";
import { MemoryGroupStore } from "../../src/groups/group-store.ts";
import { ManualScheduler } from "../../src/groups/scheduler.ts";
import type { JoinGroupInput, JoinGroupResult, SyncGroupResult } from "../../src/groups/types.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { Writer } from "../../src/protocol/primitives.ts";

const config: GroupCoordinatorConfig = {
  groupMinSessionTimeoutMs: 1000,
  groupMaxSessionTimeoutMs: 60_000,
  groupInitialRebalanceDelayMs: 0,
  groupMaxSize: 100,
  offsetMetadataMaxBytes: 32,
  offsetsRetentionMs: 60_000,
  offsetsRetentionCheckIntervalMs: 10_000,
};

function setup(overrides: Partial<GroupCoordinatorConfig> = {}) {
  const scheduler = new ManualScheduler();
  const store = new MemoryGroupStore();
  const coordinator = new GroupCoordinator({ ...config, ...overrides }, scheduler, store);
  return { scheduler, store, coordinator };
}

/** Consumer-protocol subscription bytes (v0: topics, null user data). */
function subscription(topics: string[]): Uint8Array {
  const writer = new Writer();
  writer.int16(0);
  writer.int32(topics.length);
  for (const topic of topics) writer.string(topic);
  writer.int32(-1);
  return writer.finish();
}

function joinInput(overrides: Partial<JoinGroupInput> = {}): JoinGroupInput {
  return {
    groupId: "g",
    memberId: "",
    groupInstanceId: null,
    clientId: "client",
    clientHost: "/127.0.0.1",
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: subscription(["t"]) }],
    requireKnownMemberId: true,
    ...overrides,
  };
}

/** Settles promise callbacks queued by the coordinator (writes through MemoryGroupStore). */
async function settle(): Promise<void> {
  for (let index = 0; index < 10; index++) await Promise.resolve();
}

/** KIP-394 join: MEMBER_ID_REQUIRED, then join again with the given id (the promise is boxed so
 * that awaiting the first step does not await the rebalance). */
async function joinPromise(coordinator: GroupCoordinator, overrides: Partial<JoinGroupInput> = {}) {
  const first = await coordinator.joinGroup(joinInput(overrides));
  expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
  expect(first.memberId).toStartWith("client-");
  return { done: coordinator.joinGroup(joinInput({ ...overrides, memberId: first.memberId })) };
}

/** A single member's complete join. */
async function joinOne(coordinator: GroupCoordinator, overrides: Partial<JoinGroupInput> = {}) {
  return (await joinPromise(coordinator, overrides)).done;
}

async function syncAll(coordinator: GroupCoordinator, joins: JoinGroupResult[], groupId = "g"): Promise<SyncGroupResult[]> {
  const leader = joins.find((join) => join.leader === join.memberId)!;
  const syncs = joins.map((join) =>
    coordinator.syncGroup({
      groupId,
      generationId: join.generationId,
      memberId: join.memberId,
      groupInstanceId: null,
      protocolType: "consumer",
      protocolName: join.protocolName,
      assignments:
        join === leader ? leader.members.map((member) => ({ memberId: member.memberId, assignment: new TextEncoder().encode(`for ${member.memberId}`) })) : [],
    }),
  );
  return Promise.all(syncs);
}

describe("JoinGroup / SyncGroup", () => {
  test("KIP-394 first join, one generation for three members, leader's assignment relayed", async () => {
    const { coordinator } = setup();
    // Members join one after the other; the group rebalances as each arrives. Each earlier member
    // must rejoin for the rebalance to complete, as real clients do when told REBALANCE_IN_PROGRESS.
    const first = await joinOne(coordinator);
    expect(first.errorCode).toBe(0);
    expect(first.generationId).toBe(1);
    expect(first.leader).toBe(first.memberId);
    expect(first.members.map((member) => member.memberId)).toEqual([first.memberId]);
    expect(coordinator.state("g")).toBe("CompletingRebalance");

    // A second member arrives while the first is in CompletingRebalance: rebalance; the first rejoins.
    const secondJoin = (await joinPromise(coordinator)).done;
    const firstAgain = coordinator.joinGroup(joinInput({ memberId: first.memberId }));
    const [joinA, joinB] = await Promise.all([firstAgain, secondJoin]);
    expect(joinA.generationId).toBe(2);
    expect(joinB.generationId).toBe(2);
    expect(joinA.leader).toBe(first.memberId);
    expect(joinA.members.length).toBe(2);
    expect(joinB.members.length).toBe(0);
    expect(coordinator.state("g")).toBe("CompletingRebalance");
    const [syncA, syncB] = await syncAll(coordinator, [joinA, joinB]);
    expect(syncA.errorCode).toBe(0);
    expect(new TextDecoder().decode(syncB.assignment)).toBe(`for ${joinB.memberId}`);
    expect(new TextDecoder().decode(syncA.assignment)).toBe(`for ${joinA.memberId}`);
    expect(coordinator.state("g")).toBe("Stable");
  });

  test("initial rebalance delay gathers members into one generation", async () => {
    const { coordinator, scheduler } = setup({ groupInitialRebalanceDelayMs: 3000 });
    const joins: Promise<JoinGroupResult>[] = [];
    for (let index = 0; index < 3; index++) {
      joins.push((await joinPromise(coordinator)).done);
      scheduler.advance(1000);
    }
    // Not complete while members keep arriving within the delay.
    expect(coordinator.state("g")).toBe("PreparingRebalance");
    scheduler.advance(3000);
    const results = await Promise.all(joins);
    expect(new Set(results.map((result) => result.generationId))).toEqual(new Set([1]));
    expect(results.filter((result) => result.members.length === 3).length).toBe(1);
  });

  test("bad joins: session timeout bounds, protocol type, no common protocol, unknown member", async () => {
    const { coordinator } = setup();
    expect((await coordinator.joinGroup(joinInput({ sessionTimeoutMs: 10 }))).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await coordinator.joinGroup(joinInput({ sessionTimeoutMs: 100_000 }))).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await coordinator.joinGroup(joinInput({ groupId: "" }))).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect((await coordinator.joinGroup(joinInput({ memberId: "nobody" }))).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await coordinator.joinGroup(joinInput({ groupId: "bad", protocols: [] }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect(coordinator.state("bad")).toBeUndefined(); // nothing left behind
    const first = await joinOne(coordinator);
    expect(first.errorCode).toBe(0);
    expect((await coordinator.joinGroup(joinInput({ protocolType: "connect" }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await coordinator.joinGroup(joinInput({ protocols: [{ name: "sticky", metadata: new Uint8Array() }] }))).errorCode).toBe(
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    );
  });

  test("protocol selection: the candidate most members prefer", async () => {
    const { coordinator } = setup();
    const both = (first: string, second: string) => [
      { name: first, metadata: new Uint8Array([first.length]) },
      { name: second, metadata: new Uint8Array([second.length]) },
    ];
    const a = await joinOne(coordinator, { protocols: both("range", "roundrobin") });
    const bJoin = (await joinPromise(coordinator, { protocols: both("roundrobin", "range") })).done;
    const cJoin = (await joinPromise(coordinator, { protocols: both("roundrobin", "range") })).done;
    const aAgain = coordinator.joinGroup(joinInput({ memberId: a.memberId, protocols: both("range", "roundrobin") }));
    const results = await Promise.all([aAgain, bJoin, cJoin]);
    for (const result of results) expect(result.protocolName).toBe("roundrobin");
    const leader = results.find((result) => result.members.length > 0)!;
    expect(leader.members.every((member) => member.metadata[0] === "roundrobin".length)).toBe(true);
  });

  test("sync errors: wrong generation, unknown member, protocol mismatch, rebalance in progress", async () => {
    const { coordinator } = setup();
    const join = await joinOne(coordinator);
    const base = { groupId: "g", memberId: join.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] };
    expect((await coordinator.syncGroup({ ...base, generationId: 7 })).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect((await coordinator.syncGroup({ ...base, generationId: 1, memberId: "x" })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await coordinator.syncGroup({ ...base, generationId: 1, protocolName: "roundrobin" })).errorCode).toBe(
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    );
    expect((await coordinator.syncGroup({ ...base, groupId: "other", generationId: 1 })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const ok = await coordinator.syncGroup({ ...base, generationId: 1, protocolType: "consumer", protocolName: "range" });
    expect(ok.errorCode).toBe(0);
    // A stable member that syncs again gets its assignment back at once.
    expect((await coordinator.syncGroup({ ...base, generationId: 1 })).errorCode).toBe(0);
  });

  test("a store failure during sync answers COORDINATOR_NOT_AVAILABLE and rebalances", async () => {
    const { coordinator, store } = setup();
    const join = await joinOne(coordinator);
    store.failNext = new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, "disk");
    const [sync] = await syncAll(coordinator, [join]);
    expect(sync!.errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(coordinator.state("g")).toBe("PreparingRebalance");
  });
});

describe("Heartbeat, LeaveGroup, session expiry", () => {
  async function stableTwo() {
    const context = setup();
    const { coordinator } = context;
    const a = await joinOne(coordinator);
    const bJoin = (await joinPromise(coordinator)).done;
    const aAgain = coordinator.joinGroup(joinInput({ memberId: a.memberId }));
    const joins = await Promise.all([aAgain, bJoin]);
    await syncAll(coordinator, joins);
    expect(coordinator.state("g")).toBe("Stable");
    return { ...context, joins };
  }

  test("heartbeat errors and rebalance signalling", async () => {
    const { coordinator, joins } = await stableTwo();
    const [a, b] = joins as [JoinGroupResult, JoinGroupResult];
    const hb = (memberId: string, generationId: number) => coordinator.heartbeat({ groupId: "g", memberId, generationId, groupInstanceId: null });
    expect(hb(a.memberId, a.generationId)).toBe(0);
    expect(hb(a.memberId, a.generationId - 1)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(hb("ghost", a.generationId)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(coordinator.heartbeat({ groupId: "nope", memberId: "x", generationId: 1, groupInstanceId: null })).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    // b leaves: a is told to rejoin through its heartbeat.
    const left = coordinator.leaveGroup("g", [{ memberId: b.memberId, groupInstanceId: null }]);
    expect(left.members[0]!.errorCode).toBe(0);
    expect(hb(a.memberId, a.generationId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoin = await coordinator.joinGroup(joinInput({ memberId: a.memberId }));
    expect(rejoin.generationId).toBe(a.generationId + 1);
    expect(rejoin.members.length).toBe(1);
    expect(hb(b.memberId, rejoin.generationId)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(coordinator.leaveGroup("g", [{ memberId: "ghost", groupInstanceId: null }]).members[0]!.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test("a dead member is removed after session.timeout.ms; the survivor's rejoin completes the rebalance", async () => {
    const { coordinator, scheduler, joins } = await stableTwo();
    const [a, b] = joins as [JoinGroupResult, JoinGroupResult];
    // a heartbeats every 3 s; b is silent.
    for (let elapsed = 0; elapsed < 9000; elapsed += 3000) {
      scheduler.advance(3000);
      expect(coordinator.heartbeat({ groupId: "g", memberId: a.memberId, generationId: a.generationId, groupInstanceId: null })).toBe(0);
    }
    expect(coordinator.state("g")).toBe("Stable");
    scheduler.advance(1001);
    expect(coordinator.state("g")).toBe("PreparingRebalance");
    expect(coordinator.heartbeat({ groupId: "g", memberId: b.memberId, generationId: b.generationId, groupInstanceId: null })).toBe(
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    const rejoin = await coordinator.joinGroup(joinInput({ memberId: a.memberId }));
    expect(rejoin.members.map((member) => member.memberId)).toEqual([a.memberId]);
    expect(coordinator.state("g")).toBe("CompletingRebalance");
  });

  test("a member that does not rejoin within the rebalance timeout is dropped", async () => {
    const { coordinator, scheduler, joins } = await stableTwo();
    const [a, b] = joins as [JoinGroupResult, JoinGroupResult];
    // a changes its protocols: rebalance; b keeps heartbeating but never rejoins.
    const aJoin = coordinator.joinGroup(joinInput({ memberId: a.memberId, protocols: [{ name: "range", metadata: subscription(["t", "u"]) }] }));
    for (let elapsed = 0; elapsed < 30_000; elapsed += 3000) {
      scheduler.advance(3000);
      coordinator.heartbeat({ groupId: "g", memberId: b.memberId, generationId: b.generationId, groupInstanceId: null });
    }
    const result = await aJoin;
    expect(result.errorCode).toBe(0);
    expect(result.members.map((member) => member.memberId)).toEqual([a.memberId]);
  });

  test("a leave while the others already rejoined completes the rebalance at once (no timer)", async () => {
    const { coordinator, joins } = await stableTwo();
    const [a, b] = joins as [JoinGroupResult, JoinGroupResult];
    // a rejoins (new protocols): PreparingRebalance, waiting for b.
    let completed: JoinGroupResult | null = null;
    const aJoin = coordinator.joinGroup(joinInput({ memberId: a.memberId, protocols: [{ name: "range", metadata: subscription(["t", "u"]) }] }));
    aJoin.then((result) => { completed = result; });
    await settle();
    expect(coordinator.state("g")).toBe("PreparingRebalance");
    expect(completed).toBeNull();
    // b leaves instead of rejoining: a's join is answered in the same call, time does not move.
    coordinator.leaveGroup("g", [{ memberId: b.memberId, groupInstanceId: null }]);
    await settle();
    expect(completed).not.toBeNull();
    expect(completed!.errorCode).toBe(0);
    expect(completed!.generationId).toBe(a.generationId + 1);
    expect(completed!.members.map((member) => member.memberId)).toEqual([a.memberId]);
    expect(coordinator.state("g")).toBe("CompletingRebalance");
  });

  test("last member leaving makes the group Empty with a new generation", async () => {
    const { coordinator } = setup();
    const a = await joinOne(coordinator);
    await syncAll(coordinator, [a]);
    coordinator.leaveGroup("g", [{ memberId: a.memberId, groupInstanceId: null }]);
    expect(coordinator.state("g")).toBe("Empty");
    expect(coordinator.generation("g")).toBe(2);
  });
});

describe("static membership (KIP-345)", () => {
  test("a restarted static member takes its place without a rebalance; the old id is fenced", async () => {
    const { coordinator } = setup();
    const first = await coordinator.joinGroup(joinInput({ groupInstanceId: "i-1" }));
    expect(first.errorCode).toBe(0);
    await syncAll(coordinator, [first]);
    const generation = coordinator.generation("g");
    const again = await coordinator.joinGroup(joinInput({ groupInstanceId: "i-1" }));
    expect(again.errorCode).toBe(0);
    expect(again.memberId).not.toBe(first.memberId);
    expect(again.generationId).toBe(generation!);
    expect(coordinator.state("g")).toBe("Stable");
    expect(coordinator.heartbeat({ groupId: "g", memberId: first.memberId, generationId: first.generationId, groupInstanceId: "i-1" })).toBe(
      ErrorCode.FENCED_INSTANCE_ID,
    );
    const sync = await coordinator.syncGroup({
      groupId: "g", generationId: again.generationId, memberId: again.memberId, groupInstanceId: "i-1", protocolType: null, protocolName: null, assignments: [],
    });
    expect(new TextDecoder().decode(sync.assignment)).toBe(`for ${first.memberId}`);
    const leave = coordinator.leaveGroup("g", [{ memberId: first.memberId, groupInstanceId: "i-1" }]);
    expect(leave.members[0]!.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    const leaveOk = coordinator.leaveGroup("g", [{ memberId: "", groupInstanceId: "i-1" }]);
    expect(leaveOk.members[0]!.errorCode).toBe(0);
    expect(coordinator.state("g")).toBe("Empty");
  });
});

describe("offsets", () => {
  const commit = (coordinator: GroupCoordinator, generationId: number, memberId: string, offset: bigint, metadata: string | null = "m", groupId = "g") =>
    coordinator.commitOffsets({
      groupId, generationId, memberId, groupInstanceId: null,
      topics: [{ name: "t", partitions: [{ partition: 0, offset, leaderEpoch: 3, metadata }] }],
    });

  test("generation fencing, simple commits, metadata limit, fetch", async () => {
    const { coordinator, store } = setup();
    // Unknown group: only a simple commit (generation -1) is accepted.
    expect((await commit(coordinator, 1, "x", 5n)).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect((await commit(coordinator, -1, "", 5n, null, "simple")).topics[0]!.partitions[0]!.errorCode).toBe(0);
    expect(coordinator.fetchOffsets("simple", null).topics).toEqual([
      { name: "t", partitions: [{ partition: 0, offset: 5n, leaderEpoch: 3, metadata: "", errorCode: 0 }] },
    ]);
    const a = await joinOne(coordinator);
    // CompletingRebalance refuses commits.
    expect((await commit(coordinator, a.generationId, a.memberId, 1n)).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    await syncAll(coordinator, [a]);
    expect((await commit(coordinator, a.generationId, a.memberId, 10n)).topics[0]!.partitions[0]!.errorCode).toBe(0);
    expect((await commit(coordinator, a.generationId + 1, a.memberId, 11n)).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect((await commit(coordinator, a.generationId, "ghost", 11n)).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await commit(coordinator, -1, "", 11n)).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await commit(coordinator, a.generationId, a.memberId, 12n, "x".repeat(33))).topics[0]!.partitions[0]!.errorCode).toBe(
      ErrorCode.OFFSET_METADATA_TOO_LARGE,
    );
    const fetched = coordinator.fetchOffsets("g", [{ name: "t", partitions: [0, 1] }]);
    expect(fetched.topics[0]!.partitions).toEqual([
      { partition: 0, offset: 10n, leaderEpoch: 3, metadata: "m", errorCode: 0 },
      { partition: 1, offset: -1n, leaderEpoch: -1, metadata: "", errorCode: 0 },
    ]);
    expect(coordinator.fetchOffsets("nobody", [{ name: "t", partitions: [0] }]).topics[0]!.partitions[0]!.offset).toBe(-1n);
    expect(store.records.filter((record) => record.kind === "offset").length).toBe(2);
  });

  test("a failed write commits nothing", async () => {
    const { coordinator, store } = setup();
    store.failNext = new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, "disk");
    const result = await commit(coordinator, -1, "", 5n, null, "simple");
    expect(result.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    expect(coordinator.fetchOffsets("simple", null).topics).toEqual([]);
  });

  test("state is rebuilt from the stored records", async () => {
    const { coordinator, store } = setup();
    const a = await joinOne(coordinator);
    await syncAll(coordinator, [a]);
    await commit(coordinator, a.generationId, a.memberId, 42n);
    await commit(coordinator, -1, "", 7n, null, "simple");
    await coordinator.deleteGroups(["simple"]);
    coordinator.close();
    const reloaded = new GroupCoordinator(config, new ManualScheduler(), new MemoryGroupStore());
    for (const record of store.records) reloaded.loadRecord(record);
    reloaded.finishLoading();
    expect(reloaded.state("g")).toBe("Stable");
    expect(reloaded.fetchOffsets("g", null).topics[0]!.partitions[0]!.offset).toBe(42n);
    expect(reloaded.state("simple")).toBeUndefined();
    expect(reloaded.heartbeat({ groupId: "g", memberId: a.memberId, generationId: a.generationId, groupInstanceId: null })).toBe(0);
  });

  test("DeleteGroups and OffsetDelete", async () => {
    const { coordinator } = setup();
    const a = await joinOne(coordinator);
    await syncAll(coordinator, [a]);
    await coordinator.commitOffsets({
      groupId: "g", generationId: a.generationId, memberId: a.memberId, groupInstanceId: null,
      topics: [
        { name: "t", partitions: [{ partition: 0, offset: 1n, leaderEpoch: -1, metadata: null }] },
        { name: "old", partitions: [{ partition: 0, offset: 2n, leaderEpoch: -1, metadata: null }] },
      ],
    });
    expect(await coordinator.deleteGroups(["g", "missing", ""])).toEqual([
      { groupId: "g", errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: "missing", errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
      { groupId: "", errorCode: ErrorCode.INVALID_GROUP_ID },
    ]);
    const deleted = await coordinator.deleteOffsets("g", [{ name: "t", partitions: [0] }, { name: "old", partitions: [0] }]);
    expect(deleted.topics.map((topic) => topic.partitions[0]!.errorCode)).toEqual([ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, 0]);
    expect(coordinator.fetchOffsets("g", null).topics.map((topic) => topic.name)).toEqual(["t"]);
    expect((await coordinator.deleteOffsets("missing", [])).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    coordinator.leaveGroup("g", [{ memberId: a.memberId, groupInstanceId: null }]);
    expect(await coordinator.deleteGroups(["g"])).toEqual([{ groupId: "g", errorCode: 0 }]);
    expect(coordinator.listGroups()).toEqual([]);
    expect(coordinator.describeGroup("g").state).toBe("Dead");
  });

  test("offsets of an Empty group expire after offsets.retention", async () => {
    const { coordinator, scheduler, store } = setup();
    coordinator.start();
    await commit(coordinator, -1, "", 5n, null, "simple");
    scheduler.advance(50_000);
    await settle();
    expect(coordinator.fetchOffsets("simple", null).topics.length).toBe(1);
    scheduler.advance(20_000);
    await settle();
    expect(coordinator.fetchOffsets("simple", null).topics.length).toBe(0);
    expect(coordinator.state("simple")).toBeUndefined();
    expect(store.records.at(-1)).toEqual({ kind: "group", groupId: "simple", value: null });
    coordinator.close();
  });

  test("ListGroups with a state filter, DescribeGroups, lag", async () => {
    const { coordinator } = setup();
    const a = await joinOne(coordinator);
    await syncAll(coordinator, [a]);
    await commit(coordinator, -1, "", 5n, null, "simple");
    expect(coordinator.listGroups(["stable"]).map((group) => group.groupId)).toEqual(["g"]);
    expect(coordinator.listGroups(["Empty"]).map((group) => group.groupId)).toEqual(["simple"]);
    expect(coordinator.listGroups().length).toBe(2);
    const described = coordinator.describeGroup("g");
    expect(described.state).toBe("Stable");
    expect(described.protocolName).toBe("range");
    expect(described.members[0]!.memberId).toBe(a.memberId);
    expect(coordinator.groupLag("simple", () => 12n)).toEqual([{ topic: "t", partition: 0, committed: 5n, logEndOffset: 12n, lag: 7n }]);
  });
});


test("OffsetFetch requireStable (KIP-447): a partition with a transactional offset pending answers UNSTABLE_OFFSET_COMMIT until the marker", async () => {
  const { coordinator } = setup();
  const commit = (offset: bigint) => ({
    groupId: "eos", generationId: -1, memberId: "", groupInstanceId: null,
    topics: [{ name: "in", partitions: [{ partition: 0, offset, leaderEpoch: -1, metadata: null }] }],
  });
  await coordinator.commitOffsets(commit(5n));
  await coordinator.commitTransactionalOffsets(commit(9n), { producerId: 77n, producerEpoch: 0 });
  const wanted = [{ name: "in", partitions: [0, 1] }];
  const partitionsOf = (requireStable: boolean) => coordinator.fetchOffsets("eos", wanted, requireStable).topics[0]!.partitions;
  // Without requireStable the last stable commit shows; with it the pending partition is unstable, the other not.
  expect(partitionsOf(false).map((partition) => [partition.offset, partition.errorCode])).toEqual([[5n, 0], [-1n, 0]]);
  expect(partitionsOf(true).map((partition) => [partition.offset, partition.errorCode])).toEqual([[-1n, ErrorCode.UNSTABLE_OFFSET_COMMIT], [-1n, 0]]);
  coordinator.completeTransaction(77n, true);
  expect(partitionsOf(true).map((partition) => [partition.offset, partition.errorCode])).toEqual([[9n, 0], [-1n, 0]]);
});
