// The controller over a real local metadata log (src/cluster/controller/): topic operations with
// Kafka's errors, one writer seeing its own uncommitted proposals, replica placement over the
// registered brokers, the broker lifecycle (registered fenced, unfenced by its heartbeat, a
// restart bumping leader epochs) and producer-id blocks — all surviving a restart by replay.

import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClusterAdmin } from "../../src/cluster/admin.ts";
import { placeReplicas, placementOrder, QuorumController, type CreateTopicRequest } from "../../src/cluster/controller/index.ts";
import { partitionOf } from "../../src/cluster/image.ts";
import { LocalMetadataLog } from "../../src/cluster/local-metadata-log.ts";
import type { MetadataLog } from "../../src/cluster/metadata-log.ts";
import { ProducerIdManager } from "../../src/cluster/producer-id-manager.ts";
import { MetadataPublisher } from "../../src/cluster/publisher.ts";
import { loadBrokerConfig } from "../../src/config/index.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { randomUuid } from "../../src/protocol/primitives.ts";
import { adminAlterPartitionSender } from "../../src/replication/alter-partition-sender.ts";
import { recordingLogger } from "../storage/conformance-suite.ts";

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function fresh(): string {
  const directory = mkdtempSync(join(tmpdir(), "runnel-controller-"));
  directories.push(directory);
  return directory;
}

const endpoint = (port: number) => [{ name: "PLAINTEXT", host: "127.0.0.1", port, securityProtocol: 0 }];

async function start(dataDir: string, overrides: [string, string][] = []) {
  const config = loadBrokerConfig({ overrides: [["log.dirs", dataDir], ...overrides] });
  const log = await LocalMetadataLog.open({ dataDir, nodeId: 1, brokerConfig: config.values, logger: recordingLogger() });
  const publisher = new MetadataPublisher(log, recordingLogger());
  const controller = new QuorumController({ log, config, logger: recordingLogger(), random: () => 0 });
  const admin = new ClusterAdmin(controller, publisher, config);
  await log.start();
  await publisher.waitForPublished(log.committedOffset);
  /** Register broker `id` and heartbeat it live, as a broker does at start. */
  const registerLive = async (id: number, incarnationId = randomUuid()) => {
    const registered = await controller.registerBroker({ brokerId: id, incarnationId, endpoints: endpoint(9000 + id), rack: null, cleanShutdown: true });
    await controller.brokerHeartbeat({ brokerId: id, brokerEpoch: registered.value, currentMetadataOffset: registered.offset });
    const heartbeat = await controller.brokerHeartbeat({ brokerId: id, brokerEpoch: registered.value, currentMetadataOffset: registered.offset });
    await publisher.waitForPublished(heartbeat.offset);
    return registered.value;
  };
  return {
    log, publisher, controller, admin, registerLive,
    image: () => publisher.image,
    async close() {
      await publisher.close();
      await log.close();
    },
  };
}

