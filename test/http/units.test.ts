// The HTTP layer's pure parts: the keyed partitioner (src/client's murmur2, Kafka's own test vectors), the
// Prometheus text format, cutting NDJSON and CBOR sequences across chunk boundaries, media type
// negotiation, and the group assignors an HTTP consumer uses when it leads its group.

import { describe, expect, test } from "bun:test";
import { Encoder } from "cbor-x";
import { assign } from "../../src/http/consumer-instances.ts";
import { negotiate, requestFormat } from "../../src/http/encoding.ts";
import { HttpError } from "../../src/http/errors.ts";
import { murmur2 } from "../../src/client/partitioner.ts";
import { partitionForKey } from "../../src/http/partitioner.ts";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { loadBrokerConfig } from "../../src/config/index.ts";
import { createHttpApp } from "../../src/http/app.ts";
import { queryValue } from "../../src/http/routes/common.ts";
import { createLogger } from "../../src/util/logger.ts";
import { BrokerMetrics } from "../../src/util/metrics.ts";
import { CborSeqSplitter, NdjsonSplitter } from "../../src/http/sequence.ts";
import { MetricsRegistry } from "../../src/util/metrics.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);

describe("murmur2 partitioner", () => {
  test("Kafka's UtilsTest vectors", () => {
    const vectors: [string, number][] = [
      ["21", -973932308],
      ["foobar", -790332482],
      ["a-little-bit-long-string", -985981536],
      ["a-little-bit-longer-string", -1486304829],
      ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
      ["abc", 479470107],
    ];
    for (const [text, hash] of vectors) expect(murmur2(utf8(text))).toBe(hash);
    expect(partitionForKey(utf8("foobar"), 6)).toBe((-790332482 & 0x7fffffff) % 6);
  });
});

describe("routing", () => {
  test("every route fits Hono's RegExpRouter (one that does not sends every route to the slower TrieRouter)", async () => {
    const loaded = loadBrokerConfig({ env: {}, overrides: [] });
    const http = createHttpApp({ backend: {} as never, config: loaded.values, metrics: new BrokerMetrics(), clusterId: "c", nodeId: 1, log: createLogger("units") });
    try {
      const routes = http.app.routes.map((route) => [route.method, route.path] as const);
      expect(routes.length).toBeGreaterThan(40);
      const router = new RegExpRouter<() => void>();
      for (const [method, path] of routes) router.add(method, path, () => {});
      expect(() => router.match("GET", "/v3/clusters/c/brokers/-/partition-reassignments")).not.toThrow();
    } finally {
      await http.close();
    }
  });
});

describe("query parameters read from the URL", () => {
  test("the first value, percent-decoded, + as space; absent is undefined", () => {
    expect(queryValue("http://h/p?acks=all", "acks")).toBe("all");
    expect(queryValue("http://h/p?x=1&acks=-1&acks=0", "acks")).toBe("-1");
    expect(queryValue("http://h/p?ac%6Bs=a%20b+c", "acks")).toBe("a b c");
    expect(queryValue("http://h/p?acks", "acks")).toBe("");
    expect(queryValue("http://h/p?backs=1#acks=2", "acks")).toBeUndefined();
    expect(queryValue("http://h/p", "acks")).toBeUndefined();
    expect(queryValue("http://h/p?acks=%E0%A4%A", "acks")).toBe("%E0%A4%A");
  });
});

