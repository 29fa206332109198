// Scenario "max-rate" (issue 5, scenario 1): one node, 1 KiB records, acks=1, no fsync.
// The max sustainable rate (highest offered rate that is achieved with p99 under the bound)
// of Runnel, Redis Streams and NATS JetStream, then latency of all three at the same offered
// rate: half of Runnel's max. Ratios: Runnel / Redis in MB/s (target ≥ 3), and Runnel's p99 /
// Redis's p99 at the same rate (target ≤ 1). Runnel is also set against the TCP floors.

import { formatMs, formatNumber, formatRatio, ratioAgainst, table } from "../lib/markdown.ts";
import { sustainedFractionMin } from "../lib/sustained-rate.ts";
import { latencyTable, plotSeries, Report, summaryFigures } from "../lib/report.ts";
import { maxSustainableRate, repeatedFloods, repeatedRuns } from "../lib/runner.ts";
import type { RepeatedRuns } from "../lib/runner.ts";
import { ratio } from "../lib/stats.ts";
import { startRunnel } from "../systems/kafka.ts";
import { startNats } from "../systems/nats.ts";
import { startRedis } from "../systems/redis.ts";
import type { ReferenceResult, System } from "../systems/types.ts";
import type { Scenario } from "./common.ts";
import { isUnavailable, measureFloors, megabytes, tryStart } from "./common.ts";

interface Measured {
  label: string;
  system: System;
  flood: number;
  maxRate: number;
  trials: string;
}

