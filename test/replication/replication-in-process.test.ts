// Partition replication between real nodes in one process (src/testing/in-process-cluster.ts): real
// data directories, real Kafka listeners on loopback, the replica fetchers sending Kafka Fetch over
// real TCP, one shared metadata log in place of the Raft quorum. What is checked here is the
// replication of partition data: acks=all answered only once every ISR member holds the records,
// consumers reading only below the high watermark, failover to a follower holding every committed
// record, truncation of a returning old leader at the divergence, ISR shrink and expansion through
// AlterPartition, min.insync.replicas.

import { afterEach, expect, test } from "bun:test";
import { commitOffsets, Consumer, fetchCommittedOffsets, KafkaClient, Producer } from "../../src/client/index.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import type { Partition } from "../../src/replication/index.ts";
import { InProcessCluster } from "../../src/testing/in-process-cluster.ts";
import { buildBatch } from "../../src/testing/record-batches.ts";
import { decodeRecords, splitBatches } from "../../src/protocol/record-batch.ts";
import { setLogLevel } from "../../src/util/logger.ts";

setLogLevel((process.env.RUNNEL_LOG_LEVEL as "warn" | undefined) ?? "warn");

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function cluster(config: Record<string, string | number> = {}): Promise<InProcessCluster> {
  const started = await InProcessCluster.start({ nodes: 3, config: { "offsets.topic.num.partitions": 1, ...config } });
  cleanups.push(() => started.close());
  return started;
}

function client(bootstrap: string): KafkaClient {
  const created = new KafkaClient({ bootstrap, clientId: "replication-test", retryBackoffMs: 20, retryBackoffMaxMs: 100 });
  cleanups.push(() => created.close());
  return created;
}

async function createTopic(on: InProcessCluster, name: string, configs: Record<string, string> = {}, assignments: number[][] = [[1, 2, 3]]) {
  const node = on.node([...on.nodes.keys()][0]!);
  await node.core.admin.createTopic({ name, numPartitions: -1, replicationFactor: -1, assignments, configs });
  await on.published(on.metadata.committedOffset);
}

function replicaOn(on: InProcessCluster, nodeId: number, topic: string, partition = 0): Partition {
  const replica = on.node(nodeId).core.replicas.partition(topic, partition);
  if (!replica) throw new Error(`node ${nodeId} has no replica of ${topic}-${partition}`);
  return replica;
}

/** Wait (bounded) until `condition` holds, polling each turn of the event loop a few ms apart. */
async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

test("acks=all is answered once every ISR member holds the records; followers track the high watermark", async () => {
  const nodes = await cluster();
  await createTopic(nodes, "rf3");
  const leader = replicaOn(nodes, 1, "rf3");
  expect(leader.isLeader).toBe(true);
  expect([...leader.isr].sort()).toEqual([1, 2, 3]);
  const producer = new Producer(client(nodes.bootstrap), { acks: -1, lingerMs: 0 });
  const sent = [];
  for (let index = 0; index < 20; index++) sent.push(await producer.send({ topic: "rf3", partition: 0, value: `value-${index}` }));
  expect(sent.map((meta) => meta.offset)).toEqual(Array.from({ length: 20 }, (_, index) => BigInt(index)));
  // Answered only once committed: every ISR member held the records then.
  for (const id of [2, 3]) expect(replicaOn(nodes, id, "rf3").logEndOffset).toBeGreaterThanOrEqual(20n);
  expect(leader.highWatermark).toBe(20n);
  expect(leader.followerProgress(2)!.logEndOffset).toBe(20n);
  // Followers learn the high watermark on their next fetch.
  await until("followers' high watermarks", () => [2, 3].every((id) => replicaOn(nodes, id, "rf3").highWatermark === 20n));
  // The follower's log is the leader's, batch for batch (same epochs).
  expect(replicaOn(nodes, 2, "rf3").log.epochEntries()).toEqual(leader.log.epochEntries());
  await producer.close();
});

