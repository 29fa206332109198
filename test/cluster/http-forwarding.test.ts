// HTTP requests for a partition this node does not lead are served through the leader
// (src/http/cluster-backend.ts), with three real broker processes: a replication-factor-3 topic
// whose partitions are led by different nodes takes records over HTTP at every node for every
// partition (one record per request, and streaming), and they read back byte-exact through kcat
// and through the HTTP read route of every node; partition offsets agree at every node. Then the
// leader of a partition is killed with kill -9 while an HTTP producer on another node keeps
// sending to it: every answer is a success or a retriable 5xx, and every success is in the log
// at the offset it was answered with. Consumer-group routes at a node that does not coordinate the
// group are answered through the coordinator (test/cluster/http-groups.test.ts goes further).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { offsetsPartitionFor } from "../../src/groups/index.ts";
import { run } from "../helpers/broker.ts";
import { startCluster, type TestCluster } from "./harness.ts";

const topic = "forwarded";
const partitions = 3;
let cluster: TestCluster;
let clusterId: string;

const base = (node: number) => `http://127.0.0.1:${cluster.node(node).httpPort}`;
const topicUrl = (node: number) => `${base(node)}/v3/clusters/${clusterId}/topics/${topic}`;
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

/** Deterministic bytes of every value 0-255 (newlines included). */
function bytesOf(seed: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed * 2654435761;
  for (let index = 0; index < length; index++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[index] = state >>> 24;
  }
  return bytes;
}

interface Leaders {
  leaders: number[];
  isr: number[][];
}

async function leadersVia(node: number): Promise<Leaders | undefined> {
  const metadata = await cluster.metadata(node);
  const found = metadata.topics.find((entry) => entry.name === topic);
  if (!found || found.partitions.length !== partitions) return undefined;
  const sorted = [...found.partitions].sort((left, right) => left.partitionIndex - right.partitionIndex);
  return { leaders: sorted.map((partition) => partition.leaderId), isr: sorted.map((partition) => [...partition.isrNodes]) };
}

interface Expected {
  partition: number;
  offset: number;
  value: Uint8Array;
}
const expected: Expected[] = [];

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3, http: true, proxies: true, set: { "offsets.topic.num.partitions": 3, "replica.lag.time.max.ms": 2000, "replica.fetch.wait.max.ms": 200 } });
  const clusters = (await (await fetch(`${base(1)}/v3/clusters`)).json()) as { data: { cluster_id: string }[] };
  clusterId = clusters.data[0]!.cluster_id;
  const created = await fetch(`${base(1)}/v3/clusters/${clusterId}/topics`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ topic_name: topic, partitions_count: partitions, replication_factor: 3, configs: [{ name: "min.insync.replicas", value: "2" }] }),
  });
  expect(created.status).toBe(201);
  // Every node's image has the topic with a leader per partition and a full ISR.
  for (const node of cluster.nodes) {
    await cluster.waitFor(`node ${node.id} sees ${topic} led with full ISRs`, async () => {
      const view = await leadersVia(node.id);
      return view && view.leaders.every((leader) => leader > 0) && view.isr.every((isr) => isr.length === 3) ? view : undefined;
    });
  }
}, 120_000);

afterAll(async () => {
  await cluster?.close();
});

