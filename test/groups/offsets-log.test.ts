// The offsets store on real partition logs: commits and group metadata written to
// __consumer_offsets through its leader replicas, then rebuilt by replaying the log after a close
// and reopen (each offsets partition loaded when this node becomes its leader).

import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBrokerConfig } from "../../src/config/index.ts";
import { OFFSETS_TOPIC, javaStringHashCode, offsetsPartitionFor, type Groups } from "../../src/groups/index.ts";
import { decodeRecord, encodeRecordKey, encodeRecordValue } from "../../src/groups/records.ts";
import { ManualScheduler } from "../../src/groups/scheduler.ts";
import { encodeBatch } from "../../src/protocol/record-batch.ts";
import { native } from "../../src/native/index.ts";
import { LogCleaner } from "../../src/storage/cleaner.ts";
import { startBrokerCore } from "../../src/node.ts";
import { createLogManager, realFs, type Log } from "../../src/storage/index.ts";

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

async function openNode(dataDir: string, extra: [string, string][] = [], scheduler?: ManualScheduler) {
  const loaded = loadBrokerConfig({
    overrides: [["log.dirs", dataDir], ["offsets.topic.num.partitions", "5"], ["group.initial.rebalance.delay.ms", "0"], ...extra],
  });
  const logs = createLogManager({ dataDir, brokerConfig: loaded.values });
  await logs.open();
  const core = await startBrokerCore({ loaded, dataDir, nodeId: loaded.values["node.id"], logs, cleanShutdown: logs.foundCleanShutdown, scheduler });
  await core.register([{ name: "PLAINTEXT", host: "127.0.0.1", port: 9092, securityProtocol: 0 }]);
  await core.whenReady();
  return {
    core, groups: core.groups, logs,
    async close() {
      await core.close();
      await logs.close();
    },
  };
}

test("Java String.hashCode parity and Kafka's partitionFor", () => {
  expect(javaStringHashCode("")).toBe(0);
  expect(javaStringHashCode("hello")).toBe(99162322);
  // "polygenelubricants".hashCode() == Integer.MIN_VALUE: Kafka's Utils.abs maps it to 0.
  expect(javaStringHashCode("polygenelubricants")).toBe(-2147483648);
  expect(offsetsPartitionFor("polygenelubricants", 50)).toBe(0);
  expect(offsetsPartitionFor("hello", 50)).toBe(99162322 % 50);
});

test("record codecs round-trip Kafka's key and value layouts", () => {
  const offset = { kind: "offset" as const, groupId: "g", topic: "t", partition: 3, value: { offset: 42n, leaderEpoch: 7, metadata: "m", commitTimestampMs: 1234 } };
  expect(decodeRecord(encodeRecordKey(offset), encodeRecordValue(offset))).toEqual(offset);
  const tombstone = { kind: "group" as const, groupId: "g", value: null };
  expect(decodeRecord(encodeRecordKey(tombstone), null)).toEqual(tombstone);
  const group = {
    kind: "group" as const, groupId: "g",
    value: {
      protocolType: "consumer", generationId: 4, protocolName: "range", leader: "m1", stateTimestampMs: 99,
      members: [{ memberId: "m1", groupInstanceId: null, clientId: "c", clientHost: "/h", rebalanceTimeoutMs: 5, sessionTimeoutMs: 6, subscription: new Uint8Array([1]), assignment: new Uint8Array([2]) }],
    },
  };
  expect(decodeRecord(encodeRecordKey(group), encodeRecordValue(group))).toEqual(group);
});

test("commits survive a close and reopen (the log is the source of truth)", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "runnel-groups-"));
  directories.push(dataDir);
  const first = await openNode(dataDir);
  expect(first.core.publisher.image.topicsByName.get(OFFSETS_TOPIC)?.partitions.length).toBe(5);
  expect(first.core.publisher.image.topicsByName.get(OFFSETS_TOPIC)?.configs["cleanup.policy"]).toBe("compact");
  expect(first.groups.partitions.loadedPartitions()).toEqual([0, 1, 2, 3, 4]);
  const coordinator = first.groups.coordinator;
  for (let index = 0; index < 20; index++) {
    const result = await coordinator.commitOffsets({
      groupId: `group-${index % 4}`, generationId: -1, memberId: "", groupInstanceId: null,
      topics: [{ name: "orders", partitions: [{ partition: index % 3, offset: BigInt(index), leaderEpoch: -1, metadata: `m${index}` }] }],
    });
    expect(result.topics[0]!.partitions[0]!.errorCode).toBe(0);
  }
  const joined = await coordinator.joinGroup({
    groupId: "live", memberId: "", groupInstanceId: null, clientId: "c", clientHost: "/h", sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000, protocolType: "consumer", protocols: [{ name: "range", metadata: new Uint8Array([0, 0, 0, 0, 0, 0]) }],
    requireKnownMemberId: false,
  });
  const sync = await coordinator.syncGroup({
    groupId: "live", generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null, protocolType: null, protocolName: null,
    assignments: [{ memberId: joined.memberId, assignment: new Uint8Array([9]) }],
  });
  expect(sync.errorCode).toBe(0);
  expect(await coordinator.deleteGroups(["group-3"])).toEqual([{ groupId: "group-3", errorCode: 0 }]);
  const before = ["group-0", "group-1", "group-2"].map((groupId) => coordinator.fetchOffsets(groupId, null));
  await first.close();

  const second = await openNode(dataDir);
  const reloaded = second.groups.coordinator;
  expect(["group-0", "group-1", "group-2"].map((groupId) => reloaded.fetchOffsets(groupId, null))).toEqual(before);
  expect(reloaded.state("group-3")).toBeUndefined();
  expect(reloaded.state("live")).toBe("Stable");
  expect(reloaded.describeGroup("live").members[0]!.assignment).toEqual(new Uint8Array([9]));
  expect(second.groups.groupLag("group-0").length).toBeGreaterThan(0);
  await second.close();
});