function topic(name: string, numPartitions = 1, replicationFactor = -1, configs: Record<string, string | null> = {}): CreateTopicRequest {
  return { name, numPartitions, replicationFactor, assignments: null, configs };
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

test("topics, ids, configs and partition counts survive a restart (replayed from the metadata log)", async () => {
  const dataDir = fresh();
  let node = await start(dataDir);
  await node.registerLive(1);
  const orders = await node.admin.createTopic(topic("orders", 3, -1, { "retention.ms": "60000" }));
  await node.admin.createTopic(topic("payments"));
  await node.admin.createPartitions("payments", 2, null);
  await node.admin.alterTopicConfigs("payments", { "cleanup.policy": "compact" });
  await node.admin.alterTopicConfigs("orders", { "segment.bytes": "1048576" }); // replaces retention.ms
  expect(node.image().topicsByName.get("orders")?.configs).toEqual({ "segment.bytes": "1048576" });
  await node.close();

  node = await start(dataDir);
  const image = node.image();
  expect(image.topicsByName.get("orders")?.id).toBe(orders.topicId);
  expect(image.topicsById.get(orders.topicId)?.partitions.length).toBe(3);
  expect(image.topicsByName.get("payments")?.partitions.length).toBe(2);
  expect(image.topicsByName.get("payments")?.configs).toEqual({ "cleanup.policy": "compact" });
  expect(image.topicsByName.get("orders")?.configs).toEqual({ "segment.bytes": "1048576" });
  await node.close();
});

test("Kafka's errors for bad creates, deletes, alters and partition changes; nothing changes; validateOnly writes nothing", async () => {
  const node = await start(fresh());
  await node.registerLive(1);
  await node.admin.createTopic(topic("a.b"));
  const before = node.log.committedOffset;
  expect(await codeOf(node.admin.createTopic(topic("a.b")))).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
  expect(await codeOf(node.admin.createTopic(topic("a_b")))).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
  expect(await codeOf(node.admin.createTopic(topic("bad name")))).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
  expect(await codeOf(node.admin.createTopic(topic("zero", 0)))).toBe(ErrorCode.INVALID_PARTITIONS);
  expect(await codeOf(node.admin.createTopic(topic("many", 10_001)))).toBe(ErrorCode.INVALID_PARTITIONS);
  expect(await codeOf(node.admin.createTopic(topic("cfg", 1, -1, { "retention.ms": "x" })))).toBe(ErrorCode.INVALID_CONFIG);
  expect(await codeOf(node.admin.createTopic(topic("cfg", 1, -1, { "no.such": "1" })))).toBe(ErrorCode.INVALID_CONFIG);
  expect(await codeOf(node.admin.createTopic(topic("rf", 1, 3)))).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
  expect(await codeOf(node.admin.createTopic(topic("rf", 1, 0)))).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
  expect(await codeOf(node.admin.createTopic({ ...topic("manual"), assignments: [[1], [7]] }))).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  expect(await codeOf(node.admin.createTopic({ ...topic("manual"), assignments: [[1, 1]] }))).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  expect(await codeOf(node.admin.deleteTopic("missing"))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  expect(await codeOf(node.admin.createPartitions("a.b", 1, null))).toBe(ErrorCode.INVALID_PARTITIONS);
  expect(await codeOf(node.admin.createPartitions("a.b", 3, [[1]]))).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  expect(await codeOf(node.admin.createPartitions("missing", 3, null))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  expect(await codeOf(node.admin.alterTopicConfigs("a.b", { "segment.bytes": "1" }))).toBe(ErrorCode.INVALID_CONFIG);
  expect(await codeOf(node.admin.alterTopicConfigs("missing", {}))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const dry = await node.admin.createTopic(topic("dry", 2), true);
  expect(dry.partitions).toBe(2);
  await node.admin.createPartitions("a.b", 4, null, true);
  await node.admin.alterTopicConfigs("a.b", { "retention.ms": "5" }, true);
  expect(node.log.committedOffset).toBe(before);
  expect([...node.image().topicsByName.keys()]).toEqual(["a.b"]);
  expect(node.image().topicsByName.get("a.b")?.partitions.length).toBe(1);
  await node.close();
});

test("one writer: concurrent creates of colliding names make one topic; concurrent auto-creates of one name make one", async () => {
  const node = await start(fresh());
  await node.registerLive(1);
  const codes = await Promise.all([codeOf(node.admin.createTopic(topic("race.x"))), codeOf(node.admin.createTopic(topic("race_x")))]);
  expect([...codes].sort((a, b) => a - b)).toEqual([ErrorCode.NONE, ErrorCode.INVALID_TOPIC_EXCEPTION]);
  const created = await Promise.all([node.admin.ensureTopic("auto"), node.admin.ensureTopic("auto"), node.admin.ensureTopic("auto")]);
  expect(created.every((found) => found !== undefined)).toBe(true);
  expect(new Set(created.map((found) => found!.id)).size).toBe(1);
  // Auto-creation (Metadata, Produce) of the losing name is refused the same way.
  const loser = node.image().topicsByName.has("race.x") ? "race_x" : "race.x";
  expect(await codeOf(node.admin.ensureTopic(loser))).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
  await node.close();
});

test("auto-creation off: ensureTopic creates nothing", async () => {
  const node = await start(fresh(), [["auto.create.topics.enable", "false"]]);
  await node.registerLive(1);
  expect(await node.admin.ensureTopic("nope")).toBeUndefined();
  expect(node.image().topicsByName.size).toBe(0);
  await node.close();
});

test("placement: replication factor over the live brokers, round-robin leaders, never two replicas on one broker", async () => {
  const node = await start(fresh());
  for (const id of [1, 2, 3]) await node.registerLive(id);
  const created = await node.admin.createTopic(topic("spread", 6, 3));
  expect(created.replicationFactor).toBe(3);
  const partitions = node.image().topicsByName.get("spread")!.partitions;
  for (const partition of partitions) {
    expect(new Set(partition.replicas).size).toBe(3);
    expect(partition.isr).toEqual(partition.replicas);
    expect(partition.leader).toBe(partition.replicas[0]!);
  }
  expect(new Set(partitions.map((partition) => partition.leader))).toEqual(new Set([1, 2, 3]));
  expect(await codeOf(node.admin.createTopic(topic("too-many", 1, 4)))).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
  // Growing a topic keeps its replication factor.
  await node.admin.createPartitions("spread", 8, null);
  expect(node.image().topicsByName.get("spread")!.partitions.slice(6).map((partition) => partition.replicas.length)).toEqual([3, 3]);
  await node.close();
});

test("placement order alternates racks when every broker has one", () => {
  expect(placementOrder([{ id: 3, rack: "b" }, { id: 1, rack: "a" }, { id: 2, rack: "a" }, { id: 4, rack: "b" }])).toEqual([1, 3, 2, 4]);
  expect(placementOrder([{ id: 2, rack: null }, { id: 1, rack: "a" }])).toEqual([1, 2]);
  expect(placeReplicas([1, 2, 3], 4, 2, 1)).toEqual([[2, 3], [3, 1], [1, 2], [2, 3]]);
  expect(() => placeReplicas([1], 1, 2, 0)).toThrow(/only 1 broker/);
});

test("a broker registers fenced and its heartbeat unfences it; a restart of the process bumps the leader epochs", async () => {
  const node = await start(fresh());
  const registered = await node.controller.registerBroker({ brokerId: 1, incarnationId: randomUuid(), endpoints: endpoint(9001), rack: null, cleanShutdown: true });
  await node.publisher.waitForPublished(registered.offset);
  expect(node.image().brokers.get(1)).toMatchObject({ fenced: true, epoch: registered.value });
  // A fenced broker cannot host a new partition.
  expect(await codeOf(node.admin.createTopic(topic("early")))).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
  // A heartbeat from behind its own registration leaves it fenced; one caught up unfences it.
  expect((await node.controller.brokerHeartbeat({ brokerId: 1, brokerEpoch: registered.value, currentMetadataOffset: registered.value - 1n })).value.isFenced).toBe(true);
  const heartbeat = await node.controller.brokerHeartbeat({ brokerId: 1, brokerEpoch: registered.value, currentMetadataOffset: registered.offset });
  expect(heartbeat.value.isFenced).toBe(false);
  expect(await codeOf(node.controller.brokerHeartbeat({ brokerId: 1, brokerEpoch: registered.value + 7n, currentMetadataOffset: 99n }))).toBe(ErrorCode.STALE_BROKER_EPOCH);
  expect(await codeOf(node.controller.brokerHeartbeat({ brokerId: 9, brokerEpoch: 0n, currentMetadataOffset: 99n }))).toBe(ErrorCode.BROKER_ID_NOT_REGISTERED);
  await node.admin.createTopic(topic("t", 2));
  expect(partitionOf(node.image(), "t", 0)).toMatchObject({ leader: 1, leaderEpoch: 0 });
  // A new process: fenced at registration (no leader), leader again after its heartbeat.
  const again = await node.controller.registerBroker({ brokerId: 1, incarnationId: randomUuid(), endpoints: endpoint(9002), rack: null, cleanShutdown: false });
  await node.publisher.waitForPublished(again.offset);
  expect(partitionOf(node.image(), "t", 0)).toMatchObject({ leader: -1, isr: [1], leaderEpoch: 1 });
  const unfenced = await node.controller.brokerHeartbeat({ brokerId: 1, brokerEpoch: again.value, currentMetadataOffset: again.offset });
  await node.publisher.waitForPublished(unfenced.offset);
  expect(partitionOf(node.image(), "t", 1)).toMatchObject({ leader: 1, isr: [1], leaderEpoch: 2 });
  expect(node.image().brokers.get(1)?.endpoints[0]?.port).toBe(9002);
  await node.close();
});

test("many brokers: a re-registering broker leaves ISRs that keep another member, its leaderships move; unfenced, it leads the leaderless again", async () => {
  const node = await start(fresh());
  for (const id of [1, 2, 3]) await node.registerLive(id);
  await node.admin.createTopic({ name: "t", numPartitions: 2, replicationFactor: 3, assignments: [[1, 2, 3], [2, 3, 1]], configs: {} });
  await node.admin.createTopic({ name: "solo", numPartitions: 1, replicationFactor: 1, assignments: [[1]], configs: {} });
  // Broker 1 restarts (a new process, after an unclean shutdown: KIP-966's rule).
  const again = await node.controller.registerBroker({ brokerId: 1, incarnationId: randomUuid(), endpoints: endpoint(9001), rack: null, cleanShutdown: false });
  await node.publisher.waitForPublished(again.offset);
  expect(partitionOf(node.image(), "t", 0)).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 1, partitionEpoch: 1 });
  expect(partitionOf(node.image(), "t", 1)).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 0, partitionEpoch: 1 });
  // Its only replica: the ISR keeps it (never empty), and nobody leads until it is back.
  expect(partitionOf(node.image(), "solo", 0)).toMatchObject({ leader: -1, isr: [1], leaderEpoch: 1 });
  const unfenced = await node.controller.brokerHeartbeat({ brokerId: 1, brokerEpoch: again.value, currentMetadataOffset: again.offset });
  await node.publisher.waitForPublished(unfenced.offset);
  expect(partitionOf(node.image(), "solo", 0)).toMatchObject({ leader: 1, isr: [1], leaderEpoch: 2 });
  // Not back in the other ISRs: that takes AlterPartition from their leader once it caught up.
  expect(partitionOf(node.image(), "t", 0)).toMatchObject({ leader: 2, isr: [2, 3] });
  await node.close();
});

