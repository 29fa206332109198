// Runs measurements against a System: one open-loop run, repeated runs summarised as median
// (min – max), floods, and the max-sustainable-rate search.

import type { System } from "../systems/types.ts";
import { FollowProcess } from "../systems/follow-process.ts";
import { splitFollowSpec } from "../systems/follow.ts";
import type { LatencySummary } from "./histogram.ts";
import { driveOpenLoop, nowMs, OpenLoopRecorder } from "./open-loop.ts";
import type { RunResult } from "./open-loop.ts";
import type { BenchParams } from "./params.ts";
import { searchMaxRate } from "./rate-search.ts";
import type { SearchResult } from "./rate-search.ts";
import { OpenLoopSchedule } from "./schedule.ts";
import { medianIndex, spread } from "./stats.ts";
import type { Spread } from "./stats.ts";

export interface RunOptions {
  rate: number;
  durationMs: number;
  warmupMs: number;
  endToEnd: boolean;
}

export async function openLoopRun(system: System, label: string, options: RunOptions, params: BenchParams): Promise<RunResult> {
  const trial = await system.newTrial(label);
  const follows: FollowProcess[] = [];
  let followError: string | null = null;
  const withEndToEnd = options.endToEnd && trial.followSpec !== undefined;
  try {
    if (withEndToEnd) {
      for (const spec of splitFollowSpec(trial.followSpec!, params.consumers)) follows.push(await FollowProcess.start(spec));
    }
    const scheduleOptions = {
      ratePerSecond: options.rate,
      durationMs: options.durationMs + options.warmupMs,
      warmupMs: options.warmupMs,
      startMs: nowMs() + 20,
    };
    const schedule = new OpenLoopSchedule(scheduleOptions);
    const recorder = new OpenLoopRecorder(schedule);
    trial.attach(recorder);
    for (const follow of follows) follow.sendSchedule(scheduleOptions);
    await driveOpenLoop(schedule, trial.target, recorder, {
      tickMs: params.tickMs,
      backlogMax: Math.max(20_000, options.rate * 2),
      settleTimeoutMs: 10_000,
    });
    try {
      let consumed = 0;
      await Promise.all(follows.map((follow) => follow.finish(recorder, follows.length).then((count) => (consumed += count))));
      recorder.consumedMeasured = consumed;
    } catch (error) {
      followError = (error as Error).message;
    }
    const result = recorder.result(withEndToEnd && followError === null);
    if (followError) result.endToEndError = followError;
    return result;
  } finally {
    for (const follow of follows) follow.kill();
    await trial.close();
  }
}

export interface RepeatedRuns {
  results: RunResult[];
  achievedRate: Spread;
  produce: PercentileSpreads;
  endToEnd: PercentileSpreads | null;
  /** The run with the median produce p99, whose histogram is plotted. */
  representative: RunResult;
}

export interface PercentileSpreads {
  p50: Spread;
  p90: Spread;
  p99: Spread;
  p999: Spread;
  p9999: Spread;
  max: Spread;
}

function percentileSpreads(summaries: LatencySummary[]): PercentileSpreads {
  return {
    p50: spread(summaries.map((summary) => summary.p50Us)),
    p90: spread(summaries.map((summary) => summary.p90Us)),
    p99: spread(summaries.map((summary) => summary.p99Us)),
    p999: spread(summaries.map((summary) => summary.p999Us)),
    p9999: spread(summaries.map((summary) => summary.p9999Us)),
    max: spread(summaries.map((summary) => summary.maxUs)),
  };
}

export async function repeatedRuns(system: System, label: string, options: RunOptions, params: BenchParams, log: (line: string) => void): Promise<RepeatedRuns> {
  const results: RunResult[] = [];
  for (let run = 0; run < params.runs; run++) {
    const result = await openLoopRun(system, `${label}-${run}`, options, params);
    log(`  ${system.name} @ ${Math.round(options.rate)}/s run ${run + 1}: achieved ${Math.round(result.achievedRate)}/s, p50 ${(result.produce.p50Us / 1000).toFixed(2)} ms, p99 ${(result.produce.p99Us / 1000).toFixed(2)} ms, max ${(result.produce.maxUs / 1000).toFixed(1)} ms${result.endToEnd ? `, e2e p99 ${(result.endToEnd.p99Us / 1000).toFixed(2)} ms` : ""}${result.recordsFailed > 0 ? `, FAILED ${result.recordsFailed}` : ""}${result.endToEndError ? `, consumer failed: ${result.endToEndError}` : ""}`);
    results.push(result);
  }
  const endToEnd = results.every((result) => result.endToEnd !== null) ? percentileSpreads(results.map((result) => result.endToEnd!)) : null;
  return {
    results,
    achievedRate: spread(results.map((result) => result.achievedRate)),
    produce: percentileSpreads(results.map((result) => result.produce)),
    endToEnd,
    representative: results[medianIndex(results.map((result) => result.produce.p99Us))]!,
  };
}

export async function repeatedFloods(system: System, label: string, params: BenchParams, log: (line: string) => void): Promise<Spread> {
  const rates: number[] = [];
  for (let run = 0; run < params.runs; run++) {
    const result = await system.flood(`${label}-${run}`, params.durationMs, Math.min(params.warmupMs, 1000));
    log(`  ${system.name} flood run ${run + 1}: ${Math.round(result.recordsPerSecond)} records/s`);
    rates.push(result.recordsPerSecond);
  }
  return spread(rates);
}

/** Max sustainable rate, bracketed around a flood figure (closed-loop ceiling) to save trials. */
export async function maxSustainableRate(system: System, label: string, floodRate: number, params: BenchParams, log: (line: string) => void): Promise<SearchResult> {
  let trialIndex = 0;
  return searchMaxRate(
    async (rate) => {
      // Producers only: the throughput a system sustains for its writers. (Serving a consumer as
      // well costs each system differently; the scenario reports that in its end-to-end runs.)
      const result = await openLoopRun(system, `${label}-search-${trialIndex++}`, { rate, durationMs: params.searchTrialMs, warmupMs: Math.min(500, params.warmupMs), endToEnd: false }, params);
      log(`  ${system.name} search @ ${rate}/s: achieved ${Math.round(result.achievedRate)}/s, p99 ${(result.produce.p99Us / 1000).toFixed(2)} ms${result.overloaded ? " (overloaded)" : ""}`);
      return { rate, achievedRate: result.achievedRate, p99Us: result.produce.p99Us, failed: result.recordsFailed + (result.overloaded ? 1 : 0) };
    },
    {
      rateStart: Math.max(100, Math.round(floodRate * 0.4)),
      rateMax: Math.max(200, Math.round(floodRate * 1.2)),
      p99BoundUs: params.p99BoundMs * 1000,
      trialsMax: params.searchTrials,
      growthFactor: 1.5,
      achievedFractionMin: 0.95,
      precision: 0.05,
    },
  );
}
