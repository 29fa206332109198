// The web console's pure client code, run under Bun (no browser): the Prometheus text parser and the
// p99 from two scrapes' histogram buckets behind the live graphs, how record bytes are shown
// (UTF-8, pretty JSON, hex, with fallbacks), and the Markdown subset of the benchmark reports.

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hexDump, showBytes, typedBytes, formatBytes, formatMs } from "../../src/http/console/client/format.ts";
import { parseInline, parseMarkdown } from "../../src/http/console/client/markdown-parse.ts";
import { parsePrometheus, pointBetween, quantileBetween, snapshotOf, type Buckets } from "../../src/http/console/client/metrics.ts";
import { MetricsHistory } from "../../src/http/console/metrics-history.ts";
import { repoRoot } from "../helpers/broker.ts";

describe("metrics", () => {
  const scrape = (bytesIn: number, produce: number[]) => [
    "# HELP runnel_topic_bytes_in_total Record batch bytes appended to a topic.",
    "# TYPE runnel_topic_bytes_in_total counter",
    `runnel_topic_bytes_in_total{topic="a"} ${bytesIn}`,
    `runnel_topic_bytes_in_total{topic="we\\"ird\\\\"} 100`,
    ...["0.001", "0.01", "0.1", "+Inf"].map((le, index) => `runnel_kafka_request_duration_seconds_bucket{api="Produce",le="${le}"} ${produce[index]}`),
    `runnel_kafka_request_duration_seconds_bucket{api="Metadata",le="+Inf"} 1000`,
    `runnel_consumer_group_lag{group="g",topic="a",partition="0"} 3`,
    `runnel_consumer_group_lag{group="g",topic="a",partition="1"} 4`,
  ].join("\n");

  test("parses samples with escaped label values", () => {
    const samples = parsePrometheus(scrape(5, [0, 0, 0, 0]));
    expect(samples.find((sample) => sample.value === 100)!.labels.topic).toBe('we"ird\\');
    expect(samples.find((sample) => sample.labels.le === "+Inf")!.value).toBe(0);
  });

  test("rates and p99 between two scrapes; lag summed per group", () => {
    const before = snapshotOf(parsePrometheus(scrape(1000, [10, 10, 10, 10])), 0);
    // 100 more produce requests: 90 under 1 ms, 9 in (1, 10] ms, 1 in (10, 100] ms.
    const after = snapshotOf(parsePrometheus(scrape(3000, [100, 109, 110, 110])), 2000);
    expect(after.groupLag.get("g")).toBe(7);
    const point = pointBetween(before, after);
    expect(point.bytesInPerSecond).toBe(1000);
    // rank 99 of 100 falls in (1, 10] ms: 9 there, 90 below → 1 + 9 × (99 − 90) / 9 ms = 10 ms.
    expect(point.produceP99Ms).toBeCloseTo(10, 6);
    expect(point.fetchP99Ms).toBeNull(); // no fetches
  });

  test("a counter that went down (a deleted topic) is a rate of 0; +Inf bucket gives the last bound", () => {
    expect(pointBetween(snapshotOf(parsePrometheus(scrape(5000, [0, 0, 0, 0])), 0), snapshotOf(parsePrometheus(scrape(10, [0, 0, 0, 0])), 1000)).bytesInPerSecond).toBe(0);
    const from: Buckets = new Map([[0.1, 0], [Infinity, 0]]);
    const to: Buckets = new Map([[0.1, 0], [Infinity, 5]]);
    expect(quantileBetween(from, to, 0.99)).toBe(0.1);
  });
});