test("a compacted __consumer_offsets replays to the same state", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "runnel-groups-"));
  directories.push(dataDir);
  const small: [string, string][] = [["offsets.topic.segment.bytes", "2048"]];
  const first = await openNode(dataDir, small);
  const coordinator = first.groups.coordinator;
  for (let index = 0; index < 300; index++) {
    await coordinator.commitOffsets({
      groupId: `g${index % 3}`, generationId: -1, memberId: "", groupInstanceId: null,
      topics: [{ name: "orders", partitions: [{ partition: index % 4, offset: BigInt(index), leaderEpoch: -1, metadata: "" }] }],
    });
  }
  await coordinator.deleteGroups(["g2"]);
  // One more commit per used partition, so that every earlier record sits in a sealed, synced segment.
  for (const groupId of ["g0", "g1"]) {
    await coordinator.commitOffsets({
      groupId, generationId: -1, memberId: "", groupInstanceId: null,
      topics: [{ name: "orders", partitions: [{ partition: 9, offset: 1n, leaderEpoch: -1, metadata: "x".repeat(1500) }] }],
    });
  }
  const expected = ["g0", "g1", "g2"].map((groupId) => coordinator.fetchOffsets(groupId, null));
  const cleaner = new LogCleaner({ logs: () => [...first.logs.all()] as Log[], fs: realFs, native, backoffMs: 1000 });
  const sizeBefore = [...first.logs.all()].reduce((sum, log) => sum + log.sizeBytes, 0);
  const results = await cleaner.cleanOnce();
  expect(results.length).toBeGreaterThan(0);
  expect(results.reduce((sum, stats) => sum + stats.recordsRemoved, 0)).toBeGreaterThan(200);
  const sizeAfter = [...first.logs.all()].reduce((sum, log) => sum + log.sizeBytes, 0);
  expect(sizeAfter).toBeLessThan(sizeBefore);
  await first.close();
  const second = await openNode(dataDir, small);
  expect(["g0", "g1", "g2"].map((groupId) => second.groups.coordinator.fetchOffsets(groupId, null))).toEqual(expected);
  expect(second.groups.coordinator.state("g2")).toBeUndefined();
  await second.close();
});

test("consumer lag for admin code: committed offset against the partition's log end", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "runnel-groups-"));
  directories.push(dataDir);
  const node = await openNode(dataDir);
  await node.core.admin.createTopic({ name: "orders", numPartitions: 2, replicationFactor: -1, assignments: null, configs: {} });
  const replica = node.core.replicas.leaderPartition("orders", 1);
  const append = (batch: Uint8Array) => replica.appendRecordsToLeader(batch, { requiredAcks: 1, timeoutMs: 1000 });
  const records = Array.from({ length: 25 }, (_, index) => ({
    offset: BigInt(index), timestamp: BigInt(Date.now()), key: null, value: new TextEncoder().encode(`v${index}`), headers: new Uint8Array([0]),
  }));
  await append(encodeBatch(records));
  expect(replica.highWatermark).toBe(25n);
  const coordinator = node.groups.coordinator;
  const commit = (topic: string, partition: number, offset: bigint) =>
    coordinator.commitOffsets({
      groupId: "lagging", generationId: -1, memberId: "", groupInstanceId: null,
      topics: [{ name: topic, partitions: [{ partition, offset, leaderEpoch: -1, metadata: "" }] }],
    });
  await commit("orders", 1, 10n);
  await commit("orders", 0, 0n);
  await commit("gone", 0, 3n); // a topic that does not exist (any more): log end unknown
  expect(node.groups.groupLag("lagging")).toEqual([
    { topic: "gone", partition: 0, committed: 3n, logEndOffset: -1n, lag: -1n },
    { topic: "orders", partition: 0, committed: 0n, logEndOffset: 0n, lag: 0n },
    { topic: "orders", partition: 1, committed: 10n, logEndOffset: 25n, lag: 15n },
  ]);
  // The lag follows the log as records arrive and as the group commits.
  await append(encodeBatch(records.slice(0, 5)));
  await commit("orders", 1, 30n);
  expect(node.groups.groupLag("lagging").find((entry) => entry.topic === "orders" && entry.partition === 1)).toEqual(
    { topic: "orders", partition: 1, committed: 30n, logEndOffset: 30n, lag: 0n },
  );
  expect(node.groups.groupLag("no-such-group")).toEqual([]);
  await node.close();
});

