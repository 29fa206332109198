// The offsets store on real partition logs: commits and group metadata written to
// __consumer_offsets, then rebuilt by replaying the log after a close and reopen.

import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClusterStore } from "../../src/cluster/index.ts";
import { loadBrokerConfig } from "../../src/config/index.ts";
import { OFFSETS_TOPIC, javaStringHashCode, offsetsPartitionFor, startGroups, type Groups } from "../../src/groups/index.ts";
import { decodeRecord, encodeRecordKey, encodeRecordValue } from "../../src/groups/records.ts";
import { native } from "../../src/native/index.ts";
import { LogCleaner } from "../../src/storage/cleaner.ts";
import { createLogManager, realFs, type Log } from "../../src/storage/index.ts";

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

async function openNode(dataDir: string, extra: [string, string][] = []) {
  const loaded = loadBrokerConfig({
    overrides: [["log.dirs", dataDir], ["offsets.topic.num.partitions", "5"], ["group.initial.rebalance.delay.ms", "0"], ...extra],
  });
  const logs = createLogManager({ dataDir, brokerConfig: loaded.values });
  await logs.open();
  const cluster = await ClusterStore.open({ dataDir, config: loaded, logs });
  const groups = await startGroups({ config: loaded.values, cluster });
  return {
    cluster, groups, logs,
    async close() {
      groups.close();
      await cluster.close();
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
  expect(first.cluster.topic(OFFSETS_TOPIC)?.partitions).toBe(5);
  expect(first.cluster.topic(OFFSETS_TOPIC)?.configs["cleanup.policy"]).toBe("compact");
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

void ({} as Groups);
