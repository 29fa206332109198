// The topic metadata store over the real partition logs: ids stable across restarts, configs and
// partition counts kept, deletions finished after a crash, orphan logs adopted, names validated as
// Kafka does, meta.properties written once and checked.

import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClusterStore, loadOrCreateMetaProperties, topicNameProblem } from "../../src/cluster/index.ts";
import { loadBrokerConfig, resolveTopicConfig } from "../../src/config/index.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { createLogManager, realFs } from "../../src/storage/index.ts";
import { FaultFs } from "../../src/testing/fault-fs.ts";

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

async function open(dataDir: string) {
  const config = loadBrokerConfig({ overrides: [["log.dirs", dataDir]] });
  const overrides = await ClusterStore.readStoredOverrides(dataDir);
  const logs = createLogManager({
    dataDir, brokerConfig: config.values, backgroundTasks: false,
    topicConfigFor: (topic) => resolveTopicConfig(config, overrides.get(topic) ?? {}).values,
  });
  await logs.open();
  const store = await ClusterStore.open({ dataDir, config, logs });
  return { store, logs, async close() { await store.close(); await logs.close(); } };
}

function fresh(): string {
  const directory = mkdtempSync(join(tmpdir(), "runnel-store-"));
  directories.push(directory);
  return directory;
}

async function codeOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return ErrorCode.NONE;
  } catch (error) {
    if (error instanceof KafkaError) return error.code;
    throw error;
  }
}

test("topics, ids, configs and partition counts survive a restart", async () => {
  const dataDir = fresh();
  let node = await open(dataDir);
  const orders = await node.store.createTopic("orders", 3, { "retention.ms": "60000" });
  await node.store.createTopic("payments", 1);
  await node.store.createPartitions("payments", 2);
  await node.store.setTopicConfigs("payments", { "cleanup.policy": "compact" });
  expect(node.store.topicConfig("orders").values["retention.ms"]).toBe(60000);
  await node.close();

  node = await open(dataDir);
  expect(node.store.topic("orders")).toEqual(orders);
  expect(node.store.topicById(orders.id)?.name).toBe("orders");
  expect(node.store.topic("payments")?.partitions).toBe(2);
  expect(node.store.topicConfig("payments").values["cleanup.policy"]).toEqual(["compact"]);
  expect(node.store.partitionLog("payments", 1)).toBeDefined();
  expect(node.store.partitionLog("payments", 2)).toBeUndefined();
  await node.close();
});

