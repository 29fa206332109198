// Scenario "peers" (issue 12, targets 1 and 2): what a user sees with real clients, side by side
// in one run. kcat (librdkafka) produces `--peer-records` × 1 KiB records (`-X linger.ms=5`, as the
// issue measured) and consumes them back (`-C -e`), against Runnel and against librdkafka's own
// in-process mock broker (C, in memory: bench/clients/mock-broker.py); confluent-kafka-python floods
// both with the same settings; Redis Streams takes the same bytes as pipelined XADDs (the bench's
// RESP driver, and redis-benchmark as the reference ceiling). Then one request in flight on one
// connection: 1 KiB Produce v3 acks=1 against Runnel and 1 KiB XADD against Redis, interleaved run
// by run, latency percentiles from an HDR histogram.
//
// Every pair is measured in the same run, and every ratio is computed within a run (then the
// median over runs is reported): the machine is shared, absolute figures move with its load.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createTopic, benchTmpRoot } from "../kafka/broker.ts";
import { produceFrame } from "../kafka/wire.ts";
import { LatencyHistogram, type LatencySummary } from "../lib/histogram.ts";
import { formatMs, formatNumber, formatRatio, formatSpread, table } from "../lib/markdown.ts";
import { spawnChild, trackChild } from "../lib/process.ts";
import { Report } from "../lib/report.ts";
import { spread, type Spread } from "../lib/stats.ts";
import { startRunnel } from "../systems/kafka.ts";
import { startRedis } from "../systems/redis.ts";
import { trialName } from "../systems/types.ts";
import type { Scenario, ScenarioContext } from "./common.ts";
import { isUnavailable, tryStart } from "./common.ts";
import { pythonPath } from "./real-client.ts";

const mockScript = join(import.meta.dir, "../clients/mock-broker.py");
const confluentScript = join(import.meta.dir, "../clients/confluent-produce.py");

interface MockBroker {
  bootstrap: string;
  stop(): Promise<void>;
}

async function startMockBroker(): Promise<MockBroker> {
  const child = await spawnChild({ cmd: [pythonPath, mockScript], ready: /^(127\.0\.0\.1:\d+)$/, readyTimeoutMs: 15_000 });
  return { bootstrap: child.match[1]!, stop: () => child.stop() };
}

/** `count` newline-separated records of `bytes` printable bytes each (kcat reads one per line). */
export function writeRecordsFile(path: string, count: number, bytes: number): void {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const line = new Uint8Array(bytes + 1);
  for (let index = 0; index < bytes; index++) line[index] = alphabet.charCodeAt(Math.floor(Math.random() * 64));
  line[bytes] = 10;
  const chunkLines = 1024;
  const chunk = new Uint8Array(line.length * chunkLines);
  for (let index = 0; index < chunkLines; index++) chunk.set(line, index * line.length);
  const parts: Uint8Array[] = [];
  for (let written = 0; written < count; written += chunkLines) {
    const lines = Math.min(chunkLines, count - written);
    parts.push(lines === chunkLines ? chunk : chunk.subarray(0, lines * line.length));
  }
  writeFileSync(path, Buffer.concat(parts));
}

interface Timed {
  seconds: number;
  records: number;
}

async function runTimed(cmd: string[], countLines: boolean): Promise<Timed> {
  const started = performance.now();
  const child = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  trackChild(child);
  let lines = 0;
  const counting = (async () => {
    for await (const chunk of child.stdout) {
      if (!countLines) continue;
      for (let index = 0; index < chunk.length; index++) if (chunk[index] === 10) lines++;
    }
  })();
  const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited, counting]);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`${cmd.slice(0, 3).join(" ")} … exited ${code}: ${stderr.slice(-600)}`);
  return { seconds, records: lines };
}

export function kcatProduce(bootstrap: string, topic: string, file: string): Promise<Timed> {
  return runTimed(["kcat", "-P", "-b", bootstrap, "-t", topic, "-p", "0", "-X", "linger.ms=5", "-l", file], false);
}