test("consumers read only below the high watermark: records on the leader alone are not served", async () => {
  const nodes = await cluster();
  await createTopic(nodes, "hw");
  const producer = new Producer(client(nodes.bootstrap), { acks: -1, lingerMs: 0 });
  await producer.send({ topic: "hw", partition: 0, value: "committed" });
  // Both followers stop fetching: acks=1 records land on the leader only.
  await nodes.stopNode(2);
  await nodes.stopNode(3);
  const leader = replicaOn(nodes, 1, "hw");
  const acksOne = new Producer(client(nodes.bootstrap), { acks: 1, lingerMs: 0 });
  const uncommitted = await acksOne.send({ topic: "hw", partition: 0, value: "uncommitted" });
  expect(uncommitted.offset).toBe(1n);
  expect(leader.logEndOffset).toBe(2n);
  expect(leader.highWatermark).toBe(1n);
  const consumer = new Consumer(client(nodes.bootstrap), { maxWaitMs: 50 });
  await consumer.assign([{ topic: "hw", partition: 0, from: "earliest" }]);
  const seen: string[] = [];
  const deadline = performance.now() + 1_000;
  while (performance.now() < deadline) for (const record of await consumer.poll(100)) seen.push(new TextDecoder().decode(record.value!));
  expect(seen).toEqual(["committed"]);
  await Promise.all([producer.close(), acksOne.close()]);
});

/** The values of a replica's log, offset by offset (its own bytes, read as the leader would). */
async function valuesOf(on: InProcessCluster, nodeId: number, topic: string): Promise<string[]> {
  const replica = replicaOn(on, nodeId, topic);
  const consumerLog = replica.log;
  const read = consumerLog.read(0n, 64 * 1024 * 1024, consumerLog.logEndOffset);
  try {
    const values: string[] = [];
    for (const chunk of read.chunks) values.push(...decodeValues(chunk));
    return values;
  } finally {
    read.release();
  }
}

function decodeValues(bytes: Uint8Array): string[] {
  const values: string[] = [];
  for (const batch of splitBatches(bytes)) for (const record of decodeRecords(batch)) values.push(`${record.offset}:${new TextDecoder().decode(record.value!)}`);
  return values;
}

async function leaderOf(on: InProcessCluster, topic: string): Promise<number> {
  let leader = -1;
  await until(`a live leader of ${topic}`, () => {
    leader = on.metadata.image.topicsByName.get(topic)!.partitions[0]!.leader;
    return leader >= 0 && on.nodes.has(leader) && on.node(leader).core.replicas.partition(topic, 0)?.isLeader === true;
  });
  return leader;
}

test("failover: the leader dies, a follower holding every committed record leads, the producer carries on", async () => {
  const nodes = await cluster();
  await createTopic(nodes, "failover");
  const producer = new Producer(client(nodes.bootstrap), { acks: -1, lingerMs: 0, idempotent: true });
  const acknowledged: bigint[] = [];
  for (let index = 0; index < 10; index++) acknowledged.push((await producer.send({ topic: "failover", partition: 0, value: `a${index}` })).offset);
  await nodes.stopNode(1);
  const failedAt = performance.now();
  await nodes.published(nodes.fence(1));
  const newLeader = await leaderOf(nodes, "failover");
  expect([2, 3]).toContain(newLeader);
  // The producer's next records go to the new leader (NOT_LEADER_OR_FOLLOWER → metadata → retry).
  for (let index = 10; index < 20; index++) acknowledged.push((await producer.send({ topic: "failover", partition: 0, value: `a${index}` })).offset);
  const failoverMs = performance.now() - failedAt;
  expect(acknowledged).toEqual(Array.from({ length: 20 }, (_, index) => BigInt(index)));
  const expected = Array.from({ length: 20 }, (_, index) => `${index}:a${index}`);
  expect(await valuesOf(nodes, newLeader, "failover")).toEqual(expected);
  const other = newLeader === 2 ? 3 : 2;
  await until("the other follower catching up", () => replicaOn(nodes, other, "failover").logEndOffset === 20n);
  expect(await valuesOf(nodes, other, "failover")).toEqual(expected);
  expect(failoverMs).toBeGreaterThan(0);
  await producer.close();
});

