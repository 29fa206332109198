// Inter-broker security with three real broker processes: the internal (CONTROLLER) listener is
// SASL_SSL (listener.security.protocol.map=CONTROLLER:SASL_SSL), the nodes log in to each other
// as User:broker with SCRAM-SHA-512 (sasl.mechanism.inter.broker.protocol, sasl.jaas.config) — a
// bootstrap.scram.users user, accepted from the config before any metadata has replicated.
// Raft (the quorum elects a leader), registrations and heartbeats (every node lists every
// broker), forwarded admin requests (CreateTopics on a non-controller) and replica fetches (an
// acks=all produce with min.insync.replicas=3 to a replication-factor-3 topic) all cross it.
// An ordinary user gets CLUSTER_AUTHORIZATION_FAILED for broker-to-broker requests, on the internal
// listener and for replica Fetch on the client listener; a plaintext client cannot use the
// internal listener at all. A fourth broker, not a voter, joins through the voters' SASL_SSL
// internal listeners (controller.quorum.bootstrap.servers).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { KafkaConnection } from "../../src/client/connection.ts";
import type { ClientSecurity } from "../../src/client/security.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { BrokerHeartbeatApi, CreateTopicsApi, FetchApi, ListOffsetsApi, ProduceApi, VoteApi } from "../../src/protocol/generated/index.ts";
import { makeTestCertificates, type TestCertificates } from "../../src/testing/certificates.ts";
import { buildBatch } from "../../src/testing/record-batches.ts";
import { startCluster, type TestCluster } from "./harness.ts";

let certs: TestCertificates;
let cluster: TestCluster;
const open: KafkaConnection[] = [];

const as = (username: string): ClientSecurity => ({
  tls: { ca: certs.read("ca.pem") },
  sasl: { mechanism: "SCRAM-SHA-512", username, password: `${username}-secret` },
});

beforeAll(async () => {
  certs = makeTestCertificates();
  cluster = await startCluster({
    nodes: 3,
    kafkaProtocol: "SASL_SSL",
    controllerProtocol: "SASL_SSL",
    clientSecurity: as("admin"),
    set: {
      "ssl.keystore.location": certs.path("keystore.pem"),
      "ssl.truststore.location": certs.path("ca.pem"),
      "sasl.enabled.mechanisms": "SCRAM-SHA-512",
      "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
      "sasl.jaas.config": 'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="broker-secret";',
      "bootstrap.scram.users": ["admin", "broker", "alice"].map((name) => `SCRAM-SHA-512=[name=${name},password=${name}-secret,iterations=4096]`).join(";"),
      "super.users": "User:admin;User:broker",
      "offsets.topic.num.partitions": 1,
      "replica.fetch.wait.max.ms": 200,
    },
  });
}, 90_000);

afterAll(async () => {
  for (const connection of open) connection.close();
  await cluster?.close();
  certs?.cleanup();
});

async function connect(port: number, security: ClientSecurity | undefined, clientId = "inter-broker-test"): Promise<KafkaConnection> {
  const connection = await KafkaConnection.connect({
    host: "127.0.0.1", port, clientId, requestTimeoutMs: 5000, connectTimeoutMs: 5000, ...(security ? { security } : {}),
  });
  open.push(connection);
  return connection;
}

/** A replica Fetch as broker `replicaId` would send it (v12: replicaId in the request). */
function replicaFetch(connection: KafkaConnection, replicaId: number) {
  return connection.request(FetchApi, {
    replicaId, maxWaitMs: 0, minBytes: 0, maxBytes: 1024, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [], forgottenTopicsData: [], rackId: "",
  }, { version: 12 });
}

