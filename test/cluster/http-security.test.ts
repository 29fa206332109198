// HTTP forwarding in a secured cluster (three real broker processes): Kafka listeners and the
// internal listener are SASL_PLAINTEXT with SCRAM (nodes log in as User:broker), the authorizer is
// on, and the HTTP API takes Basic credentials. A request at node 1 for a partition led by node 2
// or 3, or for a group they coordinate, is authorized at node 1 with the caller's principal, then
// forwarded over the internal listener as node 1 (trusted there, as for forwarded admin
// requests): the caller's password never leaves node 1. So admin (a super user) produces to and reads every partition through node 1 and
// consumes in a group coordinated elsewhere; bob, who has no ACL, is refused at node 1 (403) for
// a partition led elsewhere as for one led there; no credentials is 401.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ClientSecurity } from "../../src/client/security.ts";
import { offsetsPartitionFor } from "../../src/groups/index.ts";
import { startCluster, type TestCluster } from "./harness.ts";

const topic = "guarded";
const partitions = 3;
const offsetsPartitions = 3;
const adminSecurity: ClientSecurity = { sasl: { mechanism: "SCRAM-SHA-512", username: "admin", password: "admin-secret" } };
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
const admin = { authorization: basic("admin", "admin-secret") };
const bob = { authorization: basic("bob", "bob-secret") };
let cluster: TestCluster;
let clusterId: string;
const base = (node: number) => `http://127.0.0.1:${cluster.node(node).httpPort}`;

async function leaderOf(name: string, partition: number): Promise<number> {
  const metadata = await cluster.metadata(1);
  return metadata.topics.find((entry) => entry.name === name)?.partitions.find((entry) => entry.partitionIndex === partition)?.leaderId ?? -1;
}

function produce(headers: Record<string, string>, partition: number, value: string): Promise<Response> {
  return fetch(`${base(1)}/v3/clusters/${clusterId}/topics/${topic}/records?acks=all`, {
    method: "POST", headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ partition_id: partition, value: { type: "STRING", data: value } }),
  });
}

beforeAll(async () => {
  cluster = await startCluster({
    nodes: 3, http: true, kafkaProtocol: "SASL_PLAINTEXT", controllerProtocol: "SASL_PLAINTEXT", clientSecurity: adminSecurity,
    set: {
      "sasl.enabled.mechanisms": "SCRAM-SHA-512",
      "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
      "sasl.jaas.config": 'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="broker-secret";',
      "bootstrap.scram.users": ["admin", "bob", "broker"].map((name) => `SCRAM-SHA-512=[name=${name},password=${name}-secret,iterations=4096]`).join(";"),
      "super.users": "User:admin;User:broker",
      "http.authentication.methods": "basic",
      "offsets.topic.num.partitions": offsetsPartitions,
      "group.initial.rebalance.delay.ms": 0,
    },
  });
  const clusters = await fetch(`${base(1)}/v3/clusters`, { headers: admin });
  expect(clusters.status).toBe(200);
  clusterId = ((await clusters.json()) as { data: { cluster_id: string }[] }).data[0]!.cluster_id;
  const created = await fetch(`${base(1)}/v3/clusters/${clusterId}/topics`, {
    method: "POST", headers: { "content-type": "application/json", ...admin },
    body: JSON.stringify({ topic_name: topic, partitions_count: partitions, replication_factor: 3 }),
  });
  expect(created.status).toBe(201);
  await cluster.waitFor("every partition led", async () => {
    const leaders = await Promise.all(Array.from({ length: partitions }, (_, partition) => leaderOf(topic, partition)));
    return leaders.every((leader) => leader > 0) ? leaders : undefined;
  });
}, 120_000);

afterAll(async () => {
  await cluster?.close();
});

