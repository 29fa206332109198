// Scenario "produce" (issue 3): the bench's pipelined Kafka-protocol producer — 1 KiB records,
// 16 KiB batches, acks=1, 1 and 8 partitions — against Runnel, against a raw Bun TCP sink of
// the very same frames, and against Redis Streams XADD of the same records, in the same run.
// Throughput is closed-loop (a full in-flight window); latency is open-loop at half of
// Runnel's 1-partition throughput, for Runnel and Redis at the same offered rate.

import { formatNumber, formatRatio, formatSpread, ratioAgainst, table } from "../lib/markdown.ts";
import { latencyTable, plotSeries, Report, summaryFigures } from "../lib/report.ts";
import { attemptsMarkdown, latencyAtSustainedRate, type RateMeasure, type SustainedLatency } from "../lib/sustained-rate.ts";
import { repeatedFloods, repeatedRuns } from "../lib/runner.ts";
import type { RepeatedRuns } from "../lib/runner.ts";
import { ratio } from "../lib/stats.ts";
import type { Spread } from "../lib/stats.ts";
import { startRunnel, startSink } from "../systems/kafka.ts";
import { startRedis } from "../systems/redis.ts";
import type { System } from "../systems/types.ts";
import type { Scenario } from "./common.ts";
import { isUnavailable, megabytes, tryStart } from "./common.ts";

