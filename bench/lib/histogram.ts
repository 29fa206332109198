// Latency histograms for the bench: a thin wrapper over hdr-histogram-js that fixes the unit
// (microseconds), the range and the precision, so that every scenario reports the same way.
//
// Values are recorded in integer microseconds. The range is 1 µs … 10 min at 3 significant
// digits (HDR's relative error is then ≤ 0.1 %). A value above the range is clamped to the
// maximum and counted in `clamped`, never silently dropped.

import * as hdr from "hdr-histogram-js";
import type { Histogram } from "hdr-histogram-js";
import { assert } from "../../src/util/assert.ts";

export const latencyUsMax = 600_000_000;

/** The percentiles every report shows, in this order. */
export const reportPercentiles = [50, 90, 99, 99.9, 99.99] as const;

export interface LatencySummary {
  count: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  p9999Us: number;
  maxUs: number;
  meanUs: number;
  /** Values above `latencyUsMax` that were recorded as the maximum. */
  clamped: number;
}

export class LatencyHistogram {
  readonly histogram: Histogram;
  clamped = 0;

  constructor() {
    this.histogram = hdr.build({
      bitBucketSize: 32,
      autoResize: false,
      lowestDiscernibleValue: 1,
      highestTrackableValue: latencyUsMax,
      numberOfSignificantValueDigits: 3,
    });
  }

  /** Records one latency given in milliseconds (fractional). Negative values are programmer errors. */
  recordMs(latencyMs: number): void {
    this.recordUs(latencyMs * 1000);
  }

  recordUs(latencyUs: number): void {
    assert(Number.isFinite(latencyUs), `latency must be finite, got ${latencyUs}`);
    // A few hundred nanoseconds of negative skew can come from rounding the intended time; a
    // larger negative value means the caller mixed clocks.
    assert(latencyUs > -1000, `negative latency ${latencyUs} µs: clocks mixed up`);
    let value = Math.max(1, Math.round(latencyUs));
    if (value > latencyUsMax) {
      this.clamped += 1;
      value = latencyUsMax;
    }
    this.histogram.recordValue(value);
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  /** Value at a percentile in (0, 100]; 0 when empty. */
  percentileUs(percentile: number): number {
    assert(percentile > 0 && percentile <= 100, `percentile out of range: ${percentile}`);
    if (this.count === 0) return 0;
    if (percentile === 100) return this.histogram.maxValue;
    return this.histogram.getValueAtPercentile(percentile);
  }

  add(other: LatencyHistogram): void {
    this.histogram.add(other.histogram);
    this.clamped += other.clamped;
  }

  /** Adds a histogram sent by another process (hdr's compressed base64 encoding). */
  addEncoded(base64: string): void {
    const decoded = hdr.decodeFromCompressedBase64(base64, 32, false);
    this.histogram.add(decoded);
    decoded.destroy();
  }

  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.histogram);
  }

  summary(): LatencySummary {
    // HDR reports a percentile as the top of its bucket, which can exceed the exact maximum by
    // the bucket's width (≤ 0.1 %); clamp so that no percentile is shown above the max.
    const maxUs = this.count === 0 ? 0 : this.histogram.maxValue;
    const at = (percentile: number) => Math.min(this.percentileUs(percentile), maxUs);
    return {
      count: this.count,
      p50Us: at(50),
      p90Us: at(90),
      p99Us: at(99),
      p999Us: at(99.9),
      p9999Us: at(99.99),
      maxUs,
      meanUs: this.count === 0 ? 0 : this.histogram.mean,
      clamped: this.clamped,
    };
  }

  /**
   * Points for a percentile plot: (percentile, value µs) at increasing "nines", from p0 up to
   * the highest percentile the sample size can support (1 - 1/count).
   */
  plotPoints(): Array<{ percentile: number; valueUs: number }> {
    const points: Array<{ percentile: number; valueUs: number }> = [];
    if (this.count === 0) return points;
    const highest = 100 * (1 - 1 / this.count);
    // Ten points per decade of "1 / (1 - p)", the usual HDR percentile-spectrum layout.
    for (let step = 0; step <= 60; step++) {
      const tail = Math.pow(10, -step / 10); // fraction above the percentile
      const percentile = 100 * (1 - tail);
      if (percentile > highest) break;
      points.push({ percentile, valueUs: percentile === 0 ? this.histogram.minNonZeroValue : this.percentileUs(percentile) });
    }
    // The maximum is drawn at the highest percentile this sample can resolve, not at 100 %
    // (which would stretch the axis to nines the data does not have).
    const last = points.at(-1);
    if (last && last.percentile >= highest) last.valueUs = this.histogram.maxValue;
    else points.push({ percentile: highest, valueUs: this.histogram.maxValue });
    return points;
  }
}