describe("the internal listener over SASL_SSL", () => {
  test("Raft, heartbeats, forwarded admin requests and replica fetches work across it", async () => {
    const leader = await cluster.quorumLeader();
    const other = cluster.nodes.map((node) => node.id).find((id) => id !== leader)!;
    const admin = await connect(cluster.node(other).kafkaPort, as("admin"));
    const created = await admin.request(CreateTopicsApi, {
      topics: [{ name: "replicated", numPartitions: 1, replicationFactor: 3, assignments: [], configs: [{ name: "min.insync.replicas", value: "3" }] }],
      timeoutMs: 10000, validateOnly: false,
    });
    expect(created.topics.map((topic) => topic.errorCode)).toEqual([ErrorCode.NONE]);
    const partitionLeader = await cluster.waitFor("a leader of replicated-0", async () => {
      const topic = (await cluster.metadata(other)).topics.find((entry) => entry.name === "replicated");
      const partition = topic?.partitions[0];
      return partition && partition.leaderId >= 0 && partition.isrNodes.length === 3 ? partition.leaderId : undefined;
    });
    const producer = await connect(cluster.node(partitionLeader).kafkaPort, as("admin"));
    // acks=all with min.insync.replicas=3: answered only once both followers fetched the batch.
    const produced = await producer.request(ProduceApi, {
      transactionalId: null, acks: -1, timeoutMs: 10000,
      topicData: [{ name: "replicated", partitionData: [{ index: 0, records: buildBatch({ batchNumber: 1, recordCount: 5, valueBytes: 16 }) }] }],
    });
    expect(produced.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
    // The ISR is still every replica (no follower fell behind), as every node's metadata says.
    for (const node of cluster.nodes) {
      const partition = (await cluster.metadata(node.id)).topics.find((entry) => entry.name === "replicated")?.partitions[0];
      expect(partition?.isrNodes.length).toBe(3);
    }
    const offsets = await producer.request(ListOffsetsApi, { replicaId: -1, isolationLevel: 0, topics: [{ name: "replicated", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
    expect(offsets.topics[0]!.partitions[0]!.offset).toBe(5n);
  }, 60_000);

  test("an ordinary user is refused broker-to-broker requests with CLUSTER_AUTHORIZATION_FAILED", async () => {
    const leader = await cluster.quorumLeader();
    const internal = await connect(cluster.node(leader).controllerPort, as("alice"));
    const heartbeat = await internal.request(BrokerHeartbeatApi, { brokerId: 2, brokerEpoch: 1n, currentMetadataOffset: 0n, wantFence: true, wantShutDown: true }, { version: 1 });
    expect(heartbeat.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    const vote = await internal.request(VoteApi, { clusterId: null, topics: [] }, { version: 0 });
    expect(vote.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    expect((await replicaFetch(internal, 2)).errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    // The client listener: a replica Fetch needs CLUSTER_ACTION there too; a super user has it.
    const client = await connect(cluster.node(leader).kafkaPort, as("alice"));
    expect((await replicaFetch(client, 2)).errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    const admin = await connect(cluster.node(leader).kafkaPort, as("admin"));
    expect((await replicaFetch(admin, 2)).errorCode).not.toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    // Nothing changed: every node is still registered and unfenced.
    await cluster.waitForClusterView();
  }, 30_000);

  test("a broker that is not a voter finds the quorum through controller.quorum.bootstrap.servers over SASL_SSL", async () => {
    const observer = await cluster.addBroker();
    await cluster.waitForClusterView();
    expect((await cluster.metadata(observer)).brokers.map((broker) => broker.nodeId).sort()).toEqual([1, 2, 3, observer]);
  }, 60_000);

  test("a client without TLS, or without SASL, cannot use the internal listener", async () => {
    const port = cluster.node(1).controllerPort;
    await expect(connect(port, undefined)).rejects.toThrow();
    const tlsOnly = await connect(port, { tls: { ca: certs.read("ca.pem") } });
    // Before SASL only ApiVersions and the SASL requests are served: anything else closes the connection.
    await expect(tlsOnly.request(BrokerHeartbeatApi, { brokerId: 1, brokerEpoch: 1n, currentMetadataOffset: 0n, wantFence: false, wantShutDown: false }, { version: 1 })).rejects.toThrow();
  }, 30_000);
});
