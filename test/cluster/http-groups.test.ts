// Group consumption over HTTP in a three-node cluster (src/http/group-forwarding.ts): an HTTP
// consumer instance on node 1 in a group whose coordinator is another node (2 or 3), beside a
// kafkajs member of the same group. Both show in Kafka's DescribeGroups (kafkajs admin, and the v3
// route on node 1), they split the partitions, each reads its own, a commit over HTTP is the
// group's (seen by kafkajs' fetchOffsets). Then the coordinator is killed with kill -9: the HTTP
// member goes on — it is still a member at the new coordinator, reads records produced after the
// kill, and commits again.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Kafka, logLevel, type Admin, type Consumer } from "kafkajs";
import { offsetsPartitionFor } from "../../src/groups/index.ts";
import { startCluster, type TestCluster } from "./harness.ts";

const topic = "http-groups";
const partitions = 4;
const offsetsPartitions = 3;
let cluster: TestCluster;
let clusterId: string;
let group = "";
let coordinator = 0;
let kafkajs: Consumer | null = null;
let admin: Admin | null = null;
const kafkajsValues = new Set<string>();

const base = (node: number) => `http://127.0.0.1:${cluster.node(node).httpPort}`;
const v2 = { "content-type": "application/vnd.kafka.v2+json" };
const instance = () => `${base(1)}/consumers/${group}/instances/web`;

async function leaderOf(node: number, name: string, partition: number): Promise<number> {
  const metadata = await cluster.metadata(node);
  return metadata.topics.find((entry) => entry.name === name)?.partitions.find((entry) => entry.partitionIndex === partition)?.leaderId ?? -1;
}

async function produce(values: string[]): Promise<void> {
  for (const [index, value] of values.entries()) {
    const response = await fetch(`${base(1)}/v3/clusters/${clusterId}/topics/${topic}/records?acks=all`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ partition_id: index % partitions, value: { type: "STRING", data: value } }),
    });
    expect({ value, status: response.status }).toEqual({ value, status: 200 });
  }
}

async function httpAssignment(): Promise<number[]> {
  const response = await fetch(`${instance()}/assignments`);
  if (response.status !== 200) return [];
  const body = (await response.json()) as { partitions: { partition: number }[] };
  return body.partitions.map((entry) => entry.partition).sort();
}

/** Records the HTTP member fetches in one request: "partition/offset" → value. */
async function httpFetch(into: Map<string, string>): Promise<void> {
  const response = await fetch(`${instance()}/records?timeout=500&max_bytes=1048576`, { headers: { accept: "application/vnd.kafka.json.v2+json" } });
  if (response.status !== 200) return;
  for (const record of (await response.json()) as { partition: number; offset: number; value: string }[]) into.set(`${record.partition}/${record.offset}`, record.value);
}

let lastDescribed = "";
async function describedMembers(): Promise<{ state: string; members: { clientId: string; memberId: string }[] } | undefined> {
  const { groups } = await admin!.describeGroups([group]);
  const described = groups[0];
  lastDescribed = JSON.stringify({ state: described?.state, members: described?.members.map((member) => [member.clientId, member.memberId]) });
  return described && described.state === "Stable" && described.members.length === 2 ? described : undefined;
}

beforeAll(async () => {
  cluster = await startCluster({
    nodes: 3, http: true,
    set: { "offsets.topic.num.partitions": offsetsPartitions, "offsets.topic.replication.factor": 3, "group.initial.rebalance.delay.ms": 0, "replica.lag.time.max.ms": 2000 },
  });
  clusterId = ((await (await fetch(`${base(1)}/v3/clusters`)).json()) as { data: { cluster_id: string }[] }).data[0]!.cluster_id;
  const created = await fetch(`${base(1)}/v3/clusters/${clusterId}/topics`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ topic_name: topic, partitions_count: partitions, replication_factor: 3, configs: [{ name: "min.insync.replicas", value: "2" }] }),
  });
  expect(created.status).toBe(201);
  // Asking node 1 about a group creates __consumer_offsets (as FindCoordinator does).
  await cluster.waitFor("__consumer_offsets led on every partition", async () => {
    await fetch(`${base(1)}/v3/clusters/${clusterId}/consumer-groups/probe`);
    const leaders = await Promise.all(Array.from({ length: offsetsPartitions }, (_, partition) => leaderOf(1, "__consumer_offsets", partition)));
    return leaders.every((leader) => leader > 0) ? leaders : undefined;
  }, 60_000);
  // A group whose coordinator (leader of its __consumer_offsets partition) is not node 1.
  for (let index = 0; index < 100 && group === ""; index++) {
    const candidate = `mixed-${index}`;
    const leader = await leaderOf(1, "__consumer_offsets", offsetsPartitionFor(candidate, offsetsPartitions));
    if (leader > 1) {
      group = candidate;
      coordinator = leader;
    }
  }
  expect(coordinator).toBeGreaterThan(1);
}, 120_000);

