// The reconciler (src/replication/reconciler.ts) on a node's real pieces (startBrokerCore over a
// real LogManager): the image decides which partition logs exist on this node — created with their
// topic id, deleted with their topic, left alone when no image names them — and which this node
// leads, only once this process is registered and unfenced; config changes reach the logs live.

import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBrokerConfig } from "../../src/config/index.ts";
import { startBrokerCore } from "../../src/node.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { randomUuid } from "../../src/protocol/primitives.ts";
import { createLogManager, type Log } from "../../src/storage/index.ts";

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function fresh(): string {
  const directory = mkdtempSync(join(tmpdir(), "runnel-reconciler-"));
  directories.push(directory);
  return directory;
}

const endpoint = (port: number) => [{ name: "PLAINTEXT", host: "127.0.0.1", port, securityProtocol: 0 }];

async function start(dataDir: string) {
  const loaded = loadBrokerConfig({ overrides: [["log.dirs", dataDir], ["offsets.topic.num.partitions", "2"]] });
  const logs = createLogManager({ dataDir, brokerConfig: loaded.values, backgroundTasks: false });
  await logs.open();
  const core = await startBrokerCore({ loaded, dataDir, nodeId: 1, logs, cleanShutdown: logs.foundCleanShutdown });
  return {
    core, logs,
    async close() {
      await core.close();
      await logs.close();
    },
  };
}

function codeOf(action: () => unknown): number {
  try {
    action();
    return ErrorCode.NONE;
  } catch (error) {
    if (error instanceof KafkaError) return error.code;
    throw error;
  }
}

const topic = (name: string, numPartitions: number, assignments: number[][] | null = null, configs: Record<string, string> = {}) =>
  ({ name, numPartitions: assignments ? -1 : numPartitions, replicationFactor: -1, assignments, configs });

test("logs follow the image: created with their topic id, configs applied live, deleted with their topic", async () => {
  const dataDir = fresh();
  const node = await start(dataDir);
  await node.core.register(endpoint(9001));
  await node.core.whenReady();
  const created = await node.core.admin.createTopic(topic("orders", 2));
  for (const partition of [0, 1]) {
    expect(readFileSync(join(dataDir, `orders-${partition}`, "partition.metadata"), "utf8")).toContain(created.topicId);
    expect(node.core.replicas.partition("orders", partition)?.isLeader).toBe(true);
  }
  await node.core.admin.alterTopicConfigs("orders", { "retention.ms": "1234" });
  expect((node.logs.getLog("orders", 0) as Log).currentConfig()["retention.ms"]).toBe(1234);
  await node.core.admin.deleteTopic("orders");
  expect(existsSync(join(dataDir, "orders-0"))).toBe(false);
  expect(node.core.replicas.partition("orders", 0)).toBeUndefined();
  expect(codeOf(() => node.core.replicas.leaderPartition("orders", 0))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  await node.close();
});

test("a partition whose replicas do not include this node gets no log here, and its clients are sent to the leader", async () => {
  const dataDir = fresh();
  const node = await start(dataDir);
  await node.core.register(endpoint(9001));
  await node.core.whenReady();
  // Another broker, registered and live (its process is not needed: nothing talks to it here).
  const other = await node.core.controller.registerBroker({ brokerId: 2, incarnationId: randomUuid(), endpoints: endpoint(9002), rack: null, cleanShutdown: true });
  const live = await node.core.controller.brokerHeartbeat({ brokerId: 2, brokerEpoch: other.value, currentMetadataOffset: other.offset });
  await node.core.publisher.waitForPublished(live.offset);
  await node.core.admin.createTopic(topic("remote", -1, [[2]]));
  expect(existsSync(join(dataDir, "remote-0"))).toBe(false);
  expect(node.core.replicas.partition("remote", 0)).toBeUndefined();
  expect(codeOf(() => node.core.replicas.leaderPartition("remote", 0))).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  // Replicas [2, 1]: a log here, in the follower role (a stub until the replica fetcher).
  await node.core.admin.createTopic(topic("shared", -1, [[2, 1]]));
  expect(existsSync(join(dataDir, "shared-0"))).toBe(true);
  expect(node.core.replicas.partition("shared", 0)?.role).toBe("follower");
  expect(codeOf(() => node.core.replicas.leaderPartition("shared", 0))).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  // Replicas [1, 2]: led here, with both in the ISR.
  await node.core.admin.createTopic(topic("local", -1, [[1, 2]]));
  expect(node.core.replicas.leaderPartition("local", 0).isr).toEqual([1, 2]);
  await node.close();
});

test("after a restart, partitions are led only once this process registered: at a new leader epoch", async () => {
  const dataDir = fresh();
  let node = await start(dataDir);
  await node.core.register(endpoint(9001));
  await node.core.whenReady();
  await node.core.admin.createTopic(topic("t", 1));
  const epochBefore = node.core.replicas.leaderPartition("t", 0).leaderEpoch;
  await node.close();

  node = await start(dataDir);
  // Replayed: the image says this node leads, but from a previous process; the log recovers (in
  // the background) and stays unled.
  await node.core.replicas.recovered();
  expect(node.core.replicas.partition("t", 0)).toBeDefined();
  expect(node.core.replicas.partition("t", 0)?.role).toBe("none");
  expect(codeOf(() => node.core.replicas.leaderPartition("t", 0))).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  await node.core.register(endpoint(9001));
  await node.core.whenReady();
  const led = node.core.replicas.leaderPartition("t", 0);
  expect(led.leaderEpoch).toBe(epochBefore + 2); // fenced at registration (no leader), then elected
  expect(led.log.endOffsetForEpoch(epochBefore)).toEqual({ epoch: epochBefore, endOffset: 0n });
  await node.close();
});

test("partition directories no image names are reported and left alone, never deleted", async () => {
  const dataDir = fresh();
  let node = await start(dataDir);
  await node.core.register(endpoint(9001));
  await node.core.whenReady();
  await node.close();
  mkdirSync(join(dataDir, "stranger-0"));
  node = await start(dataDir);
  await node.core.register(endpoint(9001));
  await node.core.whenReady();
  expect(existsSync(join(dataDir, "stranger-0"))).toBe(true);
  expect(node.logs.unclaimed().map((found) => `${found.topic}-${found.partition}`)).toEqual(["stranger-0"]);
  expect(node.core.replicas.partition("stranger", 0)).toBeUndefined();
  await node.close();
  expect(existsSync(join(dataDir, "stranger-0"))).toBe(true);
});
