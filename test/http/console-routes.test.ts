// The web console's server side, without a browser, against real broker processes: / redirects to
// /ui; the page, script and styles are served (gzip when accepted, ETag revalidation, a strict
// Content-Security-Policy) and are hidden from /openapi.json; the embedded benchmark reports and
// plots; http.console.enable=false turns all of it off (404). And the two API additions the console
// uses: topics ?include_partitions=true and consumer-groups …/offsets:reset (dry run by default,
// refused while the group has members, applied to an empty group).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gunzipSync } from "node:zlib";
import { Kafka, logLevel } from "kafkajs";
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

const v3 = (path: string) => `${base}/v3/clusters/${clusterId}${path}`;
const post = (path: string, body: unknown) => fetch(v3(path), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("console routes", () => {
  test("/ redirects to /ui, which serves the page with a strict CSP", async () => {
    const root = await fetch(`${base}/`, { redirect: "manual" });
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/ui");
    for (const path of ["/ui", "/ui/"]) {
      const page = await fetch(`${base}${path}`);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
      const html = await page.text();
      expect(html).toContain('<script type="module" src="/ui/app.js">');
      expect(html).not.toMatch(/https?:\/\//); // nothing from elsewhere
    }
  });

  test("script and styles: gzip when accepted, identical bytes, ETag revalidation", async () => {
    for (const [path, type] of [["/ui/app.js", "text/javascript"], ["/ui/app.css", "text/css"]] as const) {
      const plain = await fetch(`${base}${path}`, { headers: { "accept-encoding": "identity" }, decompress: false } as RequestInit);
      const body = new Uint8Array(await plain.arrayBuffer());
      expect(plain.headers.get("content-type")).toStartWith(type);
      expect(plain.headers.get("content-encoding")).toBeNull();
      const zipped = await fetch(`${base}${path}`, { headers: { "accept-encoding": "gzip" }, decompress: false } as RequestInit);
      expect(zipped.headers.get("content-encoding")).toBe("gzip");
      const compressed = new Uint8Array(await zipped.arrayBuffer());
      expect(compressed.length).toBeLessThan(body.length);
      expect(new Uint8Array(gunzipSync(compressed))).toEqual(body);
      const etag = plain.headers.get("etag")!;
      expect(etag).toMatch(/^"[0-9a-z]+"$/);
      expect((await fetch(`${base}${path}`, { headers: { "if-none-match": etag } })).status).toBe(304);
    }
    // Page weight of a first visit (page, script, styles), as sent: reported, and held under a budget.
    let raw = 0;
    let gzip = 0;
    for (const path of ["/ui", "/ui/app.js", "/ui/app.css"]) {
      raw += (await (await fetch(`${base}${path}`, { headers: { "accept-encoding": "identity" } })).arrayBuffer()).byteLength;
      gzip += (await (await fetch(`${base}${path}`, { headers: { "accept-encoding": "gzip" }, decompress: false } as RequestInit)).arrayBuffer()).byteLength;
    }
    console.log(`web console first visit: ${raw} bytes, ${gzip} bytes gzip-compressed`);
    expect(gzip).toBeLessThan(32 * 1024);
    // The bundle is the client, minified: no TypeScript left, no source paths.
    const script = await (await fetch(`${base}/ui/app.js`)).text();
    expect(script).toContain("EventSource");
    expect(script).not.toContain("import type");
    expect(script).not.toContain("/work/");
  });

  test("the committed benchmark reports and plots are embedded", async () => {
    const reports = (await (await fetch(`${base}/ui/bench.json`)).json()) as { files: Record<string, string> };
    expect(Object.keys(reports.files)).toContain("summary.md");
    expect(reports.files["produce.md"]).toContain("| partitions |");
    const plot = await fetch(`${base}/ui/bench/produce-produce-latency.svg`);
    expect(plot.status).toBe(200);
    expect(plot.headers.get("content-type")).toBe("image/svg+xml");
    expect(await plot.text()).toStartWith("<svg");
    expect((await fetch(`${base}/ui/bench/nope.svg`)).status).toBe(404);
  });

  test("the broker keeps the graphs' history from the first visit on", async () => {
    const answer = await fetch(`${base}/ui/metrics-history`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("cache-control")).toBe("no-store");
    const body = (await answer.json()) as { interval_ms: number; points: unknown[] };
    expect(body.interval_ms).toBe(5000);
    expect(Array.isArray(body.points)).toBe(true); // filled every 5 s (the sampling itself: console-client.test.ts)
  });

  test("console routes stay out of the OpenAPI description; the API additions are in it", async () => {
    const document = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    const paths = Object.keys(document.paths);
    expect(paths.filter((path) => path === "/" || path.startsWith("/ui"))).toEqual([]);
    expect(paths).toContain("/v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/offsets:reset");
  });

  test("http.console.enable=false: /, /ui and its files answer 404; the API still works", async () => {
    const off = await startBroker({ set: { "http.console.enable": false } });
    try {
      for (const path of ["/", "/ui", "/ui/app.js", "/ui/bench.json"]) {
        expect({ path, status: (await fetch(`${off.httpUrl}${path}`, { redirect: "manual" })).status }).toEqual({ path, status: 404 });
      }
      expect((await fetch(`${off.httpUrl}/v3/clusters`)).status).toBe(200);
    } finally {
      await off.stop();
    }
  });
});

describe("topics ?include_partitions", () => {
  test("every topic with its partitions' leaders, replicas and offsets in one answer", async () => {
    expect((await post("/topics", { topic_name: "listed", partitions_count: 3 })).status).toBe(201);
    expect((await post("/topics/listed/records", { partition_id: 1, value: { type: "STRING", data: "x" } })).status).toBe(200);
    const plain = (await (await fetch(v3("/topics"))).json()) as { data: Record<string, unknown>[] };
    expect(plain.data.find((topic) => topic.topic_name === "listed")!.partition_details).toBeUndefined();
    const full = (await (await fetch(v3("/topics?include_partitions=true"))).json()) as { data: { topic_name: string; partition_details: { partition_id: number; leader_id: number; high_watermark: number }[] }[] };
    const listed = full.data.find((topic) => topic.topic_name === "listed")!;
    expect(listed.partition_details.map((partition) => [partition.partition_id, partition.leader_id, partition.high_watermark])).toEqual([[0, 1, 0], [1, 1, 1], [2, 1, 0]]);
    expect((await fetch(v3("/topics?include_partitions=maybe"))).status).toBe(400);
  });
});

describe("consumer-groups …/offsets:reset", () => {
  test("dry run by default, 409 while the group has members, applied once it is empty", async () => {
    const topic = "resettable";
    const group = "reset-group";
    expect((await post("/topics", { topic_name: topic, partitions_count: 2 })).status).toBe(201);
    for (const partition of [0, 0, 0, 1, 1]) expect((await post(`/topics/${topic}/records`, { partition_id: partition, value: { type: "STRING", data: "r" } })).status).toBe(200);
    const kafka = new Kafka({ clientId: "reset-test", brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10000, heartbeatInterval: 500, maxWaitTimeInMs: 100 });
    await admin.connect();
    try {
      await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: "2" }, { partition: 1, offset: "1" }] });
      const committed = async () => Object.fromEntries((await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]!.partitions.map((entry) => [entry.partition, entry.offset]));
      expect(await committed()).toEqual({ 0: "2", 1: "1" });

      const dryRun = await post(`/consumer-groups/${group}/offsets:reset`, { to: "shift", shift_by: -5 });
      expect(dryRun.status).toBe(200);
      const plan = (await dryRun.json()) as { executed: boolean; data: { partition_id: number; current_offset: number | null; new_offset: number }[] };
      expect(plan.executed).toBe(false);
      expect(plan.data.map((entry) => [entry.partition_id, entry.current_offset, entry.new_offset]).sort()).toEqual([[0, 2, 0], [1, 1, 0]]);
      expect(await committed()).toEqual({ 0: "2", 1: "1" }); // a dry run changes nothing

      await consumer.connect();
      await consumer.subscribe({ topic });
      await consumer.run({ autoCommit: false, eachMessage: async () => {} });
      await eventually(async () => (await admin.describeGroups([group])).groups[0]!.state === "Stable", 15000, "a Stable group");
      const refused = await post(`/consumer-groups/${group}/offsets:reset`, { to: "earliest", execute: true });
      expect(refused.status).toBe(409);
      expect(((await refused.json()) as { message: string }).message).toContain("stop its consumers");
      expect(await committed()).toEqual({ 0: "2", 1: "1" });
      await consumer.disconnect();

      const applied = await post(`/consumer-groups/${group}/offsets:reset`, { to: "offset", offset: 99, topics: [{ topic_name: topic, partitions: [0] }], execute: true });
      expect(applied.status).toBe(200);
      expect(((await applied.json()) as { executed: boolean }).executed).toBe(true);
      expect(await committed()).toEqual({ 0: "3", 1: "1" }); // kept within the log: high watermark 3
    } finally {
      await consumer.disconnect();
      await admin.disconnect();
    }
  }, 60000);

  test("bad requests are refused and change nothing", async () => {
    const cases: [unknown, number][] = [
      [{ to: "sideways" }, 400],
      [{ to: "offset" }, 400],
      [{ to: "shift", shift_by: "x" }, 400],
      [{ to: "earliest", execute: "yes" }, 400],
      [{ to: "earliest", topics: [{ topic_name: "no-such-topic" }] }, 404],
      [{ to: "earliest", topics: [{ topic_name: "resettable", partitions: [7] }] }, 404],
      [{ to: "earliest" }, 400], // a group with no committed offsets and no topics named
    ];
    for (const [body, status] of cases) {
      const answer = await post("/consumer-groups/nobody/offsets:reset", body);
      expect({ body, status: answer.status }).toEqual({ body, status });
    }
  });
});
