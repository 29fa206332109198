// Scenario "partitions" (issue 5, scenario 3): 1,000 partitions on one node — throughput,
// latency, and the broker's memory: RSS (anonymous and file-backed) and, separately, the
// bytes of segment/index files it has mapped. Target: RSS under 1 GiB.

import { formatNumber, formatSpread, table } from "../lib/markdown.ts";
import { latencyTable, plotSeries, Report, summaryFigures } from "../lib/report.ts";
import { repeatedFloods, repeatedRuns } from "../lib/runner.ts";
import type { ProcessMemory } from "../kafka/broker.ts";
import { startRunnel } from "../systems/kafka.ts";
import type { Scenario } from "./common.ts";
import { isUnavailable, megabytes, tryStart } from "./common.ts";

export const partitionsScenario: Scenario = {
  name: "partitions",
  title: "Scenario 3: 1,000 partitions on one node — throughput, latency, memory",
  description: "scenario 3: many partitions (default 1,000): throughput, latency, RSS and mapped bytes of the broker",
  async run(context) {
    const params = context.params;
    const partitions = params.manyPartitions;
    const report = new Report("partitions", this.title.replace("1,000", formatNumber(partitions)), params);
    const mbps = (value: number) => formatNumber(megabytes(value, params), 1);
    const runnel = await tryStart(() => startRunnel({ name: "Runnel", params, crc32c: context.crc32c, partitions }));
    if (isUnavailable(runnel)) {
      report.section("Runnel", `Not measured — ${runnel.unavailable}\n`);
      context.headlines.push(`scenario 3: Runnel not measured (${runnel.unavailable})`);
      return report;
    }
    const memory: Array<[string, ProcessMemory | null]> = [];
    try {
      memory.push(["idle broker", runnel.memory?.() ?? null]);
      const flood = await repeatedFloods(runnel, "partitions", params, context.log);
      memory.push([`after ${params.runs} flood run(s) (${params.runs} topics × ${partitions} partitions)`, runnel.memory?.() ?? null]);
      const rate = params.rate > 0 ? params.rate : Math.round(flood.median * params.latencyRateFraction);
      const runs = await repeatedRuns(runnel, "partitions-latency", { rate, durationMs: params.durationMs, warmupMs: params.warmupMs, endToEnd: true }, params, context.log);
      memory.push([`after the latency runs (${params.runs * 2} topics × ${partitions} partitions in all)`, runnel.memory?.() ?? null]);
      report.section(
        `Throughput over ${formatNumber(partitions)} partitions (batches spread round-robin, ${params.producers} producer connection(s))`,
        table(["measure", "value"], [["records/s", formatSpread(flood, (value) => formatNumber(value))], ["payload MB/s", formatSpread(flood, mbps)]]),
      );
      report.section(`Latency at ${formatNumber(rate)} records/s (${mbps(rate)} MB/s)`, latencyTable([{ label: `Runnel, ${partitions} partitions`, runs }], "produce") + "\n" + latencyTable([{ label: `Runnel, ${partitions} partitions, end to end`, runs }], "endToEnd"));
      const gib = (bytes: number) => `${formatNumber(bytes / 2 ** 20)} MiB`;
      report.section(
        "Broker memory (from /proc/<pid>/status and /proc/<pid>/smaps)",
        table(
          ["when", "RSS", "RSS anonymous", "RSS file-backed", "data files mapped (virtual)", "mappings", "mapped data resident"],
          memory.map(([when, value]) =>
            value
              ? [when, gib(value.rssBytes), gib(value.rssAnonBytes), gib(value.rssFileBytes), gib(value.dataMappedBytes), formatNumber(value.dataMappings), gib(value.dataMappedResidentBytes)]
              : [when, "n/a", "n/a", "n/a", "n/a", "n/a", "n/a"],
          ),
        ) + `\nTarget: RSS under 1 GiB. Mapped file pages are counted in RSS (file-backed) while resident; the kernel can drop them under memory pressure, unlike anonymous memory.\n`,
      );
      report.plot("latency", `Produce latency, ${partitions} partitions, ${formatNumber(rate)} rec/s`, [plotSeries("produce (send → ack)", runs.representative, "produce"), plotSeries("end to end", runs.representative, "endToEnd")]);
      report.figure("flood", flood);
      report.figure("latency", summaryFigures(runs));
      report.figure("memory", Object.fromEntries(memory));
      const last = memory.at(-1)?.[1];
      context.headlines.push(`scenario 3: ${partitions} partitions: ${mbps(flood.median)} MB/s, p99 ${(runs.produce.p99.median / 1000).toFixed(2)} ms at ${formatNumber(rate)} rec/s; RSS ${last ? gib(last.rssBytes) : "n/a"} (anonymous ${last ? gib(last.rssAnonBytes) : "n/a"}), data mapped ${last ? gib(last.dataMappedBytes) : "n/a"}`);
    } finally {
      await runnel.stop();
    }
    return report;
  },
};