test("Kafka's errors for bad creates, deletes and alters, and nothing changes", async () => {
  const node = await open(fresh());
  await node.store.createTopic("a.b", 1);
  expect(await codeOf(node.store.createTopic("a.b", 1))).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
  expect(await codeOf(node.store.createTopic("a_b", 1))).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
  expect(await codeOf(node.store.createTopic("bad name", 1))).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
  expect(await codeOf(node.store.createTopic("zero", 0))).toBe(ErrorCode.INVALID_PARTITIONS);
  expect(await codeOf(node.store.createTopic("cfg", 1, { "retention.ms": "x" }))).toBe(ErrorCode.INVALID_CONFIG);
  expect(await codeOf(node.store.createTopic("cfg", 1, { "no.such": "1" }))).toBe(ErrorCode.INVALID_CONFIG);
  expect(await codeOf(node.store.deleteTopic("missing"))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  expect(await codeOf(node.store.createPartitions("a.b", 1))).toBe(ErrorCode.INVALID_PARTITIONS);
  expect(await codeOf(node.store.setTopicConfigs("a.b", { "segment.bytes": "1" }))).toBe(ErrorCode.INVALID_CONFIG);
  expect(node.store.topics().map((topic) => topic.name)).toEqual(["a.b"]);
  const dry = await node.store.createTopic("dry", 2, {}, true);
  expect(dry.partitions).toBe(2);
  expect(node.store.topic("dry")).toBeUndefined();
  await node.close();
});

test("concurrent creates of names that collide ('.' vs '_') make one topic, the other INVALID_TOPIC_EXCEPTION", async () => {
  const node = await open(fresh());
  const codes = await Promise.all([codeOf(node.store.createTopic("race.x", 1)), codeOf(node.store.createTopic("race_x", 1))]);
  expect([...codes].sort((a, b) => a - b)).toEqual([ErrorCode.NONE, ErrorCode.INVALID_TOPIC_EXCEPTION]);
  expect(node.store.topics().map((topic) => topic.name).filter((name) => name.startsWith("race"))).toHaveLength(1);
  // Auto-creation (Metadata, Produce) is refused the same way.
  expect(await codeOf(node.store.ensureTopic(node.store.topic("race.x") ? "race_x" : "race.x"))).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
  await node.close();
});

test("concurrent auto-creates of one name make one topic", async () => {
  const node = await open(fresh());
  const created = await Promise.all([node.store.ensureTopic("auto"), node.store.ensureTopic("auto"), node.store.ensureTopic("auto")]);
  // Every call got the topic (a Set of three undefined ids would also have size 1).
  for (const topic of created) expect(topic?.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
  expect(new Set(created.map((topic) => topic!.id)).size).toBe(1);
  expect(node.store.topics().filter((topic) => topic.name === "auto").length).toBe(1);
  await node.close();
});

test("a deletion interrupted by a crash is finished at start; orphan logs are adopted", async () => {
  const dataDir = fresh();
  let node = await open(dataDir);
  await node.store.createTopic("doomed", 2);
  await node.store.createTopic("kept", 1);
  await node.close();
  // Simulate a crash after the metadata write that starts the deletion.
  const path = join(dataDir, "__cluster_metadata", "topics.json");
  const state = JSON.parse(readFileSync(path, "utf8").replace(/# crc32c=.*\n$/, ""));
  state.topics = state.topics.filter((topic: { name: string }) => topic.name !== "doomed");
  state.deleting = ["doomed"];
  writeFileSync(path, JSON.stringify(state)); // without a checksum line, as older versions wrote it
  // And a crash after creating logs but before the metadata write.
  const logs = createLogManager({ dataDir, brokerConfig: loadBrokerConfig({ overrides: [["log.dirs", dataDir]] }).values, backgroundTasks: false });
  await logs.open();
  await logs.create("orphan", 0, resolveTopicConfig(loadBrokerConfig(), {}).values);
  await logs.close();

  node = await open(dataDir);
  expect(node.store.topic("doomed")).toBeUndefined();
  expect(existsSync(join(dataDir, "doomed-0"))).toBe(false);
  expect(node.store.topic("kept")).toBeDefined();
  expect(node.store.topic("orphan")?.partitions).toBe(1);
  await node.close();
});

test("topic names as Kafka validates them", () => {
  expect(topicNameProblem("ok-name_1.x")).toBeNull();
  for (const bad of ["", ".", "..", "a/b", "ä", "x".repeat(250)]) expect(topicNameProblem(bad)).not.toBeNull();
  expect(topicNameProblem("x".repeat(249))).toBeNull();
});

test("meta.properties: cluster id generated once, node id and configured cluster id checked", async () => {
  const dataDir = fresh();
  const first = await loadOrCreateMetaProperties(dataDir, 1, null);
  expect(first.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
  expect((await loadOrCreateMetaProperties(dataDir, 1, null)).clusterId).toBe(first.clusterId);
  await expect(loadOrCreateMetaProperties(dataDir, 2, null)).rejects.toThrow(/node.id/);
  await expect(loadOrCreateMetaProperties(dataDir, 1, "AAAAAAAAAAAAAAAAAAAAAA")).rejects.toThrow(/cluster.id/);
});

describe("damaged topic metadata (topics.json and its mirror, each with a checksum)", () => {
  async function withTopics(): Promise<string> {
    const dataDir = fresh();
    const node = await open(dataDir);
    await node.store.createTopic("orders", 3, { "retention.ms": "-1" });
    await node.close();
    return dataDir;
  }
  const metadataPath = (dataDir: string) => join(dataDir, "__cluster_metadata", "topics.json");

  test("a flipped byte that still parses is caught by the checksum; the mirror is used and the primary repaired", async () => {
    const dataDir = await withTopics();
    const path = metadataPath(dataDir);
    // "partitions": 3 → 2: still valid JSON, wrong content.
    writeFileSync(path, readFileSync(path, "utf8").replace('"partitions": 3', '"partitions": 2'));
    const node = await open(dataDir);
    expect(node.store.topic("orders")?.partitions).toBe(3);
    expect(node.store.topicConfig("orders").values["retention.ms"]).toBe(-1);
    await node.close();
    // Rewritten at start: the primary is whole again.
    expect(readFileSync(path, "utf8")).toContain('"partitions": 3');
    expect(readFileSync(path, "utf8")).toBe(readFileSync(`${path}.mirror`, "utf8"));
  });

  for (const [what, damage] of [
    ["deleted", (path: string) => rmSync(path)],
    ["truncated", (path: string) => writeFileSync(path, readFileSync(path, "utf8").slice(0, 40))],
    ["zero-filled", (path: string) => writeFileSync(path, new Uint8Array(readFileSync(path).length))],
  ] as const) {
    test(`primary ${what}: the node opens from the mirror with every topic, id and override`, async () => {
      const dataDir = await withTopics();
      const before = await open(dataDir);
      const id = before.store.topic("orders")!.id;
      await before.close();
      damage(metadataPath(dataDir));
      const node = await open(dataDir);
      expect(node.store.topic("orders")?.id).toBe(id);
      expect(node.store.topicConfig("orders").values["retention.ms"]).toBe(-1);
      await node.close();
    });
  }

  test("both copies damaged: the open refuses with one message naming both files, and changes nothing", async () => {
    const dataDir = await withTopics();
    const path = metadataPath(dataDir);
    writeFileSync(path, "{ nonsense");
    writeFileSync(`${path}.mirror`, "");
    const config = loadBrokerConfig({ overrides: [["log.dirs", dataDir]] });
    const error = await ClusterStore.readStoredOverrides(dataDir).then(() => null, (caught: Error) => caught);
    expect(error?.message).toContain(path);
    expect(error?.message).toContain(`${path}.mirror`);
    expect(error?.message).toContain("restore");
    expect(readFileSync(path, "utf8")).toBe("{ nonsense");
    expect(config.values["log.dirs"]).toEqual([dataDir]);
  });
});

test("a topic whose partition cannot be created (EMFILE) is not created at all: a clear error, no directory left, the next create works", async () => {
  const dataDir = fresh();
  const config = loadBrokerConfig({ overrides: [["log.dirs", dataDir]] });
  let failing = false;
  const fs = new FaultFs({
    root: dataDir,
    inner: realFs,
    // The third partition's segment file cannot be opened: out of file descriptors.
    inject: (operation, path) => (failing && operation === "open" && path.includes("wide-2") ? "EMFILE" : null),
  });
  const logs = createLogManager({ dataDir, brokerConfig: config.values, backgroundTasks: false, fs });
  await logs.open();
  const store = await ClusterStore.open({ dataDir, config, logs });
  failing = true;
  const error = await store.createTopic("wide", 5).then(() => null, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(KafkaError);
  expect((error as KafkaError).code).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
  expect((error as KafkaError).message).toContain("EMFILE");
  expect(store.topic("wide")).toBeUndefined();
  expect(readdirSync(dataDir).filter((name) => name.startsWith("wide-"))).toEqual([]);
  failing = false;
  await store.createTopic("wide", 5);
  expect(readdirSync(dataDir).filter((name) => name.startsWith("wide-")).length).toBe(5);
  await store.close();
  await logs.close();
});
