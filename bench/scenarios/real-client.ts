// Scenario "real-client": the produce test driven by a real Kafka client, confluent-kafka-
// python (librdkafka), as a subprocess (bench/clients/confluent-produce.py): closed-loop
// throughput and open-loop latency at the same offered rate as the bench's own producer, so
// users see what they will get from a mainstream client.

import { join } from "node:path";
import { LatencyHistogram } from "../lib/histogram.ts";
import { formatMs, formatNumber, formatSpread, table } from "../lib/markdown.ts";
import { latencyTable, plotSeries, Report } from "../lib/report.ts";
import { repeatedFloods, repeatedRuns } from "../lib/runner.ts";
import { spread, medianIndex } from "../lib/stats.ts";
import { createTopic } from "../kafka/broker.ts";
import { trackChild } from "../lib/process.ts";
import { startRunnel } from "../systems/kafka.ts";
import { trialName } from "../systems/types.ts";
import type { Scenario } from "./common.ts";
import { isUnavailable, megabytes, tryStart } from "./common.ts";

const script = join(import.meta.dir, "../clients/confluent-produce.py");
export const pythonPath = "/usr/bin/python3";

interface ClientResult {
  sent: number;
  acked: number;
  failed: number;
  firstError: string | null;
  measuredAcked: number;
  achievedRate: number;
  latenciesUs: number[];
}

async function runClient(args: string[]): Promise<ClientResult> {
  const child = Bun.spawn([pythonPath, script, ...args], { stdout: "pipe", stderr: "pipe" });
  trackChild(child);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`confluent-produce.py exited ${code}: ${stderr.slice(-800)}`);
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as ClientResult;
}

export const realClientScenario: Scenario = {
  name: "real-client",
  title: "Real client: the produce test through confluent-kafka-python (librdkafka)",
  description: "confluent-kafka-python producer (subprocess): throughput and open-loop latency, vs the bench's own producer",
  async run(context) {
    const params = context.params;
    const report = new Report("real-client", this.title, params);
    const runnel = await tryStart(() => startRunnel({ name: "Runnel (bench producer)", params, crc32c: context.crc32c }));
    if (isUnavailable(runnel)) {
      report.section("Runnel", `Not measured — ${runnel.unavailable}\n`);
      context.headlines.push(`real client: Runnel not measured (${runnel.unavailable})`);
      return report;
    }
    const mbps = (value: number) => formatNumber(megabytes(value, params), 1);
    try {
      const common = (topic: string) => [
        "--bootstrap", `${runnel.broker.host}:${runnel.broker.port}`, "--topic", topic, "--record-bytes", String(params.recordBytes),
        "--duration-s", String(params.durationMs / 1000), "--warmup-s", String(params.warmupMs / 1000), "--acks", params.acks === -1 ? "all" : String(params.acks),
        "--linger-ms", String(params.lingerMs), "--batch-bytes", String(params.batchBytes), "--compression", params.compression,
      ];
      const floodRates: number[] = [];
      for (let run = 0; run < params.runs; run++) {
        const topic = trialName("bench-rdkafka", `flood-${run}`);
        await createTopic(runnel.broker, topic, params.partitions);
        const result = await runClient([...common(topic), "--rate", "0"]);
        if (result.failed > 0) throw new Error(`librdkafka reported ${result.failed} failed deliveries: ${result.firstError}`);
        context.log(`  librdkafka flood run ${run + 1}: ${Math.round(result.achievedRate)} records/s`);
        floodRates.push(result.achievedRate);
      }
      const clientFlood = spread(floodRates);
      const ownFlood = await repeatedFloods(runnel, "own-flood", params, context.log);
      report.section(
        "Throughput (closed loop)",
        table(["producer", "records/s", "payload MB/s"], [
          ["confluent-kafka-python (librdkafka 2.0.2)", formatSpread(clientFlood, (value) => formatNumber(value)), formatSpread(clientFlood, mbps)],
          ["bench pipelined producer", formatSpread(ownFlood, (value) => formatNumber(value)), formatSpread(ownFlood, mbps)],
        ]) + `\nlibrdkafka settings: acks=${params.acks}, linger.ms=${params.lingerMs}, batch.size=${params.batchBytes}, compression.type=${params.compression}, idempotence off. Its flood is limited by the Python loop calling produce() per record.\n`,
      );
      const rate = params.rate > 0 ? params.rate : Math.round(Math.min(clientFlood.median, ownFlood.median) * params.latencyRateFraction);
      const histograms: LatencyHistogram[] = [];
      const p99s: number[] = [];
      const achieved: number[] = [];
      const rows: string[][] = [];
      for (let run = 0; run < params.runs; run++) {
        const topic = trialName("bench-rdkafka", `latency-${run}`);
        await createTopic(runnel.broker, topic, params.partitions);
        const result = await runClient([...common(topic), "--rate", String(rate)]);
        const histogram = new LatencyHistogram();
        for (const value of result.latenciesUs) histogram.recordUs(value);
        histograms.push(histogram);
        p99s.push(histogram.percentileUs(99));
        achieved.push(result.achievedRate);
        context.log(`  librdkafka @ ${rate}/s run ${run + 1}: achieved ${Math.round(result.achievedRate)}/s, p50 ${formatMs(histogram.percentileUs(50))} ms, p99 ${formatMs(histogram.percentileUs(99))} ms${result.failed > 0 ? `, FAILED ${result.failed}` : ""}`);
      }
      const summaries = histograms.map((histogram) => histogram.summary());
      const cell = (values: number[]) => formatSpread(spread(values), formatMs);
      rows.push([
        "confluent-kafka-python", formatNumber(rate), formatSpread(spread(achieved), (value) => formatNumber(value)),
        cell(summaries.map((entry) => entry.p50Us)), cell(summaries.map((entry) => entry.p90Us)), cell(summaries.map((entry) => entry.p99Us)),
        cell(summaries.map((entry) => entry.p999Us)), cell(summaries.map((entry) => entry.p9999Us)), cell(summaries.map((entry) => entry.maxUs)),
      ]);
      const own = await repeatedRuns(runnel, "own-latency", { rate, durationMs: params.durationMs, warmupMs: params.warmupMs, endToEnd: false }, params, context.log);
      report.section(
        `Produce latency at ${formatNumber(rate)} records/s (open loop, from intended send time)`,
        table(["producer", "offered rec/s", "achieved rec/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "p99.99 ms", "max ms"], rows) + "\n" + latencyTable([{ label: "bench pipelined producer", runs: own }], "produce"),
      );
      const representative = histograms[medianIndex(p99s)]!;
      report.plot("latency", `Produce latency at ${formatNumber(rate)} rec/s: librdkafka vs bench producer`, [
        { label: "confluent-kafka-python", points: representative.plotPoints() },
        plotSeries("bench producer", own.representative, "produce"),
      ]);
      report.figure("clientFlood", clientFlood);
      report.figure("ownFlood", ownFlood);
      report.figure("clientLatency", summaries);
      context.headlines.push(`real client (librdkafka): ${mbps(clientFlood.median)} MB/s closed loop; p99 ${formatMs(spread(p99s).median)} ms at ${formatNumber(rate)} rec/s (bench producer ${formatMs(own.produce.p99.median)} ms)`);
    } finally {
      await runnel.stop();
    }
    return report;
  },
};