describe("Prometheus text format", () => {
  test("counters, histograms (cumulative buckets) and gauges, labels escaped", () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter("demo_total", "A counter.", ["route"]);
    counter.inc({ route: '/a"b\\c' }, 2);
    counter.child({ route: '/a"b\\c' }).inc();
    const histogram = registry.histogram("demo_seconds", "A histogram.", ["api"], [0.1, 1]);
    histogram.observe({ api: "Produce" }, 0.05);
    histogram.observe({ api: "Produce" }, 0.5);
    histogram.observe({ api: "Produce" }, 5);
    registry.gauge("demo_offset", "A gauge.", ["topic"], () => [{ labels: { topic: "t" }, value: 12345678901234567890n }]);
    expect(registry.render()).toBe([
      "# HELP demo_total A counter.",
      "# TYPE demo_total counter",
      'demo_total{route="/a\\"b\\\\c"} 3',
      "# HELP demo_seconds A histogram.",
      "# TYPE demo_seconds histogram",
      'demo_seconds_bucket{api="Produce",le="0.1"} 1',
      'demo_seconds_bucket{api="Produce",le="1"} 2',
      'demo_seconds_bucket{api="Produce",le="+Inf"} 3',
      'demo_seconds_sum{api="Produce"} 5.55',
      'demo_seconds_count{api="Produce"} 3',
      "# HELP demo_offset A gauge.",
      "# TYPE demo_offset gauge",
      'demo_offset{topic="t"} 12345678901234567890',
      "",
    ].join("\n"));
    expect(() => counter.inc({}, -1)).toThrow();
    expect(() => registry.counter("demo_total", "again")).toThrow();
  });
});

describe("sequence splitters", () => {
  test("NDJSON: lines cut anywhere across chunks, CRLF, blank lines, a bad line answered and skipped", () => {
    const splitter = new NdjsonSplitter(1000);
    const text = '{"a":1}\r\n\n{"b":"é"}\n{bad\n{"c":3}';
    const bytes = utf8(text);
    const items = [];
    for (let at = 0; at < bytes.length; at += 3) items.push(...splitter.push(bytes.subarray(at, at + 3)));
    items.push(...splitter.end());
    expect(items.map((item) => (item.ok ? item.value : "error"))).toEqual([{ a: 1 }, { b: "é" }, "error", { c: 3 }]);
  });

  test("NDJSON: a line that is not UTF-8 is refused alone; a line past the limit ends the stream", () => {
    const splitter = new NdjsonSplitter(20);
    const items = splitter.push(new Uint8Array([...utf8('{"a":1}\n"'), 0xff, ...utf8('"\n{"b":2}\n')]));
    expect(items.map((item) => (item.ok ? item.value : (item as { error: HttpError }).error.status))).toEqual([{ a: 1 }, 400, { b: 2 }]);
    const long = splitter.push(utf8("x".repeat(30)));
    expect(long.length).toBe(1);
    expect(long[0]!.ok).toBe(false);
    expect(long[0]!.ok === false && long[0]!.fatal).toBe(true);
    expect(splitter.push(utf8('{"c":3}\n'))).toEqual([]);
  });

  test("CBOR sequence: items cut anywhere across chunks; a truncated tail and garbage are errors", () => {
    const encoder = new Encoder({ useRecords: false, tagUint8Array: false } as ConstructorParameters<typeof Encoder>[0]);
    const values = [{ value: new Uint8Array([1, 2, 3]) }, "text", 42, { nested: { list: [1, 2] } }];
    const bytes = new Uint8Array(Buffer.concat(values.map((value) => Buffer.from(encoder.encode(value)))));
    const splitter = new CborSeqSplitter(1000);
    const items = [];
    for (let at = 0; at < bytes.length; at += 2) items.push(...splitter.push(bytes.subarray(at, at + 2)));
    items.push(...splitter.end());
    expect(items.length).toBe(4);
    expect(items.map((item) => (item.ok ? item.value : "error"))).toEqual([{ value: new Uint8Array([1, 2, 3]) }, "text", 42, { nested: { list: [1, 2] } }]);
    const truncated = new CborSeqSplitter(1000);
    expect(truncated.push(bytes.subarray(0, 3))).toEqual([]);
    expect(truncated.end()[0]!.ok).toBe(false);
    const garbage = new CborSeqSplitter(1000);
    const bad = garbage.push(new Uint8Array([0xff, 0xff]));
    expect(bad.length).toBe(1);
    expect(bad[0]!.ok === false && bad[0]!.fatal).toBe(true);
  });
});

