// Scenario "http": produce over the HTTP API (issue 10), 1 KiB records, acks=1, against the Kafka
// protocol's produce path and a plain Hono "echo 200" route (the HTTP floor), in the same run:
//
//   HTTP/2, one record per request, 1 connection × 100 concurrent streams   (h2load)
//   HTTP/1.1 keep-alive, one record per request, 16 connections             (h2load --h1)
//   the echo route, the same two ways                                       (h2load)
//   HTTP/2 streaming produce: one request, NDJSON records, answers in order (bench/http/stream-producer.ts)
//   Kafka protocol: the bench's pipelined producer, 16 KiB batches          (bench/kafka/producer.ts)
//
// Targets: streaming HTTP/2 produce ≥ 0.5 × the Kafka protocol's records/s; one-record-per-request
// HTTP/2 produce ≥ 0.5 × the echo route's requests/s. Latency percentiles of h2load runs come from
// its per-request log (--log-file); h2load itself prints no percentiles.

import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchTmpDir, repoRoot } from "../kafka/broker.ts";
import { streamProduce } from "../http/stream-producer.ts";
import { formatNumber, formatRatio, ratioAgainst, table } from "../lib/markdown.ts";
import { spawnChild, type Child } from "../lib/process.ts";
import { Report } from "../lib/report.ts";
import { startRunnel } from "../systems/kafka.ts";
import type { Scenario } from "./common.ts";