export const maxRateScenario: Scenario = {
  name: "max-rate",
  title: "Scenario 1: one node, 1 KiB records, acks=1, no fsync — max sustainable rate and latency vs Redis Streams and NATS JetStream",
  description: "scenario 1: max sustainable rate (p99 bound) of Runnel, Redis Streams, NATS JetStream; latency at 50% of Runnel's max",
  async run(context) {
    const params = context.params;
    const report = new Report("max-rate", this.title, params);
    const floors = await measureFloors(context);
    const notes: string[] = [];
    const starters: Array<[string, () => Promise<System>]> = [["Runnel", () => startRunnel({ name: "Runnel", params, crc32c: context.crc32c })]];
    if (params.peers) starters.push(["Redis Streams", () => startRedis(params)], ["NATS JetStream", () => startNats(params)]);
    const measured: Measured[] = [];
    const references: Array<{ label: string; result: ReferenceResult }> = [];
    try {
      for (const [label, start] of starters) {
        const system = await tryStart(start);
        if (isUnavailable(system)) {
          notes.push(`${label}: not measured — ${system.unavailable}`);
          continue;
        }
        try {
          const flood = await repeatedFloods(system, `${label}-flood`, { ...params, runs: 1 }, context.log);
          const search = await maxSustainableRate(system, label, flood.median, params, context.log);
          const trials = search.trials.map((trial) => `${formatNumber(trial.rate)}${trial.passed ? "✓" : "✗"}`).join(", ");
          measured.push({ label, system, flood: flood.median, maxRate: search.maxRate, trials });
          if (system.reference) {
            try {
              references.push({ label: `${label.split(" ")[0]} (redis-benchmark, reference)`, result: await system.reference() });
            } catch (error) {
              notes.push(`${label} reference tool: not measured — ${(error as Error).message}`);
            }
          }
        } catch (error) {
          notes.push(`${label}: failed — ${(error as Error).message}`);
          await system.stop();
        }
      }
      const mbps = (value: number) => formatNumber(megabytes(value, params), 1);
      report.section(
        `Max sustainable rate (p99 ≤ ${params.p99BoundMs} ms and ≥ 95 % of offered achieved)`,
        table(
          ["system", "max sustainable records/s", "MB/s", "closed-loop flood records/s", "trials (rate ✓/✗)"],
          [
            ...measured.map((entry) => [entry.label, formatNumber(entry.maxRate), mbps(entry.maxRate), formatNumber(entry.flood), entry.trials]),
            ...references.map((entry) => [entry.label, "—", `(flood ${mbps(entry.result.recordsPerSecond)})`, formatNumber(entry.result.recordsPerSecond), "—"]),
          ],
        ) +
          (references.length > 0 ? `\nReference rows: the system's own load tool against the same server in this run, closed loop only (\`${references.map((entry) => entry.result.command).join("`, `")}\`): the ceiling the bench's driver for that system is held to.\n` : "") +
          `\nEach search trial is one open-loop run of ${params.searchTrialMs} ms, producers only; the search starts at 40 % of the flood rate, grows ×1.5 and bisects, at most ${params.searchTrials} trials.\n` +
          (notes.length > 0 ? `\n${notes.map((note) => `- ${note}`).join("\n")}\n` : ""),
      );
      const runnel = measured.find((entry) => entry.label === "Runnel");
      const redis = measured.find((entry) => entry.label === "Redis Streams");
      // Latency only at a rate every system sustains (issue 12, item 7): half of the LOWEST max
      // sustainable rate, not of Runnel's (a system measured above its own max reports its queue).
      const sustainable = measured.map((entry) => entry.maxRate).filter((value) => value > 0);
      const baseRate = sustainable.length > 0 ? Math.min(...sustainable) : 0;
      const rate = params.rate > 0 ? params.rate : Math.round(baseRate * params.latencyRateFraction);
      const rows: Array<{ label: string; runs: RepeatedRuns }> = [];
      const endToEndRows: Array<{ label: string; runs: RepeatedRuns }> = [];
      if (rate > 0) {
        const base = { rate, durationMs: params.durationMs, warmupMs: params.warmupMs };
        // A system pushed far beyond its capacity may fail outright (e.g. NATS timing out its
        // API calls under a huge publish backlog): note it and go on with the others.
        for (const [list, kind, endToEnd] of [[rows, "latency", false], [endToEndRows, "e2e", true]] as const) {
          for (const entry of measured) {
            try {
              list.push({ label: entry.label, runs: await repeatedRuns(entry.system, `${entry.label}-${kind}`, { ...base, endToEnd }, params, context.log) });
            } catch (error) {
              notes.push(`${entry.label}, ${kind} runs at ${formatNumber(rate)} records/s: failed — ${(error as Error).message}`);
            }
          }
        }
        // A row whose runs fell behind the offered rate is a saturation figure (issue 12, item 7):
        // it leaves the latency tables and is named with what it achieved instead.
        for (const list of [rows, endToEndRows]) {
          for (const row of list.splice(0)) {
            if (row.runs.achievedRate.min >= sustainedFractionMin * rate) list.push(row);
            else notes.push(`${row.label}${list === endToEndRows ? " (with a consumer)" : ""} achieved only ${formatNumber(row.runs.achievedRate.min)} of ${formatNumber(rate)} records/s offered in a run: not sustained, a saturation figure, so its latency is not reported`);
          }
        }
        if (notes.length > 0) report.section("Notes", notes.map((note) => `- ${note}`).join("\n") + "\n");
        const sustainedNote = `\nOnly systems that achieved ≥ ${Math.round(sustainedFractionMin * 100)} % of the offered rate in every run are listed (see Notes for the others); saturation is the max sustainable rate table above.\n`;
        report.section(`Produce latency at ${formatNumber(rate)} records/s (${mbps(rate)} MB/s offered, ${Math.round(params.latencyRateFraction * 100)} % of the lowest max sustainable rate, so every system keeps up), producers only`, latencyTable(rows, "produce") + sustainedNote);
        report.section(
          `With a consumer attached, same rate: end-to-end latency (send → consumed)`,
          latencyTable(endToEndRows, "endToEnd") + `\nProduce latency of the same runs (the consumer, in its own process, competes for the same CPUs and the system serves its reads):\n\n` + latencyTable(endToEndRows, "produce") + sustainedNote,
        );
        report.plot("produce-latency", `Produce latency at ${formatNumber(rate)} rec/s (producers only)`, rows.map((row) => plotSeries(row.label, row.runs.representative, "produce")));
        report.plot("end-to-end-latency", `End-to-end latency at ${formatNumber(rate)} rec/s`, endToEndRows.filter((row) => row.runs.endToEnd).map((row) => plotSeries(row.label, row.runs.representative, "endToEnd")));
        for (const row of rows) report.figure(`latency ${row.label}`, summaryFigures(row.runs));
        for (const row of endToEndRows) report.figure(`end-to-end ${row.label}`, summaryFigures(row.runs));
      }
      const runnelRuns = rows.find((row) => row.label === "Runnel")?.runs;
      const redisRuns = rows.find((row) => row.label === "Redis Streams")?.runs;
      const ratios: string[][] = [];
      if (runnel && redis) ratios.push(["Runnel / Redis max sustainable MB/s (target ≥ 3)", ratioAgainst(ratio(runnel.maxRate, redis.maxRate), "≥", 3)]);
      if (runnelRuns && redisRuns) ratios.push(["Runnel p99 / Redis p99 at the same offered rate (target ≤ 1)", ratioAgainst(ratio(runnelRuns.produce.p99.median, redisRuns.produce.p99.median), "≤", 1)]);
      const runnelEndToEnd = endToEndRows.find((row) => row.label === "Runnel")?.runs.endToEnd;
      const redisEndToEnd = endToEndRows.find((row) => row.label === "Redis Streams")?.runs.endToEnd;
      if (runnelEndToEnd && redisEndToEnd) ratios.push(["Runnel end-to-end p99 / Redis end-to-end p99 at the same offered rate", formatRatio(ratio(runnelEndToEnd.p99.median, redisEndToEnd.p99.median))]);
      if (runnel) {
        ratios.push(["Runnel max sustainable MB/s / TCP loopback floor", formatRatio(ratio(megabytes(runnel.maxRate, params) * 1e6, floors.tcpBytesPerSecond.median))]);
        if (runnelRuns) ratios.push([`Runnel p50 produce latency / TCP round trip p50 (${formatMs(floors.tcpRoundTrip.p50Us)} ms)`, formatRatio(ratio(runnelRuns.produce.p50.median, floors.tcpRoundTrip.p50Us))]);
      }
      report.section("Ratios", ratios.length > 0 ? table(["ratio", "value"], ratios) : "No ratio: a system was not measured.\n");
      report.figure("maxRates", measured.map((entry) => ({ label: entry.label, maxRate: entry.maxRate, flood: entry.flood, trials: entry.trials })));
      report.figure("ratios", Object.fromEntries(ratios));
      context.headlines.push(
        `scenario 1: ${measured.map((entry) => `${entry.label} max ${mbps(entry.maxRate)} MB/s`).join(", ")}${ratios.length > 0 ? `; ${ratios.map(([name, value]) => `${name}: ${value}`).join("; ")}` : ""}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`,
      );
    } finally {
      for (const entry of measured) await entry.system.stop();
    }
    return report;
  },
};
