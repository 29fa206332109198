// kill -9 of the broker that is both the metadata quorum's leader (the active controller) and a
// partition's leader (docs/replication.md §3): the closing of its heartbeat connection was seen only
// by itself, and the new controller gives every broker a fresh session — so before the new
// controller probed the brokers' internal listeners on taking over, the dead broker stayed unfenced
// (and the partition leaderless) for broker.session.timeout.ms after the election. With the session
// timeout set far beyond the test's bounds, only that probe can fence it: the acks=all produce below
// succeeds (and the broker is fenced) well before the session could have expired. Times are printed,
// not asserted.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { KafkaClient, Producer } from "../../src/client/index.ts";
import { CreateTopicsApi } from "../../src/protocol/generated/create-topics.ts";
import { startCluster, type TestCluster } from "./harness.ts";

const sessionTimeoutMs = 120_000;
const topic = "controller-victim";

describe("kill -9 of the active controller that also leads a partition", () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3, set: { "broker.session.timeout.ms": sessionTimeoutMs, "offsets.topic.num.partitions": 1 } });
  }, 60_000);
  afterAll(() => cluster?.close(), 30_000);

  test("is fenced by the new controller's probe, not after broker.session.timeout.ms; acks=all works again", async () => {
    const victim = await cluster.quorumLeader();
    const others = cluster.nodes.map((node) => node.id).filter((id) => id !== victim);
    // The victim is the preferred (first) replica of the partition: it leads it.
    const created = await cluster.ask(others[0]!, (connection) => connection.request(CreateTopicsApi, {
      topics: [{
        name: topic, numPartitions: -1, replicationFactor: -1,
        assignments: [{ partitionIndex: 0, brokerIds: [victim, ...others] }], configs: [{ name: "min.insync.replicas", value: "2" }],
      }],
      timeoutMs: 10_000, validateOnly: false,
    }, { version: 7, timeoutMs: 20_000 }));
    expect(created.topics[0]!.errorCode).toBe(0);
    await cluster.waitFor("the victim leads the partition with a full ISR", async () => {
      const partition = (await cluster.metadata(others[0]!)).topics.find((entry) => entry.name === topic)?.partitions[0];
      return partition?.leaderId === victim && partition.isrNodes.length === 3 ? true : undefined;
    });

    const killedAt = performance.now();
    await cluster.kill(victim);
    const client = new KafkaClient({ bootstrap: cluster.bootstrap, clientId: "controller-failover", retryBackoffMs: 20, retryBackoffMaxMs: 100, requestTimeoutMs: 5000 });
    // Bounded far below the session timeout: without the probe, the partition stays leaderless.
    const producer = new Producer(client, { acks: -1, lingerMs: 0, deliveryTimeoutMs: 30_000, requestTimeoutMs: 5000 });
    try {
      await producer.send({ topic, partition: 0, value: "after the kill" });
    } finally {
      await producer.close();
      await client.close();
    }
    const producedMs = performance.now() - killedAt;
    const metadata = await cluster.metadata(others[0]!);
    expect(metadata.brokers.map((broker) => broker.nodeId)).not.toContain(victim);
    const partition = metadata.topics.find((entry) => entry.name === topic)!.partitions[0]!;
    expect(others).toContain(partition.leaderId);
    expect(partition.isrNodes).not.toContain(victim);
    expect(producedMs).toBeLessThan(sessionTimeoutMs);
    const newController = await cluster.quorumLeader();
    console.log(`kill -9 of broker ${victim} (quorum leader and partition leader): new controller ${newController}, acks=all produce acknowledged by new leader ${partition.leaderId} after ${Math.round(producedMs)} ms (broker.session.timeout.ms ${sessionTimeoutMs})`);
  }, 60_000);
});
