// A broker that is not a voter (KIP-853's controller.quorum.bootstrap.servers and its own
// --internal-port) joins a three-voter cluster: it learns the voters from a bootstrap server,
// follows the metadata log as a Raft observer, registers, is unfenced, appears in every node's
// Metadata and DescribeQuorum's observers, and hosts replicas that join their ISR. Then it is
// removed through the HTTP API (DELETE …/brokers/4, progress at …/tasks/remove-broker): its
// replicas move back to the voters before the task reports SUCCESS. A fifth broker that joins,
// receives replicas and is then killed (kill -9) is not drained at once: its partitions are led
// elsewhere, and only after broker.failure.rereplication.grace.ms are its replicas re-created on
// the live brokers.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CreateTopicsApi } from "../../src/protocol/generated/create-topics.ts";
import { startCluster, type TestCluster } from "./harness.ts";

describe("a broker joining as an observer", () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3, set: { "offsets.topic.num.partitions": 2, "replica.rebalance.check.interval.ms": 200, "broker.failure.rereplication.grace.ms": 3000 } });
  }, 60_000);
  afterAll(() => cluster?.close(), 30_000);

  test("registers, is listed by every node, observes the quorum and hosts replicas", async () => {
    const started = Date.now();
    const id = await cluster.addBroker();
    await cluster.waitForClusterView();
    console.log(`broker ${id} joined through the bootstrap servers and every node lists it after ${Date.now() - started} ms`);
    const quorum = await cluster.waitFor(`node ${id} answers DescribeQuorum`, () => cluster.describeQuorum(id), 10_000);
    expect(quorum.currentVoters.map((voter) => voter.replicaId).sort()).toEqual([1, 2, 3]);
    expect(quorum.observers.map((observer) => observer.replicaId)).toContain(id);
    // Its replicas: a topic placed over the four brokers, the newcomer's replicas in their ISR.
    const response = await cluster.ask(1, (connection) => connection.request(CreateTopicsApi, {
      topics: [{ name: "spread", numPartitions: 4, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false,
    }, { version: 7, timeoutMs: 20_000 }));
    expect(response.topics[0]!.errorCode).toBe(0);
    await cluster.waitFor("the newcomer's replicas in their ISR", async () => {
      const topic = (await cluster.metadata(id)).topics.find((candidate) => candidate.name === "spread");
      const its = topic?.partitions.filter((partition) => partition.replicaNodes.includes(id)) ?? [];
      return topic && topic.partitions.length === 4 && its.length >= 3 && its.every((partition) => partition.isrNodes.includes(id)) ? true : undefined;
    });
    const leaders = (await cluster.metadata(id)).topics.find((candidate) => candidate.name === "spread")!.partitions.map((partition) => partition.leaderId);
    expect(leaders).toContain(id);

    // Removal over HTTP, asked of the broker itself (its HTTP listener: port 0, printed at start).
    const httpLine = cluster.output(id).split("\n").find((line) => line.startsWith("http listening on "))!;
    const base = `http://${httpLine.slice("http listening on ".length)}`;
    const clusterId = ((await (await fetch(`${base}/v3/clusters`)).json()) as { data: { cluster_id: string }[] }).data[0]!.cluster_id;
    const removing = await fetch(`${base}/v3/clusters/${clusterId}/brokers/${id}`, { method: "DELETE" });
    expect(removing.status).toBe(202);
    expect(((await removing.json()) as { task_status: string }).task_status).toBe("IN_PROGRESS");
    expect((await fetch(`${base}/v3/clusters/${clusterId}/brokers/99`, { method: "DELETE" })).status).toBe(404);
    const removedAt = Date.now();
    const task = await cluster.waitFor("the remove-broker task done", async () => {
      const status = (await (await fetch(`${base}/v3/clusters/${clusterId}/brokers/${id}/tasks/remove-broker`)).json()) as { task_status: string; replicas_left: number };
      return status.task_status === "SUCCESS" ? status : undefined;
    });
    console.log(`broker ${id} drained over HTTP in ${Date.now() - removedAt} ms`);
    expect(task.replicas_left).toBe(0);
    const after = (await cluster.metadata(1)).topics.flatMap((topic) => topic.partitions);
    expect(after.every((partition) => !partition.replicaNodes.includes(id) && partition.leaderId !== id)).toBe(true);
    // Every partition still has RF 3, now on the voters, with a full ISR.
    const spread = (await cluster.metadata(1)).topics.find((candidate) => candidate.name === "spread")!;
    expect(spread.partitions.every((partition) => partition.replicaNodes.length === 3 && partition.isrNodes.length === 3)).toBe(true);
  }, 60_000);

  test("a killed broker keeps its replicas for the grace period, then they are re-created elsewhere", async () => {
    const id = await cluster.addBroker();
    const holds = async () => (await cluster.metadata(1)).topics.flatMap((topic) => topic.partitions).filter((partition) => partition.replicaNodes.includes(id));
    await cluster.waitFor(`broker ${id} given replicas by the balancer`, async () => {
      const its = await holds();
      return its.length > 0 && its.every((partition) => partition.isrNodes.includes(id)) ? true : undefined;
    });
    await cluster.kill(id);
    const killedAt = Date.now();
    // Fenced at once (its heartbeat connection closed): no leadership left on it, replicas kept.
    const kept = await cluster.waitFor("its leaderships moved", async () => {
      const its = await holds();
      return its.every((partition) => partition.leaderId !== id && partition.leaderId >= 0) ? its : undefined;
    });
    expect(kept.length).toBeGreaterThan(0);
    await cluster.waitFor("its replicas re-created on the live brokers", async () => {
      const partitions = (await cluster.metadata(1)).topics.flatMap((topic) => topic.partitions);
      return partitions.every((partition) => !partition.replicaNodes.includes(id) && partition.isrNodes.length === partition.replicaNodes.length) ? true : undefined;
    });
    const tookMs = Date.now() - killedAt;
    console.log(`broker ${id} killed: ${kept.length} replicas kept through the grace period, re-created elsewhere ${tookMs} ms after the kill`);
    expect(tookMs).toBeGreaterThanOrEqual(3000);
  }, 60_000);
});
