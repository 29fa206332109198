// Latency is reported only at an offered rate every compared system sustains (issue 12, item 7): a
// latency measured while a system falls behind is its queue growing, a saturation figure. Each
// attempt measures every system at one rate; when any achieves (median run) less than 95 % of it, the rate is
// halved and every system measured again, at most `attemptsMax` times.

import type { RepeatedRuns } from "./runner.ts";

export const sustainedFractionMin = 0.95;

export interface RateAttempt {
  rate: number;
  achieved: Record<string, number>;
  sustained: boolean;
}

export interface SustainedLatency {
  /** The rate every system sustained, or null when none of the attempts was. */
  rate: number | null;
  rows: Array<{ label: string; runs: RepeatedRuns }>;
  attempts: RateAttempt[];
}

export interface RateMeasure {
  label: string;
  measure(rate: number): Promise<RepeatedRuns>;
}

export async function latencyAtSustainedRate(systems: readonly RateMeasure[], startRate: number, log: (line: string) => void, attemptsMax = 3): Promise<SustainedLatency> {
  const attempts: RateAttempt[] = [];
  let rate = Math.max(1, Math.round(startRate));
  for (let attempt = 0; attempt < attemptsMax; attempt++) {
    const rows: Array<{ label: string; runs: RepeatedRuns }> = [];
    const achieved: Record<string, number> = {};
    for (const system of systems) {
      const runs = await system.measure(rate);
      rows.push({ label: system.label, runs });
      // The median run: with 3 runs on a shared machine, one disturbed run should not decide.
      achieved[system.label] = runs.achievedRate.median;
    }
    const sustained = Object.values(achieved).every((value) => value >= sustainedFractionMin * rate);
    attempts.push({ rate, achieved, sustained });
    if (sustained) return { rate, rows, attempts };
    log(`  not every system sustained ${rate} records/s (${Object.entries(achieved).map(([label, value]) => `${label} ${Math.round(value)}`).join(", ")}): halving the rate`);
    rate = Math.max(1, Math.round(rate / 2));
  }
  return { rate: null, rows: [], attempts };
}

/** Markdown lines listing the attempts (offered rate, what each system achieved). */
export function attemptsMarkdown(attempts: readonly RateAttempt[]): string {
  return attempts
    .map((attempt) => `- ${attempt.rate.toLocaleString("en")} records/s offered: ${Object.entries(attempt.achieved).map(([label, value]) => `${label} achieved ${Math.round(value).toLocaleString("en")} (${((100 * value) / attempt.rate).toFixed(1)} %, median run)`).join(", ")} — ${attempt.sustained ? "sustained by all: latency reported at this rate" : "not sustained by all: a saturation figure, latency not reported"}`)
    .join("\n");
}
