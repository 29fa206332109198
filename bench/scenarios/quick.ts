// Scenario "quick" (≤ 2 minutes): the peers measurements at a small size, compared with the last
// committed results (bench/results/quick.json at HEAD), so that a regression is seen before it
// lands. Only ratios measured within one run are compared (Runnel against the mock broker and
// Redis started beside it; RF=3 acks=all against one node acks=1 for replication), since absolute
// figures move with the machine's load.

import { execFileSync } from "node:child_process";
import { formatRatio, table } from "../lib/markdown.ts";
import { Report } from "../lib/report.ts";
import { spread } from "../lib/stats.ts";
import type { Scenario } from "./common.ts";
import { measurePeers, writePeerTables, type PeerFigures } from "./peers.ts";
import { measureReplicationRatio } from "../replication.ts";

interface QuickRatios {
  [name: string]: number;
}

function ratiosOf(figures: PeerFigures): QuickRatios {
  const median = (values: number[]) => spread(values).median;
  const perRun = (a: number[], b: number[]) => median(a.map((value, index) => value / b[index]!));
  return {
    "kcat produce: Runnel / mock (higher is better)": perRun(figures.produceMBps.runnel, figures.produceMBps.mock),
    "kcat produce: Runnel / Redis XADD (higher is better)": perRun(figures.produceMBps.runnel, figures.redisMBps),
    "kcat consume: Runnel MB/s / Redis XADD MB/s (higher is better)": perRun(figures.consumeMBps.runnel, figures.redisMBps),
    "one in flight p50: Runnel / Redis (lower is better)": perRun(figures.latency.runnel.map((entry) => entry.p50Us), figures.latency.redis.map((entry) => entry.p50Us)),
    "one in flight p99: Runnel / Redis (lower is better)": perRun(figures.latency.runnel.map((entry) => entry.p99Us), figures.latency.redis.map((entry) => entry.p99Us)),
    "one in flight p99.9: Runnel / Redis (lower is better)": perRun(figures.latency.runnel.map((entry) => entry.p999Us), figures.latency.redis.map((entry) => entry.p999Us)),
  };
}

/** bench/results/quick.json as last committed, or null. */
function committedRatios(resultsDir: string): QuickRatios | null {
  try {
    const text = execFileSync("git", ["show", `HEAD:${resultsDir.replace(/^\.\//, "")}/quick.json`], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return (JSON.parse(text) as { figures: { ratios?: QuickRatios } }).figures.ratios ?? null;
  } catch {
    return null;
  }
}

export const quickScenario: Scenario = {
  name: "quick",
  title: "Quick check (≤ 2 min): real-client ratios against the last committed results",
  description: "kcat vs mock broker and Redis, one-in-flight latency, small sizes; compared with bench/results/quick.json at HEAD",
  async run(context) {
    const params = {
      ...context.params,
      runs: Math.min(context.params.runs, 2),
      peerRecords: Math.min(context.params.peerRecords, 60_000),
      oneInFlightRequests: Math.min(context.params.oneInFlightRequests, 5_000),
      durationMs: Math.min(context.params.durationMs, 1500),
      warmupMs: Math.min(context.params.warmupMs, 500),
    };
    const report = new Report("quick", this.title, params);
    const figures = await measurePeers({ ...context, params }, report, { confluent: false, redisReference: false });
    if (figures === null) return report;
    writePeerTables(report, figures, params);
    const ratios = ratiosOf(figures);
    // Issue 9's throughput ratio at a small size (about 10 s: two clusters, 4,000 records per run).
    const replication = await measureReplicationRatio(4_000, params.runs);
    ratios["replication: RF=3 acks=all / one node acks=1 records/s (higher is better)"] = replication.ratio;
    report.figure("replication", replication);
    const before = committedRatios(context.params.resultsDir);
    const rows = Object.entries(ratios).map(([name, value]) => {
      const previous = before?.[name];
      if (previous === undefined) return [name, formatRatio(value), "—", "—"];
      const change = value / previous;
      const worse = name.includes("lower is better") ? change > 1.25 : change < 0.8;
      return [name, formatRatio(value), formatRatio(previous), `${formatRatio(change)}${worse ? " ⚠ worse" : ""}`];
    });
    const comparison = table(["ratio (median of runs)", "this tree", "last committed", "this / committed"], rows) +
      "\nA change beyond ±20–25 % is flagged; on a shared 2-CPU machine smaller moves are noise. Commit bench/results/quick.json to make this run the new reference.\n";
    report.section("Against the last committed results", comparison);
    report.figure("ratios", ratios);
    context.log(comparison);
    context.headlines.push(`quick: ${Object.entries(ratios).map(([name, value]) => `${name.split(" (")[0]} ${formatRatio(value)}`).join("; ")}`);
    return report;
  },
};
