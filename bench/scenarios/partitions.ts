// Scenario "partitions" (issue 5, scenario 3): 1,000 partitions on one node — throughput,
// latency, and the broker's memory: RSS (anonymous and file-backed) and, separately, the
// bytes of segment/index files it has mapped. Target: RSS under 1 GiB.

import { formatNumber, formatSpread, table, verdict } from "../lib/markdown.ts";
import { latencyTable, plotSeries, Report, summaryFigures } from "../lib/report.ts";
import { repeatedFloods, repeatedRuns, type RepeatedRuns } from "../lib/runner.ts";
import { sustainedFractionMin } from "../lib/sustained-rate.ts";
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
    const runnel = await tryStart(() => startRunnel({ name: "Runnel", params, crc32c: context.crc32c, partitions, reuseTopic: true }));
    if (isUnavailable(runnel)) {
      report.section("Runnel", `Not measured — ${runnel.unavailable}\n`);
      context.headlines.push(`scenario 3: Runnel not measured (${runnel.unavailable})`);
      return report;
    }
    const memory: Array<[string, ProcessMemory | null]> = [];
    try {
      memory.push(["idle broker", runnel.memory?.() ?? null]);
      // The first write to each partition creates its segment and index files; do that before
      // measuring (its rate is reported separately), so the floods see the steady state.
      const priming = await runnel.flood("partitions-prime", Math.max(2000, params.warmupMs), 0);
      context.log(`  priming ${partitions} partitions: ${Math.round(priming.recordsPerSecond)} records/s`);
      memory.push([`after priming (first write to each of ${partitions} partitions)`, runnel.memory?.() ?? null]);
      const flood = await repeatedFloods(runnel, "partitions", params, context.log);
      memory.push([`after ${params.runs} flood run(s) (one topic of ${partitions} partitions)`, runnel.memory?.() ?? null]);
      const rate = params.rate > 0 ? params.rate : Math.round(flood.median * params.latencyRateFraction);
      // Produce latency alone first, then again with a consumer following all partitions (a
      // Fetch naming every partition, long-polling): its cost to the broker shows separately.
      const runs = await repeatedRuns(runnel, "partitions-latency", { rate, durationMs: params.durationMs, warmupMs: params.warmupMs, endToEnd: false }, params, context.log);
      const withConsumer = await repeatedRuns(runnel, "partitions-e2e", { rate, durationMs: params.durationMs, warmupMs: params.warmupMs, endToEnd: true }, params, context.log);
      memory.push([`after the latency runs (same topic)`, runnel.memory?.() ?? null]);
      report.section(
        `Throughput over ${formatNumber(partitions)} partitions (batches spread round-robin, ${params.producers} producer connection(s))`,
        table(["measure", "value"], [
          ["records/s", formatSpread(flood, (value) => formatNumber(value))],
          ["payload MB/s", formatSpread(flood, mbps)],
          ["priming run (first write to every partition), records/s", formatNumber(priming.recordsPerSecond)],
        ]),
      );
      // Latency only where the offered rate was sustained (issue 12, item 7): a run that fell behind
      // reports its queue growing. Such a run is named with what it achieved (a saturation figure).
      const sustained = (measured: RepeatedRuns) => measured.achievedRate.min >= sustainedFractionMin * rate;
      const saturated = (label: string, measured: RepeatedRuns) =>
        `- ${label}: achieved ${formatSpread(measured.achievedRate, (value) => formatNumber(value))} of ${formatNumber(rate)} records/s offered (${Math.round((100 * measured.achievedRate.median) / rate)} %, median run): not sustained, a saturation figure, so its latency is not reported.\n`;
      const produceRows = [{ label: `produce, no consumer`, runs }, { label: `produce, with a consumer of all partitions`, runs: withConsumer }];
      const produceShown = produceRows.filter((row) => sustained(row.runs));
      const latencyBody =
        (produceShown.length > 0 ? latencyTable(produceShown, "produce") : "") +
        produceRows.filter((row) => !sustained(row.runs)).map((row) => saturated(row.label, row.runs)).join("") +
        "\nEnd to end (send → consumed):\n\n" +
        (sustained(withConsumer) ? latencyTable([{ label: `end to end`, runs: withConsumer }], "endToEnd") : saturated("end to end", withConsumer));
      report.section(`Latency at ${formatNumber(rate)} records/s (${mbps(rate)} MB/s)`, latencyBody);
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
        ) + `\nTarget: RSS under 1 GiB — ${verdict(memory.every(([, value]) => value !== null && value.rssBytes < 2 ** 30))} (highest RSS seen ${gib(Math.max(...memory.map(([, value]) => value?.rssBytes ?? 0)))}). Mapped file pages are counted in RSS (file-backed) while resident; the kernel can drop them under memory pressure, unlike anonymous memory.\n`,
      );
      report.plot("latency", `Produce latency, ${partitions} partitions, ${formatNumber(rate)} rec/s`, [plotSeries("produce, no consumer", runs.representative, "produce"), plotSeries("produce, with consumer", withConsumer.representative, "produce"), plotSeries("end to end", withConsumer.representative, "endToEnd")]);
      report.figure("flood", flood);
      report.figure("latency", summaryFigures(runs));
      report.figure("latencyWithConsumer", summaryFigures(withConsumer));
      report.figure("memory", Object.fromEntries(memory));
      const last = memory.at(-1)?.[1];
      context.headlines.push(`scenario 3: ${partitions} partitions: ${mbps(flood.median)} MB/s, p99 ${(runs.produce.p99.median / 1000).toFixed(2)} ms at ${formatNumber(rate)} rec/s; RSS ${last ? gib(last.rssBytes) : "n/a"} (anonymous ${last ? gib(last.rssAnonBytes) : "n/a"}), data mapped ${last ? gib(last.dataMappedBytes) : "n/a"}`);
    } finally {
      await runnel.stop();
    }
    return report;
  },
};
