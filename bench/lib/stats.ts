// Statistics over repeated runs: each figure is reported as the median of the runs with the
// minimum and maximum beside it, so a reader sees the spread, not only a single lucky number.

import { assert } from "../../src/util/assert.ts";

export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export function spread(values: readonly number[]): Spread {
  assert(values.length > 0, "spread of no values");
  for (const value of values) assert(Number.isFinite(value), `not a finite value: ${value}`);
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: values.length };
}

/** Index of the run whose value is the (lower) median, to pick a representative run's histogram. */
export function medianIndex(values: readonly number[]): number {
  assert(values.length > 0, "median of no values");
  const order = values.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value);
  return order[(values.length - 1) >> 1]!.index;
}

/** Ratio a / b, or NaN when b is zero (reported as "n/a"). */
export function ratio(a: number, b: number): number {
  return b === 0 ? Number.NaN : a / b;
}
