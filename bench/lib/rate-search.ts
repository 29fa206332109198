// Max-sustainable-rate search: the highest offered rate at which the system keeps up
// (achieved ≥ `achievedFractionMin` of offered, nothing failed) AND its p99 stays under a bound.
//
// Grow the rate geometrically from `rateStart` until a trial fails, then bisect between the last
// passing and the first failing rate. The number of trials is bounded (`trialsMax`), so the
// search always ends; the answer is the best passing rate seen (0 if none passed).

import { assert } from "../../src/util/assert.ts";

export interface TrialOutcome {
  rate: number;
  achievedRate: number;
  p99Us: number;
  failed: number;
}

export interface SearchOptions {
  rateStart: number;
  rateMax: number;
  p99BoundUs: number;
  trialsMax: number;
  growthFactor: number;
  achievedFractionMin: number;
  /** Stop bisecting when the bracket is narrower than this fraction of the lower bound. */
  precision: number;
}

export interface SearchResult {
  maxRate: number;
  trials: Array<TrialOutcome & { passed: boolean }>;
}

export function trialPassed(outcome: TrialOutcome, options: SearchOptions): boolean {
  return (
    outcome.failed === 0 &&
    outcome.achievedRate >= outcome.rate * options.achievedFractionMin &&
    outcome.p99Us <= options.p99BoundUs
  );
}

export async function searchMaxRate(
  trial: (rate: number) => Promise<TrialOutcome>,
  options: SearchOptions,
): Promise<SearchResult> {
  assert(options.rateStart > 0 && options.rateMax >= options.rateStart, "bad rate range");
  assert(options.trialsMax >= 1 && options.growthFactor > 1, "bad search bounds");
  const trials: SearchResult["trials"] = [];
  let passing = 0;
  let failing = Number.POSITIVE_INFINITY;
  let rate = options.rateStart;
  while (trials.length < options.trialsMax) {
    const outcome = await trial(rate);
    const passed = trialPassed(outcome, options);
    trials.push({ ...outcome, passed });
    if (passed) passing = Math.max(passing, rate);
    else failing = Math.min(failing, rate);
    const next = nextRate(passing, failing, options);
    if (next === null) break;
    rate = next;
  }
  return { maxRate: passing, trials };
}

function nextRate(passing: number, failing: number, options: SearchOptions): number | null {
  if (failing === Number.POSITIVE_INFINITY) {
    // Still growing: stop at the ceiling once it passed.
    if (passing >= options.rateMax) return null;
    return Math.min(options.rateMax, Math.round(passing * options.growthFactor));
  }
  if (passing === 0) {
    // Even the first rate failed: go down until something passes.
    const lower = Math.round(failing / options.growthFactor);
    return lower >= 1 ? lower : null;
  }
  if (failing - passing <= passing * options.precision) return null;
  return Math.round((passing + failing) / 2);
}
