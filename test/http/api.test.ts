// The HTTP API against a real broker process, driven by curl (--http1.1 and
// --http2-prior-knowledge), node:http2 and fetch: admin routes, produce (one record, NDJSON and
// CBOR streams), direct reads with long poll, bad input answered 4xx with nothing half-written,
// health, metrics and the OpenAPI description.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decode as cborDecode, decodeMultiple, Encoder } from "cbor-x";
import type { ClientHttp2Session } from "node:http2";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { clusterIdOf, curl, eventually, h2, h2Session } from "./helpers.ts";

const cbor = new Encoder({ useRecords: false, tagUint8Array: false } as ConstructorParameters<typeof Encoder>[0]);
const encodeCbor = (value: unknown) => new Uint8Array(cbor.encode(value));

let broker: Broker;
let base: string;
let clusterId: string;
let topics: string;
let session: ClientHttp2Session;

beforeAll(async () => {
  broker = await startBroker({ set: { "http.request.max.bytes": 65536, "message.max.bytes": 20000 } });
  base = broker.httpUrl;
  clusterId = await clusterIdOf(base);
  topics = `${base}/v3/clusters/${clusterId}/topics`;
  session = h2Session(base);
});

afterAll(async () => {
  session?.close();
  await broker?.stop();
});

async function createTopic(name: string, partitions: number, configs: { name: string; value: string }[] = []): Promise<void> {
  const response = await fetch(topics, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ topic_name: name, partitions_count: partitions, configs }) });
  expect(response.status).toBe(201);
}