test("controlled shutdown: leaderships move, then the broker is fenced with shouldShutDown and no heartbeat unfences it; a new registration does", async () => {
  const node = await start(fresh());
  const epochs = new Map<number, bigint>();
  for (const id of [1, 2, 3]) epochs.set(id, await node.registerLive(id));
  await node.admin.createTopic({ name: "t", numPartitions: 1, replicationFactor: 3, assignments: [[1, 2, 3]], configs: {} });
  const answer = await node.controller.controlledShutdown({ brokerId: 1, brokerEpoch: epochs.get(1)! });
  await node.publisher.waitForPublished(answer.offset);
  expect(answer.value.shouldShutDown).toBe(true);
  expect(partitionOf(node.image(), "t", 0)).toMatchObject({ leader: 2, isr: [2, 3] });
  expect(node.image().brokers.get(1)).toMatchObject({ fenced: true, inControlledShutdown: true });
  // Its heartbeats until the process stops leave it fenced (Kafka: fenced at SHUTDOWN_NOW).
  const heartbeat = await node.controller.brokerHeartbeat({ brokerId: 1, brokerEpoch: epochs.get(1)!, currentMetadataOffset: node.image().offset });
  expect(heartbeat.value.isFenced).toBe(true);
  expect(node.image().brokers.get(1)!.fenced).toBe(true);
  // The restarted process registers again and is unfenced by its heartbeat.
  const again = await node.controller.registerBroker({ brokerId: 1, incarnationId: randomUuid(), endpoints: endpoint(9001), rack: null, cleanShutdown: true });
  await node.publisher.waitForPublished(again.offset);
  const unfenced = await node.controller.brokerHeartbeat({ brokerId: 1, brokerEpoch: again.value, currentMetadataOffset: again.offset });
  await node.publisher.waitForPublished(unfenced.offset);
  expect(node.image().brokers.get(1)).toMatchObject({ fenced: false, inControlledShutdown: false });
  await node.close();
});

