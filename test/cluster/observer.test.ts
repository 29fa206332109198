// A broker that is not a voter (KIP-853's controller.quorum.bootstrap.servers and its own
// --internal-port) joins a three-voter cluster: it learns the voters from a bootstrap server,
// follows the metadata log as a Raft observer, registers, is unfenced, appears in every node's
// Metadata and DescribeQuorum's observers, and hosts replicas that join their ISR.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CreateTopicsApi } from "../../src/protocol/generated/create-topics.ts";
import { startCluster, type TestCluster } from "./harness.ts";

describe("a broker joining as an observer", () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3, set: { "offsets.topic.num.partitions": 2 } });
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
    // Its replicas: a topic on every broker, the newcomer's replicas in the ISR.
    const response = await cluster.ask(1, (connection) => connection.request(CreateTopicsApi, {
      topics: [{ name: "spread", numPartitions: 4, replicationFactor: 4, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false,
    }, { version: 7, timeoutMs: 20_000 }));
    expect(response.topics[0]!.errorCode).toBe(0);
    await cluster.waitFor("the newcomer in every partition's ISR", async () => {
      const topic = (await cluster.metadata(id)).topics.find((candidate) => candidate.name === "spread");
      return topic && topic.partitions.length === 4 && topic.partitions.every((partition) => partition.isrNodes.includes(id)) ? true : undefined;
    });
    const leaders = (await cluster.metadata(id)).topics.find((candidate) => candidate.name === "spread")!.partitions.map((partition) => partition.leaderId);
    expect(leaders).toContain(id);
  }, 60_000);
});