export const produceScenario: Scenario = {
  name: "produce",
  title: "Produce: pipelined Kafka-protocol producer vs raw TCP sink vs Redis XADD",
  description: "issue 3: 1 KiB records, 16 KiB batches, 1 and 8 partitions, acks=1 — Runnel / TCP sink ratio and Runnel / Redis ratio",
  async run(context) {
    const params = context.params;
    const report = new Report("produce", this.title, params);
    const mbps = (value: number) => formatNumber(megabytes(value, params), 1);
    const rows: string[][] = [];
    const floods: Record<string, Spread> = {};
    const notes: string[] = [];
    for (const partitions of [1, 8]) {
      const sink = await startSink({ name: "raw TCP sink", params, crc32c: context.crc32c, partitions });
      try {
        floods[`sink-${partitions}`] = await repeatedFloods(sink, `sink-${partitions}`, params, context.log);
      } finally {
        await sink.stop();
      }
      const runnel = await tryStart(() => startRunnel({ name: "Runnel", params, crc32c: context.crc32c, partitions }));
      if (isUnavailable(runnel)) {
        notes.push(`Runnel (${partitions} partition(s)): not measured — ${runnel.unavailable}`);
        continue;
      }
      try {
        floods[`runnel-${partitions}`] = await repeatedFloods(runnel, `runnel-${partitions}`, params, context.log);
      } catch (error) {
        notes.push(`Runnel (${partitions} partition(s)): failed — ${(error as Error).message}`);
      } finally {
        await runnel.stop();
      }
    }
    let redis: System | null = null;
    if (params.peers) {
      redis = await startRedis(params);
      floods.redis = await repeatedFloods(redis, "redis", params, context.log);
      try {
        const reference = await redis.reference!();
        notes.push(`Redis (redis-benchmark, reference): ${mbps(reference.recordsPerSecond)} MB/s (${formatNumber(reference.recordsPerSecond)} XADD/s) on the same server in this run — \`${reference.command}\`; the ceiling the bench's Redis driver is held to.`);
        report.figure("redisReference", reference);
      } catch (error) {
        notes.push(`Redis (redis-benchmark, reference): not measured — ${(error as Error).message}`);
      }
    }
    for (const partitions of [1, 8]) {
      const sink = floods[`sink-${partitions}`]!;
      const runnel = floods[`runnel-${partitions}`];
      rows.push([
        `${partitions}`,
        runnel ? formatSpread(runnel, mbps) : "n/a",
        formatSpread(sink, mbps),
        runnel ? ratioAgainst(ratio(runnel.median, sink.median), "≥", 0.5) : "n/a",
        floods.redis ? formatSpread(floods.redis, mbps) : "n/a",
        runnel && floods.redis ? ratioAgainst(ratio(runnel.median, floods.redis.median), "≥", 3) : "n/a",
      ]);
    }
    report.section(
      "Throughput (closed loop, payload MB/s = records/s × record size)",
      table(["partitions", "Runnel MB/s", "raw TCP sink MB/s", "Runnel / sink (target ≥ 0.5)", "Redis XADD MB/s", "Runnel / Redis (target ≥ 3)"], rows) +
        `\nThe sink receives the same Produce frames from the same producer and answers each with 8 bytes, without parsing or storing: it is the ceiling of this generator plus loopback TCP. Redis: ${params.producers} connection(s), ${params.inFlightMax * 32} XADDs in flight each (the bench's pipelined RESP driver), one entry per record. CRC-32C: ${context.crcSource}.\n` +
        (notes.length > 0 ? `\n${notes.map((note) => `- ${note}`).join("\n")}\n` : ""),
    );
    report.figure("floods", floods);
    // Latency at an offered rate every system sustains (≥ 95 % achieved): start at half of the
    // slower system's closed-loop rate, halve until both keep up (bench/lib/sustained-rate.ts).
    const base = Math.min(floods["runnel-1"]?.median ?? Infinity, floods.redis?.median ?? Infinity);
    const startRate = params.rate > 0 ? params.rate : Number.isFinite(base) ? Math.round(base * params.latencyRateFraction) : 0;
    if (startRate > 0) {
      const runnel = await tryStart(() => startRunnel({ name: "Runnel", params, crc32c: context.crc32c, partitions: 1 }));
      const measures: RateMeasure[] = [];
      if (!isUnavailable(runnel)) {
        measures.push({ label: "Runnel (1 partition)", measure: (rate) => repeatedRuns(runnel, "runnel-latency", { rate, durationMs: params.durationMs, warmupMs: params.warmupMs, endToEnd: true }, params, context.log) });
      }
      if (redis) {
        const peer = redis;
        measures.push({ label: "Redis Streams", measure: (rate) => repeatedRuns(peer, "redis-latency", { rate, durationMs: params.durationMs, warmupMs: params.warmupMs, endToEnd: true }, params, context.log) });
      }
      let sustained: SustainedLatency | null = null;
      try {
        if (measures.length > 0) sustained = await latencyAtSustainedRate(measures, startRate, context.log);
      } finally {
        if (!isUnavailable(runnel)) await runnel.stop();
      }
      if (sustained !== null) {
        report.section("Offered rates tried for latency", attemptsMarkdown(sustained.attempts) + "\n\nSaturation (the most each system takes, closed loop) is the throughput table above; latency is only reported at a rate every system sustains.\n");
        report.figure("latencyAttempts", sustained.attempts);
        const rate = sustained.rate;
        if (rate !== null) {
          const latencyRows = sustained.rows;
          report.section(`Produce latency at ${formatNumber(rate)} records/s (${formatNumber(megabytes(rate, params), 1)} MB/s offered, sustained by every system)`, latencyTable(latencyRows, "produce"));
          report.section("End-to-end latency (send → consumed) at the same rate", latencyTable(latencyRows, "endToEnd"));
          report.plot("produce-latency", `Produce latency (send → ack) at ${formatNumber(rate)} rec/s`, latencyRows.map((row) => plotSeries(row.label, row.runs.representative, "produce")));
          for (const row of latencyRows) report.figure(`latency ${row.label}`, summaryFigures(row.runs));
        }
      }
    }
    await redis?.stop();
    const runnel1 = floods["runnel-1"];
    if (runnel1) {
      context.headlines.push(`produce (1 partition): Runnel ${mbps(runnel1.median)} MB/s = ${formatRatio(ratio(runnel1.median, floods["sink-1"]!.median))} the raw TCP sink${floods.redis ? `, ${formatRatio(ratio(runnel1.median, floods.redis.median))} Redis XADD` : ""}`);
    } else {
      context.headlines.push(`produce: Runnel not measured (${notes[0] ?? "unavailable"}); sink ${mbps(floods["sink-1"]!.median)} MB/s${floods.redis ? `, Redis ${mbps(floods.redis.median)} MB/s` : ""}`);
    }
    return report;
  },
};