interface HttpRun {
  label: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

async function h2load(label: string, url: string, bodyFile: string, seconds: number, options: { h1: boolean; connections: number; streams: number }): Promise<HttpRun> {
  const directory = benchTmpDir("h2load");
  const logFile = join(directory, "requests.log");
  const args = [
    "h2load", "-D", String(seconds), "--warm-up-time=1", "-t", "1", "-c", String(options.connections), "-m", String(options.streams),
    "-d", bodyFile, "-H", "content-type: application/json", "--log-file", logFile, ...(options.h1 ? ["--h1"] : []), url,
  ];
  const child = Bun.spawn(args, { stdout: "pipe", stderr: "pipe" });
  const [stdout, , code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  try {
    if (code !== 0) throw new Error(`h2load exited ${code}: ${stdout.slice(-800)}`);
    const finished = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(stdout);
    const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(stdout);
    const failedRequests = /requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed/.exec(stdout);
    const latencies = readFileSync(logFile, "utf8").trim().split("\n").map((line) => Number(line.split("\t")[2]) / 1000).sort((a, b) => a - b);
    return {
      label,
      requestsPerSecond: Number(finished?.[1] ?? 0),
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      failed: Number(failedRequests?.[1] ?? 0) + Number(status?.[3] ?? 0) + Number(status?.[4] ?? 0),
    };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

async function startHttpBroker(): Promise<{ child: Child; url: string; dataDir: string }> {
  const dataDir = benchTmpDir("runnel-http");
  const child = await spawnChild({
    cmd: [process.execPath, join(repoRoot, "src/main.ts"), "--data-dir", dataDir, "--kafka-port", "0", "--http-port", "0", "--host", "127.0.0.1"],
    cwd: repoRoot,
    ready: /http listening on ([\d.]+):(\d+)/,
    readyTimeoutMs: 20_000,
    env: { RUNNEL_LOG_LEVEL: "warn" },
  });
  return { child, url: `http://${child.match[1]}:${child.match[2]}`, dataDir };
}

export const httpScenario: Scenario = {
  name: "http",
  title: "HTTP API produce: HTTP/2 and HTTP/1.1 against the Kafka protocol and a plain echo route",
  description: "issue 10: produce records/s and p99 over HTTP/2 (100 streams on one connection; streaming NDJSON) and HTTP/1.1 keep-alive, 1 KiB records, vs the Kafka protocol and a Hono echo-200 route",
  async run(context) {
    const params = context.params;
    const report = new Report("http", this.title, params);
    if (!Bun.which("h2load")) throw new Error("h2load is not installed (Debian nghttp2-client; scripts/setup.sh installs it)");
    const seconds = Math.max(2, Math.round(params.durationMs / 1000));
    const recordLine = JSON.stringify({ partition_id: 0, value: { type: "STRING", data: "x".repeat(params.recordBytes) } });
    const bodyDirectory = benchTmpDir("http-body");
    const bodyFile = join(bodyDirectory, "record.json");
    writeFileSync(bodyFile, recordLine);

    // Every path once per run, interleaved, so that a change of machine load during the scenario
    // hits all of them alike; ratios are taken within a run, then their median reported.
    const kafka = await startRunnel({ name: "Runnel (Kafka protocol)", params, crc32c: context.crc32c, partitions: 1 });
    const echo = await spawnChild({ cmd: [process.execPath, join(repoRoot, "bench/http/echo-server.ts")], cwd: repoRoot, ready: /echo listening on ([\d.]+):(\d+)/, readyTimeoutMs: 10_000 });
    const broker = await startHttpBroker();
    const runs: (HttpRun & { run: number })[] = [];
    const streamingLabel = "produce, streaming NDJSON, HTTP/2 (1 request)";
    const kafkaLabel = "Kafka protocol produce (bench producer, 16 KiB batches, acks=1)";
    try {
      const echoUrl = `http://${echo.match[1]}:${echo.match[2]}/echo`;
      const clusterId = ((await (await fetch(`${broker.url}/v3/clusters`)).json()) as any).data[0].cluster_id as string;
      const topicsPath = `/v3/clusters/${clusterId}/topics`;
      const created = await fetch(`${broker.url}${topicsPath}`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"topic_name":"bench-http","partitions_count":1}' });
      if (created.status !== 201) throw new Error(`topic not created: ${created.status} ${await created.text()}`);
      const produceUrl = `${broker.url}${topicsPath}/bench-http/records?acks=1`;
      const plan = [
        { label: "echo route, HTTP/2 (1 connection × 100 streams)", url: echoUrl, h1: false, connections: 1, streams: 100 },
        { label: "produce, one record per request, HTTP/2 (1 connection × 100 streams)", url: produceUrl, h1: false, connections: 1, streams: 100 },
        { label: "echo route, HTTP/1.1 keep-alive (16 connections)", url: echoUrl, h1: true, connections: 16, streams: 1 },
        { label: "produce, one record per request, HTTP/1.1 keep-alive (16 connections)", url: produceUrl, h1: true, connections: 16, streams: 1 },
      ];
      for (let run = 0; run < params.runs; run++) {
        const flood = await kafka.flood(`http-kafka-${run}`, params.durationMs, Math.min(params.warmupMs, 1000));
        context.log(`  ${kafkaLabel}: ${Math.round(flood.recordsPerSecond)} records/s`);
        runs.push({ run, label: kafkaLabel, requestsPerSecond: flood.recordsPerSecond, p50Ms: NaN, p99Ms: NaN, failed: 0 });
        for (const entry of plan) {
          const result = await h2load(entry.label, entry.url, bodyFile, seconds, entry);
          context.log(`  ${entry.label}: ${Math.round(result.requestsPerSecond)} req/s, p99 ${result.p99Ms.toFixed(2)} ms${result.failed ? `, ${result.failed} failed` : ""}`);
          runs.push({ ...result, run });
        }
        const result = await streamProduce(broker.url, `${topicsPath}/bench-http/records?acks=1`, recordLine, seconds * 1000);
        context.log(`  ${streamingLabel}: ${Math.round(result.recordsPerSecond)} records/s${result.errors ? `, ${result.errors} errors` : ""}`);
        const sorted = [...result.latenciesUs].sort((x, y) => x - y);
        runs.push({ run, label: streamingLabel, requestsPerSecond: result.recordsPerSecond, p50Ms: percentile(sorted, 0.5) / 1000, p99Ms: percentile(sorted, 0.99) / 1000, failed: result.errors });
      }
    } finally {
      await broker.child.stop();
      await echo.stop();
      await kafka.stop();
      rmSync(broker.dataDir, { recursive: true, force: true });
      rmSync(bodyDirectory, { recursive: true, force: true });
    }

    const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor((values.length - 1) / 2)]!;
    const of = (label: string) => runs.filter((entry) => entry.label === label);
    const labels = [...new Set(runs.map((entry) => entry.label))];
    const ms = (value: number) => (Number.isNaN(value) ? "—" : value.toFixed(2));
    const rows = labels.map((label) => {
      const entries = of(label);
      const rates = entries.map((entry) => entry.requestsPerSecond);
      return [label, formatNumber(median(rates)), `${formatNumber(Math.min(...rates))}–${formatNumber(Math.max(...rates))}`, ms(median(entries.map((entry) => entry.p50Ms))), ms(median(entries.map((entry) => entry.p99Ms))), String(entries.reduce((sum, entry) => sum + entry.failed, 0))];
    });
    report.section(`Records (or requests) per second: median of ${params.runs} interleaved runs`, table(["path", "records/s (req/s)", "range", "p50 ms", "p99 ms", "failed"], rows));
    const perRun = (numerator: string, denominator: string) =>
      Array.from({ length: params.runs }, (_, run) => runs.find((entry) => entry.run === run && entry.label === numerator)!.requestsPerSecond / runs.find((entry) => entry.run === run && entry.label === denominator)!.requestsPerSecond);
    const streamingRatios = perRun(streamingLabel, kafkaLabel);
    const requestRatios = perRun("produce, one record per request, HTTP/2 (1 connection × 100 streams)", "echo route, HTTP/2 (1 connection × 100 streams)");
    const h1Ratios = perRun("produce, one record per request, HTTP/1.1 keep-alive (16 connections)", "echo route, HTTP/1.1 keep-alive (16 connections)");
    const listRatios = (values: number[]) => values.map((value) => formatRatio(value)).join(", ");
    report.section("Targets (ratio within each run; median)", table(["target", "per run", "median", "verdict"], [
      ["streaming HTTP/2 produce ≥ 0.5 × Kafka protocol records/s", listRatios(streamingRatios), formatRatio(median(streamingRatios)), ratioAgainst(median(streamingRatios), "≥", 0.5)],
      ["one-record-per-request HTTP/2 produce ≥ 0.5 × echo route req/s", listRatios(requestRatios), formatRatio(median(requestRatios)), ratioAgainst(median(requestRatios), "≥", 0.5)],
      ["(no target) one-record-per-request HTTP/1.1 produce vs echo route", listRatios(h1Ratios), formatRatio(median(h1Ratios)), "—"],
    ]));
    report.section("Notes", [
      "- Each path runs alone, one after another, in every run, on the same 2-CPU machine; h2load, the bench client and the server share those CPUs. The load average at the start is in the header: figures taken under load move by ±30 % between runs, ratios within a run much less.",
      "- acks=1 everywhere (answered once in the log, as the Kafka path's acks=1). The echo route is a separate Bun process with the same Bun.serve settings.",
      "- Streaming latency: from the write of a record's 64-record chunk to its answer line.",
      `- h2load: \`-D ${seconds} --warm-up-time=1 -t 1\`, percentiles from its --log-file.`,
    ].join("\n"));
    report.figure("runs", runs);
    context.headlines.push(`http: streaming HTTP/2 produce = ${formatRatio(median(streamingRatios))} Kafka protocol records/s; one record per HTTP/2 request = ${formatRatio(median(requestRatios))} the echo route (medians of per-run ratios)`);
    return report;
  },
};