/** Brokers 1-3 live; topics whose ISR shrank to broker 1 alone (2 and 3 fenced, then back but not caught up). */
async function isrOfOne(node: Awaited<ReturnType<typeof start>>, topics: Record<string, Record<string, string | null>>) {
  const epochs = new Map<number, bigint>();
  for (const id of [1, 2, 3]) epochs.set(id, await node.registerLive(id));
  for (const [name, configs] of Object.entries(topics)) {
    await node.admin.createTopic({ name, numPartitions: 1, replicationFactor: 3, assignments: [[1, 2, 3]], configs });
  }
  for (const id of [2, 3]) await node.publisher.waitForPublished((await node.controller.fenceBroker(id, epochs.get(id)!)).offset);
  for (const id of [2, 3]) {
    const back = await node.controller.brokerHeartbeat({ brokerId: id, brokerEpoch: epochs.get(id)!, currentMetadataOffset: node.image().offset });
    await node.publisher.waitForPublished(back.offset);
  }
  for (const name of Object.keys(topics)) expect(partitionOf(node.image(), name, 0)).toMatchObject({ leader: 1, isr: [1] });
  return epochs;
}

test("unclean.leader.election.enable: off by default (the last ISR member's partition waits leaderless); on for a topic, a live replica outside the ISR leads alone", async () => {
  const node = await start(fresh());
  const epochs = await isrOfOne(node, { clean: {}, unclean: { "unclean.leader.election.enable": "true" } });
  const fenced = await node.controller.fenceBroker(1, epochs.get(1)!);
  await node.publisher.waitForPublished(fenced.offset);
  // Off: nobody else holds what was committed; the partition has no leader until broker 1 returns.
  expect(partitionOf(node.image(), "clean", 0)).toMatchObject({ leader: -1, isr: [1], leaderEpoch: 1 });
  // On: broker 2 (first live replica) leads with an ISR of itself; what only broker 1 held is lost.
  expect(partitionOf(node.image(), "unclean", 0)).toMatchObject({ leader: 2, isr: [2], leaderEpoch: 1 });
  await node.close();
});