describe("HTTP through node 1 of a SASL cluster with the authorizer on", () => {
  test("admin produces to and reads every partition, led by any node", async () => {
    const leaders = await Promise.all(Array.from({ length: partitions }, (_, partition) => leaderOf(topic, partition)));
    expect(leaders.some((leader) => leader !== 1)).toBe(true);
    for (let partition = 0; partition < partitions; partition++) {
      for (let index = 0; index < 3; index++) {
        const response = await produce(admin, partition, `p${partition}-${index}`);
        expect({ partition, leader: leaders[partition], status: response.status, body: response.status === 200 ? "" : await response.text() })
          .toEqual({ partition, leader: leaders[partition], status: 200, body: "" });
      }
      const read = await fetch(`${base(1)}/v3/clusters/${clusterId}/topics/${topic}/partitions/${partition}/records?offset=0&timeout_ms=2000`, { headers: admin });
      expect(read.status).toBe(200);
      const body = (await read.json()) as { records: { value: { data: string } }[] };
      expect(body.records.map((record) => Buffer.from(record.value.data, "base64").toString())).toEqual([0, 1, 2].map((index) => `p${partition}-${index}`));
    }
  }, 60_000);

  test("bob (no ACL) is refused at node 1 for a partition led elsewhere; no credentials is 401", async () => {
    let elsewhere = -1;
    for (let partition = 0; partition < partitions && elsewhere < 0; partition++) if ((await leaderOf(topic, partition)) !== 1) elsewhere = partition;
    expect(elsewhere).toBeGreaterThanOrEqual(0);
    const refused = await produce(bob, elsewhere, "not-allowed");
    expect(refused.status).toBe(403);
    expect((await produce({}, elsewhere, "anonymous")).status).toBe(401);
    // Nothing of theirs was written.
    const read = await fetch(`${base(1)}/v3/clusters/${clusterId}/topics/${topic}/partitions/${elsewhere}/records?offset=0&timeout_ms=0`, { headers: admin });
    const values = ((await read.json()) as { records: { value: { data: string } }[] }).records.map((record) => Buffer.from(record.value.data, "base64").toString());
    expect(values.length).toBeGreaterThan(0);
    expect(values).not.toContain("not-allowed");
    expect(values).not.toContain("anonymous");
  }, 30_000);

  test("a consumer instance on node 1 in a group coordinated elsewhere reads every record", async () => {
    await cluster.waitFor("__consumer_offsets led", async () => {
      await fetch(`${base(1)}/v3/clusters/${clusterId}/consumer-groups/probe`, { headers: admin });
      const leaders = await Promise.all(Array.from({ length: offsetsPartitions }, (_, partition) => leaderOf("__consumer_offsets", partition)));
      return leaders.every((leader) => leader > 0) ? true : undefined;
    }, 60_000);
    let group = "";
    for (let index = 0; index < 100 && group === ""; index++) {
      if ((await leaderOf("__consumer_offsets", offsetsPartitionFor(`secure-${index}`, offsetsPartitions))) > 1) group = `secure-${index}`;
    }
    expect(group).not.toBe("");
    const v2 = { "content-type": "application/vnd.kafka.v2+json", ...admin };
    expect((await fetch(`${base(1)}/consumers/${group}`, { method: "POST", headers: v2, body: JSON.stringify({ name: "reader", format: "string", "auto.offset.reset": "earliest" }) })).status).toBe(200);
    const instance = `${base(1)}/consumers/${group}/instances/reader`;
    expect((await fetch(`${instance}/subscription`, { method: "POST", headers: v2, body: JSON.stringify({ topics: [topic] }) })).status).toBe(204);
    const seen = new Set<string>();
    await cluster.waitFor("every record through the consumer instance", async () => {
      const response = await fetch(`${instance}/records?timeout=500`, { headers: { accept: "application/vnd.kafka.json.v2+json", ...admin } });
      if (response.status !== 200) throw new Error(`${response.status} ${await response.text()}`);
      for (const record of (await response.json()) as { value: string }[]) seen.add(record.value);
      return seen.size >= partitions * 3 ? true : undefined;
    }, 30_000);
    expect(seen.size).toBe(partitions * 3);
    expect((await fetch(`${instance}/offsets`, { method: "POST", headers: v2, body: "" })).status).toBe(200);
    const described = (await (await fetch(`${base(1)}/v3/clusters/${clusterId}/consumer-groups/${group}/consumers`, { headers: admin })).json()) as { data: { client_id: string }[] };
    expect(described.data.map((member) => member.client_id)).toEqual(["runnel-http-reader"]);
    expect((await fetch(instance, { method: "DELETE", headers: admin })).status).toBe(204);
  }, 90_000);
});