export function kcatConsume(bootstrap: string, topic: string): Promise<Timed> {
  return runTimed(["kcat", "-C", "-b", bootstrap, "-t", topic, "-p", "0", "-o", "beginning", "-e", "-X", "fetch.wait.max.ms=5", "-q", "-f", ".\n"], true);
}

async function confluentFlood(bootstrap: string, topic: string, context: ScenarioContext): Promise<number> {
  const params = context.params;
  const args = [
    "--bootstrap", bootstrap, "--topic", topic, "--record-bytes", String(params.recordBytes), "--rate", "0",
    "--duration-s", String(params.durationMs / 1000), "--warmup-s", String(params.warmupMs / 1000), "--acks", "1",
    "--linger-ms", "5", "--batch-bytes", String(params.batchBytes), "--compression", "none",
  ];
  const child = Bun.spawn([pythonPath, confluentScript, ...args], { stdout: "pipe", stderr: "pipe" });
  trackChild(child);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`confluent-produce.py exited ${code}: ${stderr.slice(-600)}`);
  const result = JSON.parse(stdout.trim().split("\n").at(-1)!) as { achievedRate: number; failed: number; firstError: string | null };
  if (result.failed > 0) throw new Error(`librdkafka reported ${result.failed} failed deliveries: ${result.firstError}`);
  return result.achievedRate;
}

/**
 * Sends `frame` `requests + warmup` times on one connection, one at a time, and records the time
 * from each write to its complete answer (`complete` says when the bytes received so far are one).
 */
export function oneInFlight(host: string, port: number, frame: Uint8Array, complete: (bytes: Uint8Array) => boolean, requests: number, warmup: number): Promise<LatencyHistogram> {
  const histogram = new LatencyHistogram();
  let received = new Uint8Array(0);
  let sent = 0;
  let sentAt = 0;
  return new Promise((resolve, reject) => {
    const sendNext = (socket: { write(data: Uint8Array): number; end(): void }) => {
      sent++;
      sentAt = performance.now();
      const written = socket.write(frame);
      if (written !== frame.length) reject(new Error(`short write ${written} of ${frame.length} bytes`));
    };
    void Bun.connect({
      hostname: host,
      port,
      socket: {
        open: sendNext,
        data(socket, chunk) {
          const joined = new Uint8Array(received.length + chunk.length);
          joined.set(received);
          joined.set(chunk, received.length);
          received = joined;
          if (!complete(received)) return;
          const elapsedUs = (performance.now() - sentAt) * 1000;
          received = new Uint8Array(0);
          if (sent > warmup) histogram.recordUs(elapsedUs);
          if (sent >= requests + warmup) {
            socket.end();
            resolve(histogram);
            return;
          }
          sendNext(socket);
        },
        error: (_socket, error) => reject(error),
        close: () => {
          if (sent < requests + warmup) reject(new Error(`connection closed after ${sent} requests`));
        },
      },
    }).catch(reject);
  });
}

export const kafkaAnswerComplete = (bytes: Uint8Array) =>
  bytes.length >= 4 && bytes.length >= 4 + ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!);

/** A RESP bulk string (`$N\r\n…\r\n`) or a one-line reply (`+`, `-`, `:`). */
function respReplyComplete(bytes: Uint8Array): boolean {
  const lineEnd = bytes.indexOf(13);
  if (lineEnd < 0 || bytes.length < lineEnd + 2) return false;
  if (bytes[0] !== 36) return true; // '$'
  const length = Number(new TextDecoder().decode(bytes.subarray(1, lineEnd)));
  return length < 0 || bytes.length >= lineEnd + 2 + length + 2;
}

function respCommand(parts: (string | Uint8Array)[]): Uint8Array {
  const encoder = new TextEncoder();
  const chunks: Uint8Array[] = [encoder.encode(`*${parts.length}\r\n`)];
  for (const part of parts) {
    const bytes = typeof part === "string" ? encoder.encode(part) : part;
    chunks.push(encoder.encode(`$${bytes.length}\r\n`), bytes, encoder.encode("\r\n"));
  }
  return Buffer.concat(chunks);
}