test("unclean.leader.election.enable=true as the controller's config: a leaderless partition elects a replica outside the ISR when it is unfenced; a topic override false keeps waiting", async () => {
  const node = await start(fresh(), [["unclean.leader.election.enable", "true"]]);
  const epochs = await isrOfOne(node, { anyone: {}, strict: { "unclean.leader.election.enable": "false" } });
  // Broker 2 fenced too before broker 1: then 1 goes, and only 3 is live.
  await node.publisher.waitForPublished((await node.controller.fenceBroker(2, epochs.get(2)!)).offset);
  await node.publisher.waitForPublished((await node.controller.fenceBroker(3, epochs.get(3)!)).offset);
  await node.publisher.waitForPublished((await node.controller.fenceBroker(1, epochs.get(1)!)).offset);
  expect(partitionOf(node.image(), "anyone", 0)).toMatchObject({ leader: -1, isr: [1] });
  // Broker 3 comes back (not in the ISR): the default allows it to lead "anyone", not "strict".
  const back = await node.controller.brokerHeartbeat({ brokerId: 3, brokerEpoch: epochs.get(3)!, currentMetadataOffset: node.image().offset });
  await node.publisher.waitForPublished(back.offset);
  expect(partitionOf(node.image(), "anyone", 0)).toMatchObject({ leader: 3, isr: [3] });
  expect(partitionOf(node.image(), "strict", 0)).toMatchObject({ leader: -1, isr: [1] });
  await node.close();
});