describe("HTTP in a three-node cluster", () => {
  test("partitions are led by different nodes", async () => {
    const view = (await leadersVia(1))!;
    expect(new Set(view.leaders).size).toBeGreaterThan(1);
  });

  test("one record per request at every node, for every partition, acks=all", async () => {
    for (const node of cluster.nodes) {
      for (let partition = 0; partition < partitions; partition++) {
        const value = bytesOf(node.id * 100 + partition, 1 + node.id * 37 + partition);
        const response = await fetch(`${topicUrl(node.id)}/records?acks=all`, {
          method: "POST", headers: { "content-type": "application/json" },
          body: JSON.stringify({ partition_id: partition, value: { type: "BINARY", data: b64(value) } }),
        });
        const answer = (await response.json()) as { error_code: number; partition_id: number; offset: number; message?: string };
        expect({ node: node.id, partition, status: response.status, answer: answer.error_code }).toEqual({ node: node.id, partition, status: 200, answer: 200 });
        expect(answer.partition_id).toBe(partition);
        expected.push({ partition, offset: answer.offset, value });
      }
    }
  }, 60_000);

  test("streaming produce at every node, for every partition", async () => {
    for (const node of cluster.nodes) {
      for (let partition = 0; partition < partitions; partition++) {
        const values = Array.from({ length: 5 }, (_, index) => bytesOf(1000 + node.id * 100 + partition * 10 + index, 10 + index * 50));
        const body = values.map((value) => JSON.stringify({ partition_id: partition, value: { type: "BINARY", data: b64(value) } })).join("\n");
        const response = await fetch(`${topicUrl(node.id)}/records`, { method: "POST", headers: { "content-type": "application/x-ndjson" }, body });
        const answers = (await response.text()).trim().split("\n").map((line) => JSON.parse(line) as { error_code: number; offset: number; partition_id: number });
        expect(answers.map((answer) => answer.error_code), JSON.stringify(answers[0])).toEqual(values.map(() => 200));
        answers.forEach((answer, index) => expected.push({ partition, offset: answer.offset, value: values[index]! }));
      }
    }
  }, 60_000);

  test("offsets, reads through every node and kcat agree byte-exact", async () => {
    for (let partition = 0; partition < partitions; partition++) {
      const mine = expected.filter((entry) => entry.partition === partition).sort((left, right) => left.offset - right.offset);
      expect(mine.map((entry) => entry.offset)).toEqual(mine.map((_, index) => index));
      for (const node of cluster.nodes) {
        const partitionInfo = (await (await fetch(`${topicUrl(node.id)}/partitions/${partition}`)).json()) as Record<string, unknown>;
        expect(partitionInfo.partition_id).toBe(partition);
        const read = await fetch(`${topicUrl(node.id)}/partitions/${partition}/records?offset=0&max_bytes=1048576&timeout_ms=2000`);
        expect(read.status).toBe(200);
        const body = (await read.json()) as { records: { offset: number; value: { data: string } }[]; high_watermark: number; next_offset: number };
        expect({ node: node.id, partition, count: body.records.length, hw: body.high_watermark }).toEqual({ node: node.id, partition, count: mine.length, hw: mine.length });
        body.records.forEach((record, index) => {
          expect(record.offset).toBe(index);
          expect(Buffer.from(record.value.data, "base64").equals(Buffer.from(mine[index]!.value))).toBe(true);
        });
        // The offsets route of the read path (from=latest) at a node that may not lead.
        const latest = await fetch(`${topicUrl(node.id)}/partitions/${partition}/records?from=latest&timeout_ms=0`);
        expect(((await latest.json()) as { next_offset: number }).next_offset).toBe(mine.length);
      }
      // kcat (librdkafka) through the Kafka protocol: hex of every value, in offset order.
      const consumed = await readWithKcatHex(partition);
      expect(consumed).toEqual(mine.map((entry) => Buffer.from(entry.value).toString("hex")));
    }
  }, 90_000);

  test("a v2 consumer instance fetches every partition, led anywhere, byte-exact", async () => {
    // A group unknown so far (coordinated by any node): its instance lives on node 1; partitions led by 2 and 3 are fetched through them.
    let group = "";
    for (let index = 0; index < 30 && group === ""; index++) {
      const response = await fetch(`${base(1)}/v3/clusters/${clusterId}/consumer-groups/http-reader-${index}`);
      if (response.status === 404) group = `http-reader-${index}`;
    }
    expect(group).not.toBe("");
    const headers = { "content-type": "application/vnd.kafka.v2+json" };
    const created = await fetch(`${base(1)}/consumers/${group}`, { method: "POST", headers, body: JSON.stringify({ name: "reader", format: "binary", "auto.offset.reset": "earliest" }) });
    expect(created.status).toBe(200);
    const instance = `${base(1)}/consumers/${group}/instances/reader`;
    expect((await fetch(`${instance}/subscription`, { method: "POST", headers, body: JSON.stringify({ topics: [topic] }) })).status).toBe(204);
    const seen = new Map<string, string>();
    await cluster.waitFor("every record through the consumer instance", async () => {
      const response = await fetch(`${instance}/records?timeout=1000&max_bytes=1048576`);
      if (response.status !== 200) return undefined;
      for (const record of (await response.json()) as { partition: number; offset: number; value: string }[]) seen.set(`${record.partition}/${record.offset}`, record.value);
      return seen.size >= expected.length ? true : undefined;
    });
    for (const entry of expected) expect(seen.get(`${entry.partition}/${entry.offset}`)).toBe(b64(entry.value));
    expect((await fetch(instance, { method: "DELETE" })).status).toBe(204);
  }, 60_000);

  test("a group coordinated elsewhere is answered through its coordinator, as at the coordinator", async () => {
    // Groups whose coordinator (leader of their __consumer_offsets partition) is not node 1 among them.
    const metadata = await cluster.metadata(1);
    const offsets = metadata.topics.find((entry) => entry.name === "__consumer_offsets")!;
    const leaders = new Map(offsets.partitions.map((entry) => [entry.partitionIndex, entry.leaderId]));
    let elsewhere = 0;
    for (let index = 0; index < 12; index++) {
      const group = `http-group-${index}`;
      const coordinator = leaders.get(offsetsPartitionFor(group, offsets.partitions.length))!;
      if (coordinator !== 1) elsewhere++;
      // Unknown everywhere: 404 at node 1 as at the coordinator (no 421: the request is forwarded).
      expect((await fetch(`${base(1)}/v3/clusters/${clusterId}/consumer-groups/${group}`)).status).toBe(404);
      expect((await fetch(`${base(coordinator)}/v3/clusters/${clusterId}/consumer-groups/${group}`)).status).toBe(404);
    }
    expect(elsewhere).toBeGreaterThan(0);
  }, 30_000);

  test("/readyz: 503 while a node is cut off from the controller (fenced), 200 again once healed", async () => {
    const quorumLeader = await cluster.quorumLeader();
    const cut = cluster.nodes.find((node) => node.id !== quorumLeader)!.id;
    const readyz = async (node: number) => (await fetch(`${base(node)}/readyz`)).status;
    for (const node of cluster.nodes) expect(await readyz(node.id)).toBe(200);
    cluster.network!.isolate(cut);
    try {
      await cluster.waitFor(`node ${cut} not ready while cut off`, async () => ((await readyz(cut)) === 503 ? true : undefined), 20_000);
      expect(await readyz(quorumLeader)).toBe(200);
    } finally {
      cluster.network!.heal();
    }
    await cluster.waitFor(`node ${cut} ready again`, async () => ((await readyz(cut)) === 200 ? true : undefined), 30_000);
    for (const node of cluster.nodes) {
      await cluster.waitFor(`node ${node.id} sees full ISRs again`, async () => {
        const view = await leadersVia(node.id);
        return view && view.leaders.every((leader) => leader > 0) && view.isr.every((isr) => isr.length === 3) ? view : undefined;
      });
    }
  }, 90_000);

  test("kill -9 of a leader mid-stream: every answer is a success or a retriable error, and no success is lost", async () => {
    const view = (await leadersVia(1))!;
    const partition = 0;
    const victim = view.leaders[partition]!;
    const via = cluster.nodes.find((node) => node.id !== victim)!.id;
    const before = expected.filter((entry) => entry.partition === partition).length;
    const acknowledged: Expected[] = [];
    const statuses = new Map<number, number>();
    let stop = false;
    const producing = (async () => {
      for (let index = 0; !stop && index < 2000; index++) {
        const value = bytesOf(50_000 + index, 64);
        const response = await fetch(`${topicUrl(via)}/records?acks=all`, {
          method: "POST", headers: { "content-type": "application/json" },
          body: JSON.stringify({ partition_id: partition, value: { type: "BINARY", data: b64(value) } }),
        });
        const answer = (await response.json()) as { error_code: number; offset: number };
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status === 200) acknowledged.push({ partition, offset: answer.offset, value });
        else expect(response.status).toBe(503);
      }
    })();
    await cluster.waitFor("some records through the old leader", () => (acknowledged.length >= 20 ? true : undefined));
    await cluster.kill(victim);
    const countAtKill = acknowledged.length;
    // Until a new leader took over and the producer got records through it.
    await cluster.waitFor("records acknowledged after the kill", async () => {
      const now = await leadersVia(via);
      return now && now.leaders[partition] !== victim && now.leaders[partition]! > 0 && acknowledged.length >= countAtKill + 20 ? true : undefined;
    }, 60_000);
    stop = true;
    await producing;
    console.log(`kill -9 of node ${victim} (leader of ${topic}-${partition}) while producing via node ${via}: answers by status ${JSON.stringify(Object.fromEntries(statuses))}`);
    // Every acknowledged record is in the new leader's log at its offset, byte-exact.
    const all = [...expected.filter((entry) => entry.partition === partition), ...acknowledged];
    const stored = await cluster.waitFor("a full read of the partition", async () => {
      const response = await fetch(`${topicUrl(via)}/partitions/${partition}/records?offset=0&max_bytes=16777216`);
      if (response.status !== 200) return undefined;
      const body = (await response.json()) as { records: { offset: number; value: { data: string } }[] };
      return new Map(body.records.map((record) => [record.offset, record.value.data]));
    });
    for (const entry of all) expect({ offset: entry.offset, value: stored.get(entry.offset) }).toEqual({ offset: entry.offset, value: b64(entry.value) });
    expect(all.length).toBeGreaterThan(before);

    // /metrics of the new leader: the partition's ISR is down to 2 of 3 (the dead node was dropped),
    // so it counts as under-replicated; nothing is offline.
    const newLeader = (await leadersVia(via))!.leaders[partition]!;
    const metrics = await cluster.waitFor("under-replicated partitions on the new leader", async () => {
      const text = await (await fetch(`${base(newLeader)}/metrics`)).text();
      return /^kafka_server_replicamanager_underreplicatedpartitions [1-9]/m.test(text) ? text : undefined;
    });
    expect(metrics).toContain(`kafka_cluster_partition_insyncreplicascount{topic="${topic}",partition="${partition}"} 2`);
    expect(metrics).toContain(`kafka_cluster_partition_replicascount{topic="${topic}",partition="${partition}"} 3`);
    expect(metrics).toContain(`kafka_cluster_partition_underreplicated{topic="${topic}",partition="${partition}"} 1`);
    expect(metrics).toMatch(/^kafka_controller_kafkacontroller_offlinepartitionscount 0$/m);
  }, 120_000);
});

/** Values of one partition through kcat, hex (kcat prints raw bytes; -f with %s would mangle newlines). */
async function readWithKcatHex(partition: number): Promise<string[]> {
  const { stdout } = await run(["kcat", "-b", cluster.bootstrap, "-X", "broker.address.family=v4", "-C", "-t", topic, "-p", String(partition), "-e", "-q", "-o", "beginning", "-f", "%S:%s"], { timeoutMs: 30_000 });
  return splitSized(stdout);
}

/** Splits kcat's "%S:%s" output (value size, colon, raw value bytes) into hex values. */
function splitSized(output: Uint8Array): string[] {
  const bytes = Buffer.from(output);
  const values: string[] = [];
  let position = 0;
  while (position < bytes.length) {
    const colon = bytes.indexOf(0x3a, position);
    const size = Number(bytes.subarray(position, colon).toString("latin1"));
    values.push(bytes.subarray(colon + 1, colon + 1 + size).toString("hex"));
    position = colon + 1 + size;
  }
  return values;
}
