// HTTP consumer instances (REST Proxy v2) and kafkajs consumers in one group, through the one group
// coordinator: the HTTP member shows in Kafka's DescribeGroups beside the kafkajs member, the
// partitions are split between them, and when the kafkajs member leaves the HTTP member takes
// every partition (a rebalance across both protocols' clients). Offsets committed over HTTP are
// the group's, seen by the v3 lag routes.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { Kafka, logLevel, type Consumer } from "kafkajs";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { clusterIdOf, eventually } from "./helpers.ts";

let broker: Broker;
let base: string;
let clusterId: string;

beforeAll(async () => {
  broker = await startBroker({ set: { "group.initial.rebalance.delay.ms": 0 } });
  base = broker.httpUrl;
  clusterId = await clusterIdOf(base);
});
afterAll(async () => {
  await broker?.stop();
});

const v2 = { "content-type": "application/vnd.kafka.v2+json" };

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${base}${path}`, { method: "POST", headers: v2, body: JSON.stringify(body) });
}

async function assignment(group: string, instance: string): Promise<number[]> {
  const response = await fetch(`${base}/consumers/${group}/instances/${instance}/assignments`);
  const body = (await response.json()) as { partitions: { partition: number }[] };
  return body.partitions.map((entry) => entry.partition).sort();
}

test("an HTTP consumer and a kafkajs consumer share a group: DescribeGroups, split, rebalance, lag", async () => {
  const topic = "shared";
  const group = "mixed-group";
  expect((await post(`/v3/clusters/${clusterId}/topics`, { topic_name: topic, partitions_count: 4 })).status).toBe(201);
  const created = await post(`/consumers/${group}`, { name: "web", format: "string", "auto.offset.reset": "earliest", "auto.commit.enable": "false" });
  expect(created.status).toBe(200);
  expect(((await created.json()) as any).base_uri).toEndWith(`/consumers/${group}/instances/web`);
  expect((await post(`/consumers/${group}/instances/web/subscription`, { topics: [topic] })).status).toBe(204);
  await eventually(async () => (await assignment(group, "web")).length === 4, 10000, "the HTTP member to own all 4 partitions");

  const kafka = new Kafka({ clientId: "mixed-kafkajs", brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const consumer: Consumer = kafka.consumer({ groupId: group, sessionTimeout: 10000, heartbeatInterval: 500 });
  const admin = kafka.admin();
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const kafkajsValues: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void kafkajsValues.push(message.value!.toString()) });
    // The HTTP member rejoins on its heartbeat; the group settles with 2 partitions each.
    await eventually(async () => (await assignment(group, "web")).length === 2, 20000, "the partitions to be split");
    await admin.connect();
    const described = await eventually(async () => {
      const { groups } = await admin.describeGroups([group]);
      return groups[0]!.state === "Stable" && groups[0]!.members.length === 2 ? groups[0]! : undefined;
    }, 20000, "a Stable group of 2");
    expect(described.members.map((member) => member.clientId).sort()).toEqual(["mixed-kafkajs", "runnel-http-web"]);

    // Records to every partition: each member gets its own partitions' records.
    const produced = await fetch(`${base}/v3/clusters/${clusterId}/topics/${topic}/records`, {
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
      body: [0, 1, 2, 3].map((partition) => JSON.stringify({ partition_id: partition, value: { type: "STRING", data: `p${partition}` } })).join("\n"),
    });
    expect((await produced.text()).split("\n").filter(Boolean).length).toBe(4);
    const mine = await assignment(group, "web");
    const httpValues = await eventually(async () => {
      const response = await fetch(`${base}/consumers/${group}/instances/web/records?timeout=1000`);
      const records = (await response.json()) as { value: string; partition: number; offset: number }[];
      return records.length > 0 ? records : undefined;
    }, 10000, "the HTTP member's records");
    expect(httpValues.map((record) => record.value).sort()).toEqual(mine.map((partition) => `p${partition}`));
    await eventually(() => kafkajsValues.length === 2, 10000, "kafkajs's records");
    expect([...kafkajsValues, ...httpValues.map((record) => record.value)].sort()).toEqual(["p0", "p1", "p2", "p3"]);

    // Commit over HTTP (the next offset, as Kafka): the group's lag for those partitions is 0.
    const commit = await post(`/consumers/${group}/instances/web/offsets`, { offsets: httpValues.map((record) => ({ topic, partition: record.partition, offset: record.offset + 1 })) });
    expect(commit.status).toBe(200);
    const lags = (await (await fetch(`${base}/v3/clusters/${clusterId}/consumer-groups/${group}/lags`)).json()) as { data: any[] };
    for (const partition of mine) {
      expect(lags.data.find((entry) => entry.partition_id === partition)).toMatchObject({ current_offset: 1, log_end_offset: 1, lag: 0, client_id: "runnel-http-web" });
    }
    const consumers = (await (await fetch(`${base}/v3/clusters/${clusterId}/consumer-groups/${group}/consumers`)).json()) as { data: any[] };
    expect(consumers.data.length).toBe(2);

    // kafkajs leaves: the HTTP member takes every partition.
    await consumer.disconnect();
    await eventually(async () => (await assignment(group, "web")).length === 4, 20000, "the HTTP member to take all partitions back");
  } finally {
    await consumer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
  expect((await fetch(`${base}/consumers/${group}/instances/web`, { method: "DELETE" })).status).toBe(204);
  const after = await eventually(async () => {
    const response = await fetch(`${base}/v3/clusters/${clusterId}/consumer-groups/${group}`);
    const body = (await response.json()) as { state: string };
    return body.state === "EMPTY" ? body : undefined;
  }, 10000, "the group to be empty");
  expect(after.state).toBe("EMPTY");
  expect((await fetch(`${base}/consumers/${group}/instances/web/records`)).status).toBe(404);
}, 90000);