test("a returning old leader truncates exactly at the divergence and takes the new leader's records", async () => {
  // The lag limit stays long: the followers' absence must not shrink the ISR (the records stay uncommitted).
  const nodes = await cluster({ "replica.fetch.wait.max.ms": 100 });
  await createTopic(nodes, "diverge");
  const first = new Producer(client(nodes.bootstrap), { acks: -1, lingerMs: 0 });
  for (let index = 0; index < 5; index++) await first.send({ topic: "diverge", partition: 0, value: `c${index}` });
  await first.close();
  // The followers go away; the leader takes acks=1 records nobody else has (uncommitted).
  await nodes.stopNode(2);
  await nodes.stopNode(3);
  const oldLeader = replicaOn(nodes, 1, "diverge");
  const lonely = new Producer(client(nodes.bootstrap), { acks: 1, lingerMs: 0 });
  for (let index = 0; index < 3; index++) await lonely.send({ topic: "diverge", partition: 0, value: `lost${index}` });
  await lonely.close();
  expect(oldLeader.logEndOffset).toBe(8n);
  expect(oldLeader.highWatermark).toBe(5n);
  // The old leader dies; the followers come back and one of them leads a new epoch.
  await nodes.stopNode(1);
  await nodes.published(nodes.fence(1));
  await nodes.startNode(2);
  await nodes.startNode(3);
  const newLeader = await leaderOf(nodes, "diverge");
  const second = new Producer(client(nodes.bootstrap), { acks: -1, lingerMs: 0 });
  for (let index = 5; index < 9; index++) await second.send({ topic: "diverge", partition: 0, value: `n${index}` });
  await second.close();
  // The old leader returns: its offsets 5-7 (old epoch) differ from the new leader's; it must drop
  // exactly those and take the new leader's records.
  await nodes.startNode(1);
  const returned = replicaOn(nodes, 1, "diverge");
  await until("the old leader catching up", () => returned.role === "follower" && returned.logEndOffset === 9n && returned.highWatermark === 9n);
  const expected = [...Array.from({ length: 5 }, (_, index) => `${index}:c${index}`), ...Array.from({ length: 4 }, (_, index) => `${index + 5}:n${index + 5}`)];
  expect(await valuesOf(nodes, newLeader, "diverge")).toEqual(expected);
  expect(await valuesOf(nodes, 1, "diverge")).toEqual(expected);
  expect(returned.log.epochEntries()).toEqual(replicaOn(nodes, newLeader, "diverge").log.epochEntries());
});

test("ISR: a follower that stops fetching leaves after replica.lag.time.max.ms, acks=all carries on, it rejoins once caught up", async () => {
  // Long enough that a busy machine never delays node 2's fetches past it.
  const nodes = await cluster({ "replica.lag.time.max.ms": 1500, "replica.fetch.wait.max.ms": 100 });
  await createTopic(nodes, "isr", { "min.insync.replicas": "2" });
  const producer = new Producer(client(nodes.bootstrap), { acks: -1, lingerMs: 0, idempotent: true });
  await producer.send({ topic: "isr", partition: 0, value: "before" });
  await nodes.stopNode(3);
  // Not fenced: only the leader's lag rule takes node 3 out; the produce waits for that.
  const during = await producer.send({ topic: "isr", partition: 0, value: "during" });
  expect(during.offset).toBe(1n);
  const registration = () => nodes.metadata.image.topicsByName.get("isr")!.partitions[0]!;
  expect([...registration().isr].sort()).toEqual([1, 2]);
  for (let index = 0; index < 5; index++) await producer.send({ topic: "isr", partition: 0, value: `more${index}` });
  await nodes.startNode(3);
  await until("node 3 back in the ISR", () => registration().isr.includes(3));
  expect(replicaOn(nodes, 3, "isr").logEndOffset).toBeGreaterThanOrEqual(replicaOn(nodes, 1, "isr").highWatermark);
  await producer.close();
});