/** kafkajs' disconnect can wait long on a broker killed under it: bounded, the cluster closes regardless. */
function bounded(promise: Promise<unknown> | undefined): Promise<unknown> {
  return Promise.race([promise?.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 5000))]);
}

afterAll(async () => {
  await bounded(kafkajs?.disconnect());
  await bounded(admin?.disconnect());
  await cluster?.close();
}, 60_000);

describe("an HTTP consumer instance in a group coordinated by another node", () => {
  const before = Array.from({ length: 40 }, (_, index) => `before-${index}`);
  const httpSeen = new Map<string, string>();

  test("joins beside a kafkajs member: both in DescribeGroups, partitions split, each reads its own", async () => {
    const created = await fetch(`${base(1)}/consumers/${group}`, {
      method: "POST", headers: v2,
      body: JSON.stringify({ name: "web", format: "string", "auto.offset.reset": "earliest", "auto.commit.enable": "false", "session.timeout.ms": "10000" }),
    });
    expect(created.status).toBe(200);
    expect((await fetch(`${instance()}/subscription`, { method: "POST", headers: v2, body: JSON.stringify({ topics: [topic] }) })).status).toBe(204);
    await cluster.waitFor("the HTTP member to own every partition", async () => ((await httpAssignment()).length === partitions ? true : undefined));

    const kafka = new Kafka({ clientId: "mixed-kafkajs", brokers: cluster.bootstrap.split(","), logLevel: process.env.KAFKAJS_DEBUG ? logLevel.INFO : logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
    admin = kafka.admin();
    await admin.connect();
    kafkajs = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
    await kafkajs.connect();
    await kafkajs.subscribe({ topic, fromBeginning: true });
    await kafkajs.run({ eachMessage: async ({ message }) => void kafkajsValues.add(message.value!.toString()) });

    const described = await cluster.waitFor("a Stable group of two members", describedMembers, 40_000);
    expect(described.members.map((member) => member.clientId).sort()).toEqual(["mixed-kafkajs", "runnel-http-web"]);
    // The v3 route on node 1 (which does not coordinate the group) answers the same members.
    const viaHttp = (await (await fetch(`${base(1)}/v3/clusters/${clusterId}/consumer-groups/${group}/consumers`)).json()) as { data: { client_id: string; assignments: { partition_id: number }[] }[] };
    expect(viaHttp.data.map((member) => member.client_id).sort()).toEqual(["mixed-kafkajs", "runnel-http-web"]);
    const split = viaHttp.data.map((member) => member.assignments.map((entry) => entry.partition_id)).flat().sort();
    expect(split).toEqual([0, 1, 2, 3]);
    const mine = await cluster.waitFor("the HTTP member's half", async () => {
      const assigned = await httpAssignment();
      return assigned.length === 2 ? assigned : undefined;
    });

    await produce(before);
    await cluster.waitFor("every record read by one member or the other", async () => {
      await httpFetch(httpSeen);
      const union = new Set([...httpSeen.values(), ...kafkajsValues]);
      return before.every((value) => union.has(value)) ? true : undefined;
    }, 30_000);
    // The HTTP member read only from its own partitions; between them they read everything.
    for (const key of httpSeen.keys()) expect(mine).toContain(Number(key.split("/")[0]));
    expect(httpSeen.size).toBeGreaterThan(0);
    expect(kafkajsValues.size).toBeGreaterThan(0);
  }, 120_000);

  test("a commit over HTTP is the group's offset at the coordinator", async () => {
    const committed = await fetch(`${instance()}/offsets`, { method: "POST", headers: v2, body: "" });
    expect(committed.status).toBe(200);
    const positions = new Map<number, number>();
    for (const key of httpSeen.keys()) {
      const [partition, offset] = key.split("/").map(Number) as [number, number];
      positions.set(partition, Math.max(positions.get(partition) ?? 0, offset + 1));
    }
    const offsets = await admin!.fetchOffsets({ groupId: group, topics: [topic] });
    for (const [partition, next] of positions) {
      expect({ partition, offset: offsets[0]!.partitions.find((entry) => entry.partition === partition)?.offset }).toEqual({ partition, offset: String(next) });
    }
    // And node 1's v2 offsets route reads them back through the coordinator.
    const readBack = (await (await fetch(`${instance()}/offsets`)).json()) as { offsets: { partition: number; offset: number }[] };
    for (const [partition, next] of positions) expect(readBack.offsets.find((entry) => entry.partition === partition)?.offset).toBe(next);
  }, 30_000);

  test("kill -9 of the coordinator: the HTTP member carries on at the new one", async () => {
    await cluster.kill(coordinator);
    const successor = await cluster.waitFor("a new coordinator", async () => {
      const leader = await leaderOf(1, "__consumer_offsets", offsetsPartitionFor(group, offsetsPartitions));
      return leader > 0 && leader !== coordinator ? leader : undefined;
    }, 60_000);
    const after = Array.from({ length: 40 }, (_, index) => `after-${index}`);
    await produce(after);
    const seenAfter = new Map<string, string>();
    await cluster.waitFor("every record produced after the kill read by one member or the other", async () => {
      await httpFetch(seenAfter);
      const union = new Set([...seenAfter.values(), ...kafkajsValues]);
      return after.every((value) => union.has(value)) ? true : undefined;
    }, 60_000);
    // The HTTP member is a member at the new coordinator. (kafkajs 2 may keep reconnecting to the
    // dead coordinator instead of finding the new one, and drop out of the group when its session
    // expires: seen in some runs, with nothing in its log but ECONNREFUSED; so only the HTTP member
    // is required to be there — then it holds every partition.)
    const described = await cluster.waitFor("the HTTP member in a Stable group at the new coordinator", async () => {
      const { groups } = await admin!.describeGroups([group]);
      const found = groups[0];
      lastDescribed = JSON.stringify({ state: found?.state, members: found?.members.map((member) => member.clientId) });
      return found?.state === "Stable" && found.members.some((member) => member.clientId === "runnel-http-web") ? found : undefined;
    }, 40_000).catch((error) => {
      throw new Error(`${String(error)}; last described ${lastDescribed}`);
    });
    const kafkajsStayed = described.members.some((member) => member.clientId === "mixed-kafkajs");
    expect([...seenAfter.values()].some((value) => value.startsWith("after-"))).toBe(true);
    const committed = await fetch(`${instance()}/offsets`, { method: "POST", headers: v2, body: "" });
    expect(committed.status).toBe(200);
    const readBack = (await (await fetch(`${instance()}/offsets`)).json()) as { offsets: { partition: number; offset: number }[] };
    expect(readBack.offsets.some((entry) => entry.offset > 0)).toBe(true);
    console.log(`group ${group}: coordinator ${coordinator} killed, ${successor} took over; the HTTP member read ${seenAfter.size} of ${after.length} records produced after the kill; kafkajs ${kafkajsStayed ? "stayed in the group" : "dropped out"}`);
    // Closing the instance leaves the group at the new coordinator.
    expect((await fetch(instance(), { method: "DELETE" })).status).toBe(204);
    await cluster.waitFor("the HTTP member gone from the group", async () => {
      const { groups } = await admin!.describeGroups([group]);
      return groups[0]!.members.every((member) => member.clientId !== "runnel-http-web") ? true : undefined;
    }, 30_000);
  }, 180_000);
});