const median = (values: number[]) => spread(values).median;
const mbps = (bytes: number, seconds: number) => bytes / seconds / 1e6;
const cell = (values: Spread, digits = 0) => formatSpread(values, (value) => formatNumber(value, digits));
const ratioCell = (values: number[]) => formatSpread(spread(values), formatRatio);

export interface PeerFigures {
  produceMBps: { runnel: number[]; mock: number[] };
  consumeMBps: { runnel: number[]; mock: number[] };
  consumedRecords: { runnel: number[]; mock: number[] };
  confluentMBps: { runnel: number[]; mock: number[] };
  redisMBps: number[];
  redisBenchmarkMBps: number | null;
  latency: { runnel: LatencySummary[]; redis: LatencySummary[] };
}

export async function measurePeers(context: ScenarioContext, report: Report, options: { confluent: boolean; redisReference: boolean }): Promise<PeerFigures | null> {
  const params = context.params;
  const runnel = await tryStart(() => startRunnel({ name: "Runnel", params, crc32c: context.crc32c }));
  if (isUnavailable(runnel)) {
    report.section("Runnel", `Not measured — ${runnel.unavailable}\n`);
    return null;
  }
  const stops: (() => Promise<void>)[] = [() => runnel.stop()];
  const directory = join(benchTmpRoot, `peers-${process.pid}`);
  mkdirSync(directory, { recursive: true });
  try {
    const mock = await startMockBroker();
    stops.push(() => mock.stop());
    const redis = await startRedis(params, "everysec", 1);
    stops.push(() => redis.stop());
    const runnelBootstrap = `${runnel.broker.host}:${runnel.broker.port}`;
    const file = join(directory, "records.txt");
    writeRecordsFile(file, params.peerRecords, params.recordBytes);
    const payloadBytes = params.peerRecords * params.recordBytes;
    const figures: PeerFigures = {
      produceMBps: { runnel: [], mock: [] }, consumeMBps: { runnel: [], mock: [] }, consumedRecords: { runnel: [], mock: [] }, confluentMBps: { runnel: [], mock: [] },
      redisMBps: [], redisBenchmarkMBps: null, latency: { runnel: [], redis: [] },
    };
    const latencyTopic = trialName("peers", "one-in-flight");
    await createTopic(runnel.broker, latencyTopic, 1);
    const payload = crypto.getRandomValues(new Uint8Array(params.recordBytes));
    const kafkaFrame = produceFrame(3, 1, "bench-one-in-flight", 1, 30_000, latencyTopic, 0,
      { valueBytes: params.recordBytes, firstIndex: 0, count: 1, timestampMs: Date.now(), compression: "none" }, payload, context.crc32c);
    const redisFrame = respCommand(["XADD", trialName("peers", "one-in-flight"), "*", "v", payload]);
    const warmup = Math.min(2000, Math.ceil(params.oneInFlightRequests / 10));
    for (let run = 0; run < params.runs; run++) {
      // kcat produce, then consume, Runnel and the mock back to back.
      for (const [label, bootstrap] of [["runnel", runnelBootstrap], ["mock", mock.bootstrap]] as const) {
        const topic = trialName("peers", `kcat-${label}`);
        if (label === "runnel") await createTopic(runnel.broker, topic, 1);
        const produced = await kcatProduce(bootstrap, topic, file);
        const consumed = await kcatConsume(bootstrap, topic);
        // The mock keeps only the last ~5 MB of a partition (librdkafka drops older segments), so it
        // returns fewer records than were produced; Runnel must return them all.
        if (label === "runnel" && consumed.records !== params.peerRecords) throw new Error(`kcat consumed ${consumed.records} of ${params.peerRecords} records from Runnel`);
        const consumedBytes = consumed.records * params.recordBytes;
        figures.produceMBps[label].push(mbps(payloadBytes, produced.seconds));
        figures.consumeMBps[label].push(mbps(consumedBytes, consumed.seconds));
        figures.consumedRecords[label].push(consumed.records);
        context.log(`  run ${run + 1} kcat ${label}: produce ${formatNumber(mbps(payloadBytes, produced.seconds), 1)} MB/s, consume ${formatNumber(mbps(consumedBytes, consumed.seconds), 1)} MB/s (${consumed.records} records)`);
      }
      if (options.confluent) {
        for (const [label, bootstrap] of [["runnel", runnelBootstrap], ["mock", mock.bootstrap]] as const) {
          const topic = trialName("peers", `confluent-${label}`);
          if (label === "runnel") await createTopic(runnel.broker, topic, 1);
          const rate = await confluentFlood(bootstrap, topic, context);
          figures.confluentMBps[label].push((rate * params.recordBytes) / 1e6);
          context.log(`  run ${run + 1} confluent-kafka-python ${label}: ${formatNumber((rate * params.recordBytes) / 1e6, 1)} MB/s`);
        }
      }
      const redisFlood = await redis.flood(`peers-${run}`, params.durationMs, params.warmupMs);
      figures.redisMBps.push((redisFlood.recordsPerSecond * params.recordBytes) / 1e6);
      context.log(`  run ${run + 1} Redis pipelined XADD: ${formatNumber((redisFlood.recordsPerSecond * params.recordBytes) / 1e6, 1)} MB/s`);
      const runnelLatency = await oneInFlight(runnel.broker.host, runnel.broker.port, kafkaFrame, kafkaAnswerComplete, params.oneInFlightRequests, warmup);
      const redisLatency = await oneInFlight("127.0.0.1", redis.port, redisFrame, respReplyComplete, params.oneInFlightRequests, warmup);
      figures.latency.runnel.push(runnelLatency.summary());
      figures.latency.redis.push(redisLatency.summary());
      context.log(`  run ${run + 1} one in flight: Runnel p50 ${formatMs(runnelLatency.percentileUs(50))} p99 ${formatMs(runnelLatency.percentileUs(99))} p99.9 ${formatMs(runnelLatency.percentileUs(99.9))} ms; Redis p50 ${formatMs(redisLatency.percentileUs(50))} p99 ${formatMs(redisLatency.percentileUs(99))} p99.9 ${formatMs(redisLatency.percentileUs(99.9))} ms`);
    }
    if (options.redisReference && redis.reference) {
      const reference = await redis.reference();
      figures.redisBenchmarkMBps = (reference.recordsPerSecond * params.recordBytes) / 1e6;
    }
    return figures;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    rmSync(directory, { recursive: true, force: true });
  }
}