test("AlterPartition through the AlterPartitionSender: shrink and expand by the leader in its epochs; stale or wrong requests refused with Kafka's errors", async () => {
  const node = await start(fresh());
  for (const id of [1, 2, 3]) await node.registerLive(id);
  await node.admin.createTopic({ name: "t", numPartitions: 1, replicationFactor: 3, assignments: [[1, 2, 3]], configs: {} });
  const topicId = node.image().topicsByName.get("t")!.id;
  const leader = adminAlterPartitionSender(1, node.admin);
  const shrunk = await leader.send({ topicId, partition: 0, leaderEpoch: 0, partitionEpoch: 0, newIsr: [1, 2] });
  expect(shrunk).toEqual({ error: ErrorCode.NONE, partition: { leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 1 } });
  // Answered once this node's image shows it.
  expect(partitionOf(node.image(), "t", 0)).toMatchObject({ isr: [1, 2], partitionEpoch: 1 });
  // The same request again is stale: its partition epoch has moved on.
  expect((await leader.send({ topicId, partition: 0, leaderEpoch: 0, partitionEpoch: 0, newIsr: [1, 2] })).error).toBe(ErrorCode.INVALID_UPDATE_VERSION);
  expect((await leader.send({ topicId, partition: 0, leaderEpoch: -1, partitionEpoch: 1, newIsr: [1] })).error).toBe(ErrorCode.FENCED_LEADER_EPOCH);
  expect((await adminAlterPartitionSender(2, node.admin).send({ topicId, partition: 0, leaderEpoch: 0, partitionEpoch: 1, newIsr: [2] })).error).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  expect((await leader.send({ topicId, partition: 0, leaderEpoch: 0, partitionEpoch: 1, newIsr: [2, 3] })).error).toBe(ErrorCode.INVALID_REQUEST);
  expect((await leader.send({ topicId, partition: 0, leaderEpoch: 0, partitionEpoch: 1, newIsr: [1, 4] })).error).toBe(ErrorCode.INVALID_REQUEST);
  expect((await leader.send({ topicId: randomUuid(), partition: 0, leaderEpoch: 0, partitionEpoch: 1, newIsr: [1] })).error).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
  expect((await leader.send({ topicId, partition: 5, leaderEpoch: 0, partitionEpoch: 1, newIsr: [1] })).error).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  expect(partitionOf(node.image(), "t", 0)).toMatchObject({ isr: [1, 2], partitionEpoch: 1 });
  const expanded = await leader.send({ topicId, partition: 0, leaderEpoch: 0, partitionEpoch: 1, newIsr: [1, 2, 3] });
  expect(expanded).toEqual({ error: ErrorCode.NONE, partition: { leader: 1, leaderEpoch: 0, isr: [1, 2, 3], partitionEpoch: 2 } });
  await node.close();
});

test("producer ids: blocks committed before use, unique under concurrency, never repeated after a restart", async () => {
  const dataDir = fresh();
  let node = await start(dataDir);
  let epoch = await node.registerLive(1);
  let manager = new ProducerIdManager({ allocateProducerIds: () => node.admin.allocateProducerIds(1, epoch) });
  const ids = await Promise.all(Array.from({ length: 1005 }, () => manager.generate()));
  expect(ids).toEqual(Array.from({ length: 1005 }, (_, index) => BigInt(index)));
  expect(node.image().nextProducerId).toBe(2000n);
  await node.close();
  node = await start(dataDir);
  epoch = await node.registerLive(1);
  manager = new ProducerIdManager({ allocateProducerIds: () => node.admin.allocateProducerIds(1, epoch) });
  expect(await manager.generate()).toBe(2000n);
  expect(await codeOf(node.admin.allocateProducerIds(1, epoch + 1n))).toBe(ErrorCode.STALE_BROKER_EPOCH);
  await node.close();
});

test("a node that does not lead the metadata log answers NOT_CONTROLLER", async () => {
  const follower: MetadataLog = {
    nodeId: 2, committedOffset: -1n, nextOffset: 0n, leader: { leaderId: 1, epoch: 3 },
    onCommit: () => {}, onLeaderChange: (listener) => { listener({ leaderId: 1, epoch: 3 }); return () => {}; },
    append: () => Promise.reject(new Error("not the leader")), saveSnapshot: async () => {}, start: async () => {}, close: async () => {},
  };
  const controller = new QuorumController({ log: follower, config: loadBrokerConfig({}), logger: recordingLogger() });
  expect(controller.isActive).toBe(false);
  expect(await codeOf(controller.createTopic(topic("x")))).toBe(ErrorCode.NOT_CONTROLLER);
});
