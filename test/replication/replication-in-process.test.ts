// Partition replication between real nodes in one process (src/testing/in-process-cluster.ts): real
// data directories, real Kafka listeners on loopback, the replica fetchers sending Kafka Fetch over
// real TCP, one shared metadata log in place of the Raft quorum. What is checked here is the
// replication of partition data: acks=all answered only once every ISR member holds the records,
// consumers reading only below the high watermark, failover to a follower holding every committed
// record, truncation of a returning old leader at the divergence, ISR shrink and expansion through
// AlterPartition, min.insync.replicas.

import { afterEach, expect, test } from "bun:test";
import { Consumer, KafkaClient, Producer } from "../../src/client/index.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import type { Partition } from "../../src/replication/index.ts";
import { InProcessCluster } from "../../src/testing/in-process-cluster.ts";
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
