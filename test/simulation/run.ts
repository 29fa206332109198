// `bun run sim --seeds N [--start S] [--nodes 3|5] [--profile chaos|calm|churn|membership] [--bug NAME] [--verbose]`:
// run N seeds of the cluster simulation and print each failure with its seed and the tail of its
// trace. A failing seed replays exactly: `bun run sim --seeds 1 --start <seed>`. `--bug` plants
// one of the deliberate bugs the simulator must catch (see test/simulation/planted-bugs.test.ts).

import { runSeed } from "./simulation.ts";
import type { SimProfile } from "./simulation.ts";

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? process.argv[index + 1]! : fallback;
}

const seeds = Number(option("seeds", "100"));
const start = Number(option("start", "1"));
const nodes = Number(option("nodes", "3"));
const profile = option("profile", "chaos");
const verbose = process.argv.includes("--verbose");
const bug = option("bug", "");
const raftBugs = ["commitOldEpochDirectly", "countNonDurableLeaderEnd", "skipPreVote", "voteWithoutLogCheck", "concurrentVoterChanges"];
const replicationBugs = ["hwPastLaggingIsr", "expandWithoutMaximalIsr", "ackBeforeHighWatermark", "expandBelowHighWatermark"];
if (bug !== "" && !raftBugs.includes(bug) && !replicationBugs.includes(bug)) {
  console.error(`unknown --bug ${bug}: one of ${[...raftBugs, ...replicationBugs].join(", ")}`);
  process.exit(2);
}
const bugs = bug === "" ? {} : raftBugs.includes(bug) ? { raftBugs: { [bug]: true } } : { replicationBugs: { [bug]: true } };
if (!Number.isInteger(seeds) || seeds < 1 || !Number.isInteger(start) || (nodes !== 3 && nodes !== 5) || !["chaos", "calm", "churn", "membership"].includes(profile)) {
  console.error("usage: bun run sim --seeds N [--start S] [--nodes 3|5] [--profile chaos|calm|churn|membership] [--verbose]");
  process.exit(2);
}

const began = performance.now();
let failed = 0;
let events = 0;
let acked = 0;
let crashes = 0;
let voterChanges = 0;
const recoveries: number[] = [];
for (let seed = start; seed < start + seeds; seed++) {
  const result = runSeed({ seed, nodes: nodes as 3 | 5, profile: profile as SimProfile, ...bugs });
  events += result.stats.events;
  acked += result.stats.acked;
  crashes += result.stats.crashes;
  voterChanges += result.stats.voterChanges;
  if (result.stats.recoveryMs >= 0) recoveries.push(result.stats.recoveryMs);
  if (verbose) console.log(result.summary, JSON.stringify(result.stats));
  if (result.ok) continue;
  failed++;
  if (!verbose && bug !== "") { console.log(`seed ${seed}: ${result.failure}`); continue; }
  console.log(`\nFAILED ${result.summary}\n  ${result.failure}\n  trace tail:\n${result.trace.map((line) => `    ${line}`).join("\n")}`);
  console.log(`  replay: bun run sim --seeds 1 --start ${seed} --nodes ${nodes} --profile ${profile}`);
}
const seconds = (performance.now() - began) / 1000;
recoveries.sort((a, b) => a - b);
const percentile = (p: number) => recoveries[Math.min(recoveries.length - 1, Math.floor(p * recoveries.length))] ?? -1;
console.log(`${seeds} seeds (${start}..${start + seeds - 1}, ${nodes} nodes, ${profile}): ${failed} failed, ${seconds.toFixed(1)} s, ${events} events, ${crashes} crashes, ${voterChanges} voter changes committed, ${acked} acks=all records acknowledged; recovery after heal p50 ${percentile(0.5)} ms, max ${percentile(1)} ms`);
process.exit(failed > 0 ? 1 : 0);
