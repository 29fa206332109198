// Scenario "durable" (issue 5, scenario 2): durable acknowledgements — acks=all, which on a
// single node answers only after the batch is on stable storage (src/kafka/handlers/00-produce.ts:
// `log.flush()`, one fdatasync shared by concurrent appends: group commit) — with 8 producers,
// against the sequential write + fdatasync floor (target ≥ 0.5×).

import { formatNumber, formatRatio, formatSpread, ratioAgainst, table } from "../lib/markdown.ts";
import { latencyTable, plotSeries, Report, summaryFigures } from "../lib/report.ts";
import { repeatedFloods, repeatedRuns } from "../lib/runner.ts";
import { ratio } from "../lib/stats.ts";
import { startRunnel } from "../systems/kafka.ts";
import { startRedis } from "../systems/redis.ts";
import type { Spread } from "../lib/stats.ts";
import type { Scenario } from "./common.ts";
import { isUnavailable, measureFloors, megabytes, tryStart } from "./common.ts";

export const durableSettings: Record<string, string> = {};
const producers = 8;

export const durableScenario: Scenario = {
  name: "durable",
  title: "Scenario 2: durable acks (acks=all: fdatasync before ack, group commit), 8 producers, vs the disk floor",
  description: "scenario 2: acks=all (fdatasync before ack, group commit), 8 producers; MB/s vs sequential write + fdatasync floor",
  async run(context) {
    const params = { ...context.params, acks: -1 as const };
    const report = new Report("durable", this.title, params);
    const floors = await measureFloors(context);
    const mb = (value: number) => formatNumber(value / 1e6);
    const mbps = (value: number) => formatNumber(megabytes(value, params), 1);
    const runnel = await tryStart(() => startRunnel({ name: "Runnel (durable)", params, crc32c: context.crc32c, settings: durableSettings, producers }));
    if (isUnavailable(runnel)) {
      report.section("Runnel", `Not measured — ${runnel.unavailable}\n`);
      context.headlines.push(`scenario 2: Runnel not measured (${runnel.unavailable})`);
      return report;
    }
    try {
      const flood = await repeatedFloods(runnel, "durable", params, context.log);
      const floodBytes = megabytes(flood.median, params) * 1e6;
      // Peer: Redis with its durable setting (fsync of the AOF before answering), same 8 connections.
      let redisFlood: Spread | null = null;
      if (params.peers) {
        const redis = await startRedis(params, "always", producers);
        try {
          redisFlood = await repeatedFloods(redis, "redis-always", params, context.log);
        } finally {
          await redis.stop();
        }
      }
      report.section(
        `Throughput with durable acks (${producers} producer connections, ${params.inFlightMax} requests in flight each)`,
        table(
          ["measure", "MB/s", "Runnel / measure"],
          [
            ["Runnel, durable acks (payload)", formatSpread(flood, mbps), ""],
            ["floor: sequential 1 MiB writes + one final fdatasync", formatSpread(floors.diskFinalSync, mb), `${ratioAgainst(ratio(floodBytes, floors.diskFinalSync.median), "≥", 0.5)} (target ≥ 0.5)`],
            ["floor: 64 KiB write + fdatasync, repeated (no concurrency)", formatSpread(floors.diskGroupCommit, mb), formatRatio(ratio(floodBytes, floors.diskGroupCommit.median))],
            ["floor: sequential writes, no sync", formatSpread(floors.diskNoSync, mb), formatRatio(ratio(floodBytes, floors.diskNoSync.median))],
            ...(redisFlood ? [[`peer: Redis Streams XADD, appendfsync always, ${producers} connections`, formatSpread(redisFlood, mbps), formatRatio(ratio(flood.median, redisFlood.median))]] : []),
          ],
        ) + `\nacks=all (-1): on one node Runnel answers after fdatasync of the appended batches, one fdatasync shared by all appends waiting at that moment. Broker settings: ${Object.entries(durableSettings).map(([key, value]) => `${key}=${value}`).join(", ") || "defaults"}.\n`,
      );
      const rate = params.rate > 0 ? params.rate : Math.round(flood.median * params.latencyRateFraction);
      const runs = await repeatedRuns(runnel, "durable-latency", { rate, durationMs: params.durationMs, warmupMs: params.warmupMs, endToEnd: true }, params, context.log);
      report.section(`Latency with durable acks at ${formatNumber(rate)} records/s (${mbps(rate)} MB/s, ${Math.round(params.latencyRateFraction * 100)} % of the flood rate)`, latencyTable([{ label: "Runnel (durable)", runs }], "produce") + "\n" + latencyTable([{ label: "Runnel (durable), end to end", runs }], "endToEnd"));
      report.plot("latency", `Durable produce latency at ${formatNumber(rate)} rec/s`, [plotSeries("produce (send → ack)", runs.representative, "produce"), plotSeries("end to end", runs.representative, "endToEnd")]);
      report.figure("flood", flood);
      report.figure("redisAlwaysFlood", redisFlood);
      report.figure("latency", summaryFigures(runs));
      context.headlines.push(`scenario 2: durable acks, ${producers} producers: ${mbps(flood.median)} MB/s = ${formatRatio(ratio(floodBytes, floors.diskFinalSync.median))} the sequential write + fdatasync floor`);
    } finally {
      await runnel.stop();
    }
    return report;
  },
};