function perRun(a: number[], b: number[]): number[] {
  return a.map((value, index) => value / b[index]!);
}

export function writePeerTables(report: Report, figures: PeerFigures, params: ScenarioContext["params"]): string {
  const { produceMBps: produce, consumeMBps: consume, confluentMBps: confluent } = figures;
  const produceVsMock = perRun(produce.runnel, produce.mock);
  const produceVsRedis = perRun(produce.runnel, figures.redisMBps);
  const consumeVsMock = perRun(consume.runnel, consume.mock);
  // Comparable only when the mock returned most of the records (it keeps ~5 MB per partition).
  const consumeComparable = figures.consumedRecords.mock.every((records) => records >= params.peerRecords / 2);
  const rows: string[][] = [
    ["kcat produce (`-X linger.ms=5`)", cell(spread(produce.runnel), 1), cell(spread(produce.mock), 1), ratioCell(produceVsMock), "≥ 0.8×"],
    [
      "kcat consume (`-C -e`)", cell(spread(consume.runnel), 1),
      `${cell(spread(consume.mock), 1)} (${formatNumber(median(figures.consumedRecords.mock))} records)`,
      consumeComparable ? ratioCell(consumeVsMock) : "n/a: the mock kept too few records", "≥ 0.8×",
    ],
  ];
  if (confluent.runnel.length > 0) {
    rows.push(["confluent-kafka-python flood (acks=1, linger.ms=5)", cell(spread(confluent.runnel), 1), cell(spread(confluent.mock), 1), ratioCell(perRun(confluent.runnel, confluent.mock)), "≥ 0.8×"]);
  }
  report.section(
    "Real clients: Runnel vs librdkafka's mock broker (payload MB/s, median (min–max) over runs)",
    table(["client", "Runnel", "mock broker", "Runnel / mock (per run)", "target"], rows) +
      `\n${params.peerRecords.toLocaleString("en")} × ${params.recordBytes}-byte records per kcat run; time from kcat's start to its exit (connection and metadata included). ` +
      "Partition 0 only (the mock auto-creates 4 partitions). The consumer runs with `-X fetch.wait.max.ms=5`: with the default 500 ms, the fetch that finds the end of the partition adds half a second to every run of either system. The mock keeps only about the last 5 MB of a partition, so it returns a few thousand records to the consumer and its consume figure is dominated by kcat's start-up: the consume ratio is shown only when the mock returned at least half of the records. kcat's produce uses librdkafka's default acks (all): Runnel answers acks=all on one node once the batch is on stable storage (fdatasync, group commit); the mock keeps records in memory.\n",
  );
  report.section(
    "Runnel vs Redis Streams (same bytes)",
    table(["system", "MB/s", "Runnel kcat produce / it (per run)", "target"], [
      ["Redis pipelined XADD (bench RESP driver, 1 connection)", cell(spread(figures.redisMBps), 1), ratioCell(produceVsRedis), "≥ 3×"],
      ...(figures.redisBenchmarkMBps === null ? [] : [["redis-benchmark -P 64 -c 4 (reference ceiling)", formatNumber(figures.redisBenchmarkMBps, 1), formatRatio(median(produce.runnel) / figures.redisBenchmarkMBps), ""]]),
    ]),
  );
  const latencyRow = (label: string, runs: LatencySummary[]) => [
    label,
    cell(spread(runs.map((entry) => entry.p50Us / 1000)), 3),
    cell(spread(runs.map((entry) => entry.p99Us / 1000)), 3),
    cell(spread(runs.map((entry) => entry.p999Us / 1000)), 3),
    cell(spread(runs.map((entry) => entry.maxUs / 1000)), 3),
  ];
  const p99Ratio = figures.latency.runnel.map((entry, index) => entry.p99Us / figures.latency.redis[index]!.p99Us);
  const p999Ratio = figures.latency.runnel.map((entry, index) => entry.p999Us / figures.latency.redis[index]!.p999Us);
  report.section(
    `One request in flight, one connection, ${params.oneInFlightRequests.toLocaleString("en")} requests per run (ms)`,
    table(["system", "p50", "p99", "p99.9", "max"], [
      latencyRow("Runnel: Produce v3, 1 KiB, acks=1", figures.latency.runnel),
      latencyRow("Redis: XADD 1 KiB (AOF everysec)", figures.latency.redis),
    ]) +
      "\n" +
      table(["ratio (per run)", "Runnel / Redis", "target"], [
        ["p99", ratioCell(p99Ratio), "≤ 1×"],
        ["p99.9", ratioCell(p999Ratio), "≤ 2×"],
      ]),
  );
  report.figure("peers", figures);
  return `peers: kcat produce ${formatRatio(median(produceVsMock))} of the mock, ${formatRatio(median(produceVsRedis))} of Redis; consume ${formatNumber(median(consume.runnel), 1)} MB/s${consumeComparable ? ` (${formatRatio(median(consumeVsMock))} of the mock)` : ""}; one in flight p99 ${formatRatio(median(p99Ratio))} / p99.9 ${formatRatio(median(p999Ratio))} of Redis`;
}

export const peersScenario: Scenario = {
  name: "peers",
  title: "Real clients against Runnel, librdkafka's mock broker and Redis Streams (issue 12)",
  description: "kcat produce/consume vs librdkafka's mock broker and Redis Streams; one-in-flight latency vs Redis",
  async run(context) {
    const report = new Report("peers", this.title, context.params);
    const figures = await measurePeers(context, report, { confluent: true, redisReference: true });
    if (figures !== null) context.headlines.push(writePeerTables(report, figures, context.params));
    return report;
  },
};