test("offsets.retention.minutes: an Empty group's offsets expire, durably; a Stable group's subscribed offsets stay", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "runnel-groups-"));
  directories.push(dataDir);
  const retention: [string, string][] = [["offsets.retention.minutes", "2"], ["offsets.retention.check.interval.ms", "10000"]];
  const scheduler = new ManualScheduler();
  const node = await openNode(dataDir, retention, scheduler);
  const coordinator = node.groups.coordinator;
  const commit = (groupId: string, generationId: number, memberId: string, topic: string) =>
    coordinator.commitOffsets({
      groupId, generationId, memberId, groupInstanceId: null,
      topics: [{ name: topic, partitions: [{ partition: 0, offset: 7n, leaderEpoch: -1, metadata: "" }] }],
    });
  // A subscribed consumer group ("live", topic "orders") and an Empty one ("idle").
  const subscription = new Uint8Array([0, 0, 0, 0, 0, 1, 0, 6, ...new TextEncoder().encode("orders"), 0xff, 0xff, 0xff, 0xff]);
  const joined = await coordinator.joinGroup({
    groupId: "live", memberId: "", groupInstanceId: null, clientId: "c", clientHost: "/h", sessionTimeoutMs: 30_000,
    rebalanceTimeoutMs: 30_000, protocolType: "consumer", protocols: [{ name: "range", metadata: subscription }], requireKnownMemberId: false,
  });
  const synced = await coordinator.syncGroup({
    groupId: "live", generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [],
  });
  expect(synced.errorCode).toBe(0);
  expect((await commit("live", joined.generationId, joined.memberId, "orders")).topics[0]!.partitions[0]!.errorCode).toBe(0);
  expect((await commit("live", joined.generationId, joined.memberId, "old-topic")).topics[0]!.partitions[0]!.errorCode).toBe(0);
  expect((await commit("idle", -1, "", "orders")).topics[0]!.partitions[0]!.errorCode).toBe(0);
  const heartbeat = () => coordinator.heartbeat({ groupId: "live", generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null });
  // 110 s: within 2 minutes, nothing expires (the member heartbeats to stay alive).
  for (let step = 0; step < 11; step++) {
    scheduler.advance(10_000);
    expect(heartbeat()).toBe(0);
  }
  await Bun.sleep(0);
  expect(coordinator.fetchOffsets("idle", null).topics.length).toBe(1);
  expect(coordinator.fetchOffsets("live", null).topics.map((topic) => topic.name)).toEqual(["orders", "old-topic"]);
  // Past 2 minutes: the Empty group's offsets and the group itself go; the Stable group keeps the
  // offsets of the topic it subscribes to and loses the others.
  for (let step = 0; step < 2; step++) {
    scheduler.advance(10_000);
    expect(heartbeat()).toBe(0);
  }
  const settled = async (condition: () => boolean) => {
    for (let attempt = 0; attempt < 200 && !condition(); attempt++) await Bun.sleep(5);
    expect(condition()).toBe(true);
  };
  await settled(() => coordinator.state("idle") === undefined);
  await settled(() => coordinator.fetchOffsets("live", null).topics.length === 1);
  expect(coordinator.fetchOffsets("idle", null).topics).toEqual([]);
  expect(coordinator.fetchOffsets("live", null).topics.map((topic) => topic.name)).toEqual(["orders"]);
  await node.close();
  // The expiry was written to __consumer_offsets: a restart does not bring the offsets back.
  const reopened = await openNode(dataDir, retention, new ManualScheduler());
  expect(reopened.groups.coordinator.state("idle")).toBeUndefined();
  expect(reopened.groups.coordinator.fetchOffsets("idle", null).topics).toEqual([]);
  expect(reopened.groups.coordinator.fetchOffsets("live", null).topics.map((topic) => topic.name)).toEqual(["orders"]);
  await reopened.close();
});

void ({} as Groups);