describe("the broker-kept history of the graphs", () => {
  test("a point per tick from the metrics rendered, the oldest dropped past keepMs; nothing sampled before start", () => {
    let bytesIn = 0;
    let now = 1_000_000;
    const history = new MetricsHistory({
      render: () => `runnel_topic_bytes_in_total{topic="a"} ${bytesIn}\nrunnel_kafka_request_duration_seconds_bucket{api="Fetch",le="0.5"} ${bytesIn / 100}\nrunnel_kafka_request_duration_seconds_bucket{api="Fetch",le="+Inf"} ${bytesIn / 100}`,
      now: () => now,
      intervalMs: 5000,
      keepMs: 15000,
    });
    expect(history.history()).toEqual([]);
    history.tick();
    for (let step = 1; step <= 5; step++) {
      bytesIn += 5000 * step;
      now += 5000;
      history.tick();
    }
    // 5 points made, those older than 15 s before the last dropped: the last 4 remain (…, 20 s, 25 s after the first).
    expect(history.history().map((point) => [point.timeMs - 1_000_000, point.bytesInPerSecond])).toEqual([[10000, 2000], [15000, 3000], [20000, 4000], [25000, 5000]]);
    expect(history.history().every((point) => point.fetchP99Ms !== null && point.fetchP99Ms <= 500)).toBe(true);
    expect(() => { now -= 10000; history.tick(); }).toThrow("time goes forward");
    history.stop();
  });
});

describe("record bytes", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  test("UTF-8, pretty JSON, hex, and their fallbacks", () => {
    expect(showBytes(bytes("héllo"), "utf8")).toEqual({ text: "héllo" });
    expect(showBytes(bytes('{"a":[1,2]}'), "json")).toEqual({ text: '{\n  "a": [\n    1,\n    2\n  ]\n}' });
    expect(showBytes(bytes("not json"), "json")).toEqual({ text: "not json", note: "not JSON: shown as text" });
    expect(showBytes(new Uint8Array([0xff, 0x00]), "utf8")).toEqual({ text: "00000000  ff 00" + " ".repeat(42) + "  ..", note: "not UTF-8: shown as hex" });
    expect(showBytes(null, "hex")).toBeNull();
    expect(hexDump(bytes("0123456789abcdefXY"))).toBe("00000000  30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66  0123456789abcdef\n00000010  58 59" + " ".repeat(42) + "  XY");
    expect(hexDump(new Uint8Array(40), 16).split("\n").at(-1)).toBe("… 24 more bytes");
  });
  test("typed data as the API sends it", () => {
    expect(typedBytes({ type: "BINARY", data: "AAH/" })).toEqual(new Uint8Array([0, 1, 255]));
    expect(typedBytes({ type: "STRING", data: "é" })).toEqual(bytes("é"));
    expect(typedBytes({ type: "JSON", data: { a: 1 } })).toEqual(bytes('{"a":1}'));
    expect(typedBytes(null)).toBeNull();
  });
  test("sizes and durations", () => {
    expect([formatBytes(512), formatBytes(1536), formatBytes(5 * 1024 ** 3)]).toEqual(["512 B", "1.5 KiB", "5.0 GiB"]);
    expect([formatMs(0.25), formatMs(3.456), formatMs(250), formatMs(2500), formatMs(null)]).toEqual(["250 µs", "3.46 ms", "250 ms", "2.50 s", "–"]);
  });
});

describe("markdown of the benchmark reports", () => {
  test("headings, lists, tables, images and inline spans", () => {
    const blocks = parseMarkdown("# Title\n\nSome `code` and **bold**\ncontinued.\n\n- one\n  wrapped\n- two\n\n| a | b |\n| --- | ---: |\n| 1 | 2 |\n\n![plot](x.svg)\n");
    expect(blocks).toEqual([
      { kind: "heading", level: 1, text: "Title" },
      { kind: "paragraph", text: "Some `code` and **bold** continued." },
      { kind: "list", items: ["one wrapped", "two"] },
      { kind: "table", header: ["a", "b"], rows: [["1", "2"]] },
      { kind: "image", alt: "plot", src: "x.svg" },
    ]);
    expect(parseInline("see [the summary](summary.md), `x`")).toEqual([
      { kind: "text", text: "see " }, { kind: "link", text: "the summary", href: "summary.md" }, { kind: "text", text: ", " }, { kind: "code", text: "x" },
    ]);
  });
  test("every committed report parses, and its tables keep their column count", () => {
    const directory = join(repoRoot, "bench", "results");
    for (const name of ["produce.md", "partitions.md", "startup.md", "storage.md", "summary.md"]) {
      const blocks = parseMarkdown(readFileSync(join(directory, name), "utf8"));
      expect(blocks[0]).toMatchObject({ kind: "heading", level: 1 });
      for (const block of blocks) if (block.kind === "table") for (const row of block.rows) expect({ name, cells: row.length }).toEqual({ name, cells: block.header.length });
    }
  });
});