async function readAll(topic: string, partition: number, query = ""): Promise<any[]> {
  const response = await fetch(`${topics}/${topic}/partitions/${partition}/records?offset=0${query}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { records: any[] }).records;
}

describe("HTTP API over HTTP/1.1 and HTTP/2", () => {
  test("cluster, brokers, topics: the same answers over curl h1, curl h2c, node:http2 and fetch", async () => {
    await createTopic("admin", 3, [{ name: "retention.ms", value: "3600000" }]);
    const h1 = await curl("1.1", "GET", `${topics}/admin`);
    const h2c = await curl("2", "GET", `${topics}/admin`);
    const node = await h2(session, "GET", `/v3/clusters/${clusterId}/topics/admin`);
    const viaFetch = await fetch(`${topics}/admin`);
    expect([h1.status, h2c.status, node.status, viaFetch.status]).toEqual([200, 200, 200, 200]);
    expect(h1.version).toBe("1.1");
    expect(h2c.version).toBe("2");
    expect(h1.json().partitions_count).toBe(3);
    expect(h2c.json()).toEqual(h1.json());
    expect(node.json().partition_details.map((partition: any) => partition.leader_id)).toEqual([1, 1, 1]);
    expect(((await viaFetch.json()) as any).topic_id).toBe(h1.json().topic_id);

    const clusters = await curl("2", "GET", `${base}/v3/clusters/${clusterId}`);
    expect(clusters.json().cluster_id).toBe(clusterId);
    const brokers = await curl("1.1", "GET", `${base}/v3/clusters/${clusterId}/brokers`);
    expect(brokers.json().data[0].broker_id).toBe(1);
    const list = await curl("2", "GET", topics);
    expect(list.json().data.map((topic: any) => topic.topic_name)).toContain("admin");

    const configs = await curl("2", "GET", `${topics}/admin/configs/retention.ms`);
    expect(configs.json()).toMatchObject({ name: "retention.ms", value: "3600000", source: "DYNAMIC_TOPIC_CONFIG", is_default: false });
    const put = await curl("1.1", "PUT", `${topics}/admin/configs/retention.ms`, { body: '{"value":"7200000"}', headers: { "content-type": "application/json" } });
    expect(put.status).toBe(204);
    const alter = await curl("2", "POST", `${topics}/admin/configs:alter`, {
      body: JSON.stringify({ data: [{ name: "cleanup.policy", value: "compact" }, { name: "retention.ms", operation: "DELETE" }] }),
      headers: { "content-type": "application/json" },
    });
    expect(alter.status).toBe(204);
    const after = (await curl("2", "GET", `${topics}/admin/configs`)).json().data;
    expect(after.find((config: any) => config.name === "cleanup.policy").value).toBe("compact");
    expect(after.find((config: any) => config.name === "retention.ms").is_default).toBe(true);
    const badConfig = await curl("1.1", "PUT", `${topics}/admin/configs/retention.ms`, { body: '{"value":"soon"}', headers: { "content-type": "application/json" } });
    expect(badConfig.status).toBe(400);
    expect(badConfig.json().message).toContain("INVALID_CONFIG");

    const deleted = await curl("2", "DELETE", `${topics}/admin`);
    expect(deleted.status).toBe(204);
    expect((await curl("1.1", "GET", `${topics}/admin`)).status).toBe(404);
  });

  test("produce one record (JSON and CBOR), typed values, keys, headers, timestamps; read back byte-exact", async () => {
    await createTopic("produce-one", 2);
    const binary = new Uint8Array([0, 1, 2, 250, 255]);
    const record = {
      partition_id: 1,
      key: { type: "STRING", data: "k-é" },
      value: { type: "BINARY", data: Buffer.from(binary).toString("base64") },
      headers: [{ name: "h1", value: Buffer.from("hv").toString("base64") }],
      timestamp: "2026-01-02T03:04:05.678Z",
    };
    const produced = await curl("2", "POST", `${topics}/produce-one/records?acks=all`, { body: JSON.stringify(record), headers: { "content-type": "application/json" } });
    expect(produced.status).toBe(200);
    expect(produced.json()).toMatchObject({ error_code: 200, partition_id: 1, offset: 0, timestamp: "2026-01-02T03:04:05.678Z", key: { type: "STRING", size: 4 }, value: { type: "BINARY", size: 5 } });

    const viaCbor = await h2(session, "POST", `/v3/clusters/${clusterId}/topics/produce-one/records`, {
      body: encodeCbor({ partition_id: 1, key: null, value: new Uint8Array([9, 8, 7]) }),
      headers: { "content-type": "application/cbor", accept: "application/cbor" },
    });
    expect(viaCbor.status).toBe(200);
    expect(viaCbor.headers["content-type"]).toBe("application/cbor");
    expect(cborDecode(viaCbor.body)).toMatchObject({ partition_id: 1, offset: 1, value: { type: "BINARY", size: 3 } });

    const json = await curl("1.1", "POST", `${topics}/produce-one/records`, {
      body: JSON.stringify({ partition_id: 1, value: { type: "JSON", data: { nested: [1, "two"] } } }),
      headers: { "content-type": "application/vnd.kafka.json.v2+json" },
    });
    expect(json.json().offset).toBe(2);

    const records = await readAll("produce-one", 1);
    expect(records.map((entry) => entry.offset)).toEqual([0, 1, 2]);
    expect(Buffer.from(records[0].value.data, "base64")).toEqual(Buffer.from(binary));
    expect(Buffer.from(records[0].key.data, "base64").toString()).toBe("k-é");
    expect(records[0].timestamp).toBe(Date.parse("2026-01-02T03:04:05.678Z"));
    expect(records[0].headers).toEqual([{ name: "h1", value: Buffer.from("hv").toString("base64") }]);
    expect(records[1].key).toBeNull();
    expect(Buffer.from(records[2].value.data, "base64").toString()).toBe('{"nested":[1,"two"]}');

    const shown = await readAll("produce-one", 1, "&key_format=string&value_format=json");
    expect(shown[0].key).toEqual({ type: "STRING", data: "k-é" });
    expect(shown[0].value.type).toBe("BINARY"); // not JSON: shown as bytes, nothing lost
    expect(shown[2].value).toEqual({ type: "JSON", data: { nested: [1, "two"] } });

    const cborRead = await fetch(`${topics}/produce-one/partitions/1/records?offset=1`, { headers: { accept: "application/cbor" } });
    const decoded = cborDecode(new Uint8Array(await cborRead.arrayBuffer())) as any;
    expect(new Uint8Array(decoded.records[0].value.data)).toEqual(new Uint8Array([9, 8, 7]));
  });

  test("a keyed record lands where Kafka's murmur2 partitioner puts it", async () => {
    await createTopic("keyed", 6);
    // Kafka's murmur2("foobar") = -790332482; positive & 0x7fffffff = 1357151166; % 6 = 0.
    const produced = await curl("2", "POST", `${topics}/keyed/records`, { body: '{"key":{"type":"STRING","data":"foobar"},"value":{"type":"STRING","data":"v"}}', headers: { "content-type": "application/json" } });
    expect(produced.json().partition_id).toBe((-790332482 & 0x7fffffff) % 6);
  });

  test("streaming produce (NDJSON): answered per record in order; the 5th bad, 1-4 written, the rest go on", async () => {
    await createTopic("stream-ndjson", 1);
    const lines = [1, 2, 3, 4].map((index) => JSON.stringify({ value: { type: "STRING", data: `r${index}` } }));
    lines.push('{"value": {"type": "STRING", "data": 5}}'); // wrong type
    lines.push('{"value": {"type": "STRING", "data": "r6"}}');
    lines.push("{not json");
    lines.push(JSON.stringify({ value: { type: "STRING", data: "r8" }, partition_id: 7 })); // unknown partition
    const response = await curl("2", "POST", `${topics}/stream-ndjson/records`, { body: lines.join("\n") + "\n", headers: { "content-type": "application/x-ndjson" } });
    expect(response.status).toBe(200);
    const answers = response.text.trim().split("\n").map((line) => JSON.parse(line));
    expect(answers.map((entry) => entry.error_code)).toEqual([200, 200, 200, 200, 42202, 200, 400, 40402]);
    expect(answers.slice(0, 4).map((entry) => entry.offset)).toEqual([0, 1, 2, 3]);
    expect(answers[4].message).toContain("STRING must be a string");
    expect(answers[5].offset).toBe(4);
    const records = await readAll("stream-ndjson", 0, "&value_format=string");
    expect(records.map((entry) => entry.value.data)).toEqual(["r1", "r2", "r3", "r4", "r6"]);
  });

  test("streaming produce (CBOR sequence) over node:http2; a batch refused by the log is retried record by record", async () => {
    await createTopic("stream-cbor", 2);
    const big = new Uint8Array(30000); // over message.max.bytes (20000) on its own
    const items = [
      { partition_id: 0, value: new Uint8Array([1]) },
      { partition_id: 0, value: big },
      { partition_id: 0, value: { type: "BINARY", data: new Uint8Array([3]) } },
      { partition_id: 1, key: { type: "STRING", data: "k" }, value: { type: "STRING", data: "to one" } },
    ];
    const body = Buffer.concat(items.map((item) => Buffer.from(encodeCbor(item))));
    const response = await h2(session, "POST", `/v3/clusters/${clusterId}/topics/stream-cbor/records`, { body, headers: { "content-type": "application/cbor-seq" } });
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("application/cbor-seq");
    const answers = decodeMultiple(response.body) as any[];
    expect(answers.map((entry) => entry.error_code)).toEqual([200, 413, 200, 200]);
    expect(answers[1].message).toContain("MESSAGE_TOO_LARGE");
    const partition0 = await readAll("stream-cbor", 0);
    expect(partition0.map((entry) => Buffer.from(entry.value.data, "base64")[0])).toEqual([1, 3]);
    expect((await readAll("stream-cbor", 1)).length).toBe(1);
  });

  test("long poll: a read at the end waits for the next record, and times out empty", async () => {
    await createTopic("long-poll", 1);
    const started = performance.now();
    const empty = await fetch(`${topics}/long-poll/partitions/0/records?from=latest&timeout_ms=200`);
    expect(((await empty.json()) as any).records).toEqual([]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    const waiting = fetch(`${topics}/long-poll/partitions/0/records?offset=0&timeout_ms=20000`).then((response) => response.json() as Promise<any>);
    await eventually(async () => {
      const metrics = await (await fetch(`${base}/metrics`)).text();
      return /runnel_http_requests_in_flight (\d+)/.exec(metrics)![1] === "2"; // the parked long poll and this scrape
    }, 5000, "the long poll to park");
    await curl("1.1", "POST", `${topics}/long-poll/records`, { body: '{"value":{"type":"STRING","data":"woke"}}', headers: { "content-type": "application/json" } });
    const woken = await waiting;
    expect(woken.records.length).toBe(1);
    expect(woken.next_offset).toBe(1);
  });

  test("bad input: 400/404/405/406/413/415/416/422 with REST Proxy error bodies, nothing written", async () => {
    await createTopic("bad", 1);
    const json = { "content-type": "application/json" };
    const cases: [Promise<{ status: number; json(): any }>, number, number | null][] = [
      [curl("2", "POST", `${topics}/bad/records`, { body: "{oops", headers: json }), 400, 400],
      [curl("1.1", "POST", `${topics}/bad/records`, { body: new Uint8Array([0xbf, 0x61]), headers: { "content-type": "application/cbor" } }), 400, 400],
      [curl("2", "POST", `${topics}/bad/records`, { body: '{"value":"bare"}', headers: json }), 422, 42202],
      [curl("2", "POST", `${topics}/bad/records`, { body: '{"key":{"type":"AVRO","data":1}}', headers: json }), 422, 42201],
      [curl("2", "POST", `${topics}/bad/records`, { body: '{"value":{"type":"BINARY","data":"***"}}', headers: json }), 422, 42202],
      [curl("2", "POST", `${topics}/bad/records`, { body: '{"partition_id":-1}', headers: json }), 400, 400],
      [curl("2", "POST", `${topics}/bad/records`, { body: '{"partition_id":3,"value":null}', headers: json }), 404, 40402],
      [curl("2", "POST", `${topics}/missing/records`, { body: '{"value":null}', headers: json }), 404, 40401],
      [curl("2", "POST", `${topics}/bad/records`, { body: '{"timestamp":"yesterday"}', headers: json }), 400, 400],
      [curl("2", "POST", `${topics}/bad/records`, { body: "x", headers: { "content-type": "text/plain" } }), 415, 415],
      [curl("2", "POST", `${topics}/bad/records`, { body: "{}" }), 415, 415],
      [curl("1.1", "PATCH", `${topics}/bad/records`), 405, 405],
      [curl("2", "GET", `${topics}/bad`, { headers: { accept: "text/html" } }), 406, 406],
      [curl("2", "POST", `${topics}/bad/records`, { body: JSON.stringify({ value: { type: "STRING", data: "x".repeat(70000) } }), headers: json }), 413, 413],
      [curl("2", "GET", `${topics}/bad/partitions/0/records?offset=5`), 416, 416],
      [curl("2", "GET", `${topics}/bad/partitions/0/records?offset=abc`), 400, 400],
      [curl("2", "GET", `${base}/v3/clusters/not-this-one/topics`), 404, 404],
      [curl("2", "POST", `${topics}/__consumer_offsets/records`, { body: '{"value":null}', headers: json }), 403, 403],
      [curl("2", "POST", topics, { body: '{"topic_name":"bad name!"}', headers: json }), 400, 400],
      [curl("2", "POST", topics, { body: '{"topic_name":"bad"}', headers: json }), 400, 400],
    ];
    for (const [pending, status, errorCode] of cases) {
      const response = await pending;
      expect({ status: response.status }).toEqual({ status });
      const body = response.json();
      expect(typeof body.message).toBe("string");
      if (errorCode !== null) expect(body.error_code).toBe(errorCode);
    }
    const errorInCbor = await curl("2", "POST", `${topics}/bad/records`, { body: "{oops", headers: { ...json, accept: "application/cbor" } });
    expect(cborDecode(errorInCbor.body)).toMatchObject({ error_code: 400 });
    expect(await readAll("bad", 0)).toEqual([]);
    const allow = await fetch(`${topics}/bad/records`, { method: "PUT" });
    expect(allow.headers.get("allow")).toBe("POST");
    // The broker still serves.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  test("live streams: several on one HTTP/2 connection (NDJSON and CBOR sequence), each sees its partition's records", async () => {
    await createTopic("live", 2);
    const lines: string[][] = [[], []];
    const cborItems: any[] = [];
    const open = (path: string, accept: string, onData: (chunk: Buffer) => void) => {
      const stream = session.request({ ":path": path, accept });
      stream.on("data", onData);
      return stream;
    };
    const streams = [0, 1].map((partition) =>
      open(`/v3/clusters/${clusterId}/topics/live/partitions/${partition}/stream?from=latest&value_format=string`, "application/x-ndjson", (chunk) => {
        for (const line of chunk.toString().split("\n")) if (line.trim()) lines[partition]!.push(JSON.parse(line).value.data);
      }));
    let cborBuffer = Buffer.alloc(0);
    streams.push(open(`/v3/clusters/${clusterId}/topics/live/stream?from=earliest`, "application/cbor-seq", (chunk) => {
      cborBuffer = Buffer.concat([cborBuffer, chunk]);
      try {
        cborItems.splice(0, cborItems.length, ...(decodeMultiple(new Uint8Array(cborBuffer)) as any[]));
      } catch {
        // an item cut at a chunk boundary: the next chunk completes it
      }
    }));
    try {
      await eventually(async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return /runnel_http_streams_open 3/.test(text);
      }, 5000, "three open streams");
      const body = [0, 1, 0].map((partition, index) => JSON.stringify({ partition_id: partition, value: { type: "STRING", data: `v${index}` } })).join("\n");
      await curl("2", "POST", `${topics}/live/records`, { body, headers: { "content-type": "application/x-ndjson" } });
      await eventually(() => lines[0]!.length === 2 && lines[1]!.length === 1 && cborItems.length === 3, 10000, "records on every stream");
      expect(lines).toEqual([["v0", "v2"], ["v1"]]);
      expect(cborItems.map((item) => Buffer.from(item.value.data).toString()).sort()).toEqual(["v0", "v1", "v2"]);
      expect(streams.every((stream) => stream.session === session)).toBe(true);
    } finally {
      for (const stream of streams) stream.close();
    }
    await eventually(async () => /runnel_http_streams_open 0/.test(await (await fetch(`${base}/metrics`)).text()), 5000, "streams closed");
  });

  test("a live stream whose position is outside the log goes on from the log's bounds instead of failing", async () => {
    await createTopic("live-reset", 1);
    const lines: string[] = [];
    const stream = session.request({ ":path": `/v3/clusters/${clusterId}/topics/live-reset/partitions/0/stream?offset=100&value_format=string`, accept: "application/x-ndjson" });
    stream.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) if (line.trim()) lines.push(line);
    });
    try {
      await eventually(async () => /runnel_http_streams_open 1/.test(await (await fetch(`${base}/metrics`)).text()), 5000, "the stream to open");
      await curl("2", "POST", `${topics}/live-reset/records`, { body: '{"value":{"type":"STRING","data":"after reset"}}', headers: { "content-type": "application/json" } });
      await eventually(() => lines.length >= 1, 10000, "the record on the stream");
      expect(JSON.parse(lines[0]!)).toMatchObject({ offset: 0, value: { type: "STRING", data: "after reset" } });
    } finally {
      stream.close();
    }
  });

  test("healthz, readyz, metrics (Prometheus text), OpenAPI", async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: "ok" });
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: "ready" });
    const response = await fetch(`${base}/metrics`);
    expect(response.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const text = await response.text();
    expect(text).toMatch(/runnel_http_requests_total\{route="\/v3\/clusters\/\{cluster_id\}\/topics\/\{topic_name\}\/records",method="POST",status="200"\} \d+/);
    expect(text).toMatch(/runnel_http_request_duration_seconds_bucket\{route="\/healthz",method="GET",le="\+Inf"\} \d+/);
    expect(text).toMatch(/runnel_topic_bytes_in_total\{topic="produce-one"\} \d+/);
    expect(text).toMatch(/runnel_topic_bytes_out_total\{topic="produce-one"\} \d+/);
    expect(text).toMatch(/runnel_partition_log_end_offset\{topic="produce-one",partition="1"\} 3/);
    expect(text).toMatch(/runnel_kafka_connections_open 0/);
    expect(text).toContain("# TYPE runnel_kafka_request_duration_seconds histogram");
    const openapi = (await (await fetch(`${base}/openapi.json`)).json()) as any;
    expect(openapi.openapi).toBe("3.1.0");
    expect(Object.keys(openapi.paths)).toContain("/v3/clusters/{cluster_id}/topics/{topic_name}/records");
    expect(openapi.paths["/consumers/{group_name}/instances/{instance}/records"].get.summary).toBeString();
  });
});
