// Scenario "replication" (issue 9): three broker processes next to one — throughput at acks=1 and
// acks=all, acks=all latency at half the RF=3 rate, failover after kill -9 and SIGTERM. The
// measurements are bench/replication.ts's; this wraps them as a scenario of `bun run bench`.
// --runs and --rate are the bench's flags; BENCH_RECORDS, BENCH_LATENCY_MS and BENCH_FAILOVERS
// size the rest (defaults: 20,000 records per throughput run, 5 s latency runs, 3 failovers each).

import { Report } from "../lib/report.ts";
import { measureReplication, replicationSettingsFromEnvironment } from "../replication.ts";
import type { Scenario } from "./common.ts";

export const replicationScenario: Scenario = {
  name: "replication",
  title: "Replication (issue 9): three broker processes next to one",
  description: "issue 9: RF=3 acks=all/acks=1 throughput vs one node, acks=all latency at half the rate, kill -9 and SIGTERM failover",
  async run(context) {
    const params = context.params;
    const settings = { ...replicationSettingsFromEnvironment(process.env), runs: params.runs, rate: params.rate };
    const report = new Report("replication", this.title, params,
      `${settings.records} records of 1 KiB per throughput run, ${settings.runs} interleaved runs; latency runs ${settings.latencyMs} ms at ${settings.rate > 0 ? `${settings.rate} records/s` : "half the RF=3 acks=all linger-0 rate"}; ${settings.failovers} failovers of each kind`);
    const result = await measureReplication(settings, context.log);
    report.section("Figures", result.markdown);
    report.figure("replication", result.figures);
    context.headlines.push(result.headline);
    return report;
  },
};