describe("media types", () => {
  test("Content-Type picks the body format; anything else is 415", () => {
    expect(requestFormat("application/json; charset=utf-8", ["json", "cbor"])).toBe("json");
    expect(requestFormat("application/vnd.kafka.binary.v2+json", ["json"])).toBe("json");
    expect(requestFormat("application/cbor-seq", ["ndjson", "cbor-seq"])).toBe("cbor-seq");
    expect(() => requestFormat("text/plain", ["json"])).toThrow(HttpError);
    expect(() => requestFormat(undefined, ["json"])).toThrow(HttpError);
  });

  test("Accept negotiation: order of preference, q values, wildcards, 406", () => {
    const offered = ["application/json", "application/cbor"];
    expect(negotiate(undefined, offered)).toBe("application/json");
    expect(negotiate("application/cbor", offered)).toBe("application/cbor");
    expect(negotiate("application/json;q=0.5, application/cbor", offered)).toBe("application/cbor");
    expect(negotiate("application/*", offered)).toBe("application/json");
    expect(negotiate("application/vnd.kafka.v2+json", offered)).toBe("application/json");
    expect(() => negotiate("text/html", offered)).toThrow(HttpError);
  });
});

describe("assignors of an HTTP consumer that leads its group", () => {
  const counts = new Map([["a", 3], ["b", 2]]);
  const members = [{ memberId: "m2", topics: ["a", "b"] }, { memberId: "m1", topics: ["a"] }];

  test("range: per topic, contiguous, the first members get the extra partitions", () => {
    const plan = assign("range", members, counts);
    expect(plan.get("m1")).toEqual([{ topic: "a", partition: 0 }, { topic: "a", partition: 1 }]);
    expect(plan.get("m2")).toEqual([{ topic: "a", partition: 2 }, { topic: "b", partition: 0 }, { topic: "b", partition: 1 }]);
  });

  test("round robin: every partition once, only to subscribers", () => {
    const plan = assign("roundrobin", members, counts);
    const all = [...plan.values()].flat().map((entry) => `${entry.topic}-${entry.partition}`).sort();
    expect(all).toEqual(["a-0", "a-1", "a-2", "b-0", "b-1"]);
    expect(plan.get("m1")!.every((entry) => entry.topic === "a")).toBe(true);
  });
});

describe("the backend seam", () => {
  test("only the backends (local-backend.ts, cluster-backend.ts) reach storage, the cluster store, the group coordinator or the Kafka layer", async () => {
    const { readdirSync, readFileSync, statSync } = await import("node:fs");
    const { join, relative, resolve } = await import("node:path");
    const root = resolve(import.meta.dir, "../../src/http");
    const files = (function walk(directory: string): string[] {
      return readdirSync(directory).flatMap((name) => {
        const path = join(directory, name);
        return statSync(path).isDirectory() ? walk(path) : path.endsWith(".ts") ? [path] : [];
      });
    })(root);
    const forbidden = /from "[./]+\/(storage\/|cluster\/store|cluster\/partition-|groups\/(coordinator|index|consumer-groups|offsets-log)|kafka\/)/;
    const offenders = files
      // The two backend implementations (this node's subsystems; forwarding to leaders) and the listener.
      .filter((file) => !file.endsWith("local-backend.ts") && !file.endsWith("cluster-backend.ts") && !file.endsWith("server.ts"))
      .flatMap((file) => readFileSync(file, "utf8").split("\n").filter((line) => /^import /.test(line) && forbidden.test(line)).map((line) => `${relative(root, file)}: ${line}`));
    expect(files.length).toBeGreaterThan(10);
    expect(offenders).toEqual([]);
  });
});

describe("produce answers", () => {
  test("the JSON text written directly equals the answer object stringified", async () => {
    const { produceAnswer, produceAnswerJson } = await import("../../src/http/produce-stream.ts");
    const parsed = { partition: null, record: { key: new Uint8Array(3), value: null, headers: [] }, keyType: "BINARY" as const, valueType: null };
    const result = { partition: 4, baseOffset: 9007199254740990n, timestampsMs: [1n, 1767323045678n], timestampType: "CreateTime" as const };
    for (const [clusterId, topic] of [["abc", "t"], ['we"ird', 'to\\pic"é']]) {
      expect(JSON.parse(produceAnswerJson(clusterId!, topic!, parsed, result, 1))).toEqual(produceAnswer(clusterId!, topic!, parsed, result, 1));
    }
  });
});