test("min.insync.replicas: NOT_ENOUGH_REPLICAS before appending, NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrinks meanwhile", async () => {
  // The lag time must outlast stopNode: the first append has to find node 3 still in the ISR (at
  // 300 ms a full suite at load average ~25 shrank it first: NOT_ENOUGH_REPLICAS instead).
  const nodes = await cluster({ "replica.lag.time.max.ms": 2000, "replica.fetch.wait.max.ms": 100 });
  await createTopic(nodes, "minisr", { "min.insync.replicas": "3" });
  const leader = replicaOn(nodes, 1, "minisr");
  await nodes.stopNode(3);
  const batch = (number: number) => buildBatch({ batchNumber: number, recordCount: 1, valueBytes: 10 });
  // ISR still {1,2,3}: appended, then the ISR shrinks to {1,2} < 3 while it waits.
  expect([...leader.isr].sort()).toEqual([1, 2, 3]);
  const after = await leader.appendRecordsToLeader(batch(1), { requiredAcks: -1, timeoutMs: 10_000 }).then(() => ErrorCode.NONE, (error: KafkaError) => error.code);
  expect(after).toBe(ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
  expect(leader.logEndOffset).toBe(1n);
  // Now |ISR| = 2 < 3: refused before appending, nothing written.
  const before = await leader.appendRecordsToLeader(batch(2), { requiredAcks: -1, timeoutMs: 10_000 }).then(() => ErrorCode.NONE, (error: KafkaError) => error.code);
  expect(before).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
  expect(leader.logEndOffset).toBe(1n);
  // acks=1 is not held to min.insync.replicas.
  await leader.appendRecordsToLeader(batch(3), { requiredAcks: 1, timeoutMs: 10_000 });
  expect(leader.logEndOffset).toBe(2n);
});

test("controlled shutdown: the leader hands its leadership to an in-sync follower before it stops; nothing acknowledged is lost", async () => {
  const nodes = await cluster();
  await createTopic(nodes, "handover");
  const producer = new Producer(client(nodes.bootstrap), { acks: -1, lingerMs: 0, idempotent: true });
  for (let index = 0; index < 5; index++) await producer.send({ topic: "handover", partition: 0, value: `h${index}` });
  const started = performance.now();
  await nodes.shutdownNode(1);
  const shutdownMs = performance.now() - started;
  // Moved before the node stopped: no fencing needed.
  const registration = nodes.metadata.image.topicsByName.get("handover")!.partitions[0]!;
  expect([2, 3]).toContain(registration.leader);
  expect(registration.isr).not.toContain(1);
  expect(nodes.metadata.image.brokers.get(1)).toMatchObject({ inControlledShutdown: true, fenced: true });
  for (let index = 5; index < 10; index++) await producer.send({ topic: "handover", partition: 0, value: `h${index}` });
  expect(await valuesOf(nodes, registration.leader, "handover")).toEqual(Array.from({ length: 10 }, (_, index) => `${index}:h${index}`));
  expect(shutdownMs).toBeGreaterThan(0);
  await producer.close();
});

test("groups: __consumer_offsets is replicated; committed offsets survive the coordinator's broker dying, the coordinator moves with the leadership", async () => {
  const nodes = await cluster({ "offsets.topic.replication.factor": 3 });
  const offsets = () => nodes.metadata.image.topicsByName.get("__consumer_offsets");
  // Created by the start of the broker that made three live brokers.
  expect(offsets()?.partitions[0]?.replicas.length).toBe(3);
  await createTopic(nodes, "consumed");
  const admin = client(nodes.bootstrap);
  await commitOffsets(admin, "survivors", [{ topic: "consumed", partition: 0, offset: 42n }]);
  const coordinator = offsets()!.partitions[0]!.leader;
  // Answered once committed: every ISR member of the offsets partition holds the commit.
  const committedEnd = replicaOn(nodes, coordinator, "__consumer_offsets").highWatermark;
  for (const id of offsets()!.partitions[0]!.isr) expect(replicaOn(nodes, id, "__consumer_offsets").logEndOffset).toBeGreaterThanOrEqual(committedEnd);
  await nodes.stopNode(coordinator);
  await nodes.published(nodes.fence(coordinator));
  const next = offsets()!.partitions[0]!.leader;
  expect(next).not.toBe(coordinator);
  await until("the new coordinator loaded", () => nodes.node(next).core.groups.coordinatorError("survivors") === 0);
  const survivor = client([...nodes.nodes.values()].map((node) => `${node.kafka.host}:${node.kafka.port}`).join(","));
  expect(await fetchCommittedOffsets(survivor, "survivors", [{ topic: "consumed", partitions: [0] }])).toEqual([{ topic: "consumed", partition: 0, offset: 42n, metadata: "" }]);
});

test("durability mode (b), flush.messages=1: acks=all is answered only once the records are on every ISR member's disk", async () => {
  const nodes = await cluster({ "log.flush.interval.messages": 1 });
  await createTopic(nodes, "durable");
  const producer = new Producer(client(nodes.bootstrap), { acks: -1, lingerMs: 0 });
  for (let index = 0; index < 20; index++) {
    const sent = await producer.send({ topic: "durable", partition: 0, value: `d${index}` });
    // At the moment of the answer: fsynced (recovery point past it) on the leader and both followers.
    for (const id of [1, 2, 3]) expect(replicaOn(nodes, id, "durable").log.recoveryPoint).toBeGreaterThan(sent.offset);
  }
  await producer.close();
});
