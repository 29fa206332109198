// Smoke tests of the bench tool's pure parts: histogram and percentile math, the open-loop
// schedule and its intended-time accounting, the rate search, the SVG and Markdown writers.
// Nothing here measures or asserts on speed.

import { describe, expect, test } from "bun:test";
import { LatencyHistogram, latencyUsMax } from "../../bench/lib/histogram.ts";
import { OpenLoopSchedule } from "../../bench/lib/schedule.ts";
import { OpenLoopRecorder } from "../../bench/lib/open-loop.ts";
import { searchMaxRate } from "../../bench/lib/rate-search.ts";
import type { TrialOutcome } from "../../bench/lib/rate-search.ts";
import { renderPercentilePlot, percentileToNines } from "../../bench/lib/svg.ts";
import { spread, medianIndex } from "../../bench/lib/stats.ts";
import { table, formatSpread, ratioAgainst } from "../../bench/lib/markdown.ts";

describe("LatencyHistogram", () => {
  test("percentiles of 1..10000 µs within HDR precision", () => {
    const histogram = new LatencyHistogram();
    for (let value = 1; value <= 10_000; value++) histogram.recordUs(value);
    const summary = histogram.summary();
    expect(summary.count).toBe(10_000);
    const near = (actual: number, expected: number) => expect(Math.abs(actual - expected) / expected).toBeLessThan(0.002);
    near(summary.p50Us, 5000);
    near(summary.p90Us, 9000);
    near(summary.p99Us, 9900);
    near(summary.p999Us, 9990);
    near(summary.maxUs, 10_000);
  });

  test("records milliseconds as microseconds, clamps above the range and counts it", () => {
    const histogram = new LatencyHistogram();
    histogram.recordMs(2.5);
    histogram.recordUs(latencyUsMax * 2);
    expect(histogram.percentileUs(50)).toBeGreaterThanOrEqual(2499);
    expect(histogram.percentileUs(50)).toBeLessThanOrEqual(2501);
    expect(histogram.clamped).toBe(1);
    expect(histogram.summary().maxUs).toBeGreaterThanOrEqual(latencyUsMax * 0.999);
  });

  test("rejects a clearly negative latency (mixed clocks)", () => {
    expect(() => new LatencyHistogram().recordUs(-5000)).toThrow();
  });

  test("add merges counts; empty histogram summarises to zeros", () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    a.recordUs(10);
    b.recordUs(1000);
    a.add(b);
    expect(a.count).toBe(2);
    expect(new LatencyHistogram().summary().p99Us).toBe(0);
  });

  test("plot points are monotonic and end at the max", () => {
    const histogram = new LatencyHistogram();
    for (let value = 1; value <= 1000; value++) histogram.recordUs(value * 10);
    const points = histogram.plotPoints();
    for (let index = 1; index < points.length; index++) {
      expect(points[index]!.percentile).toBeGreaterThan(points[index - 1]!.percentile);
      expect(points[index]!.valueUs).toBeGreaterThanOrEqual(points[index - 1]!.valueUs);
    }
    // The max sits at the highest percentile 1,000 samples resolve (99.9 %).
    expect(points.at(-1)!.percentile).toBeCloseTo(99.9, 6);
    expect(points.at(-1)!.valueUs).toBe(10_000);
  });
});

describe("OpenLoopSchedule", () => {
  const schedule = new OpenLoopSchedule({ ratePerSecond: 1000, durationMs: 2000, warmupMs: 500, startMs: 10_000 });

  test("intended times are on a fixed grid from the start", () => {
    expect(schedule.recordsTotal).toBe(2000);
    expect(schedule.intendedMs(0)).toBe(10_000);
    expect(schedule.intendedMs(1500)).toBe(11_500);
    expect(schedule.firstMeasured).toBe(500);
    expect(schedule.recordsMeasured).toBe(1500);
  });

  test("due count follows the clock, not what was sent", () => {
    expect(schedule.dueCount(9_999)).toBe(0);
    expect(schedule.dueCount(10_000)).toBe(1);
    expect(schedule.dueCount(10_010.5)).toBe(11);
    expect(schedule.dueCount(99_999)).toBe(2000);
    expect(schedule.msUntilNext(11, 10_010.5)).toBeCloseTo(0.5, 6);
    expect(schedule.msUntilNext(2000, 0)).toBe(-1);
  });
});

describe("OpenLoopRecorder (intended-time accounting)", () => {
  test("a stall is charged to every record that was due during it (no coordinated omission)", () => {
    const schedule = new OpenLoopSchedule({ ratePerSecond: 1000, durationMs: 1000, warmupMs: 100, startMs: 0 });
    const recorder = new OpenLoopRecorder(schedule);
    // Records 0..99 are warm-up; acked instantly, not recorded.
    recorder.ack(0, 100, 100);
    // The system stalls: records 100..199 (due 100..199 ms) are all acked at 300 ms.
    recorder.ack(100, 100, 300);
    // The rest are acked 1 ms after their intended time.
    for (let index = 200; index < 1000; index++) recorder.ack(index, 1, index + 1);
    const result = recorder.result(false);
    expect(result.recordsAcked).toBe(900);
    expect(result.produce.count).toBe(900);
    // 100 of 900 records waited 101..200 ms: p90 is still ~1 ms, p99 is in the stall.
    expect(result.produce.p50Us).toBeGreaterThanOrEqual(999);
    expect(result.produce.p50Us).toBeLessThanOrEqual(1001);
    expect(result.produce.p99Us).toBeGreaterThan(150_000);
    expect(result.produce.maxUs).toBeGreaterThanOrEqual(199_900);
    // Everything was acked by the schedule's end: achieved equals offered.
    expect(result.achievedRate).toBeCloseTo(1000, 0);
  });

  test("a system that falls behind achieves less than offered", () => {
    const schedule = new OpenLoopSchedule({ ratePerSecond: 1000, durationMs: 1000, warmupMs: 0, startMs: 0 });
    const recorder = new OpenLoopRecorder(schedule);
    // Every record acked at twice its intended time (+1): the last ack lands at ~2000 ms.
    for (let index = 0; index < 1000; index++) recorder.ack(index, 1, 2 * index + 1);
    expect(recorder.achievedRate()).toBeLessThan(550);
    expect(recorder.achievedRate()).toBeGreaterThan(450);
  });

  test("end-to-end latency skips warm-up records", () => {
    const schedule = new OpenLoopSchedule({ ratePerSecond: 100, durationMs: 1000, warmupMs: 500, startMs: 0 });
    const recorder = new OpenLoopRecorder(schedule);
    recorder.consumed(10, 105);
    recorder.consumed(60, 605);
    expect(recorder.endToEnd.count).toBe(1);
    expect(recorder.endToEnd.percentileUs(50)).toBeGreaterThanOrEqual(4995);
  });
});

describe("searchMaxRate", () => {
  const options = { rateStart: 1000, rateMax: 1_000_000, p99BoundUs: 10_000, trialsMax: 12, growthFactor: 2, achievedFractionMin: 0.95, precision: 0.05 };
  // A fake system that keeps up to 37,000 records/s and then falls behind.
  const fake = async (rate: number): Promise<TrialOutcome> => ({
    rate,
    achievedRate: Math.min(rate, 37_000),
    p99Us: rate <= 37_000 ? 2000 : 500_000,
    failed: 0,
  });

  test("finds the knee within its precision and a bounded number of trials", async () => {
    const result = await searchMaxRate(fake, options);
    expect(result.maxRate).toBeLessThanOrEqual(37_000);
    expect(result.maxRate).toBeGreaterThan(37_000 * 0.9);
    expect(result.trials.length).toBeLessThanOrEqual(options.trialsMax);
  });

  test("goes down when the first rate already fails; 0 when nothing passes", async () => {
    const low = await searchMaxRate(fake, { ...options, rateStart: 100_000 });
    expect(low.maxRate).toBeGreaterThan(0);
    const never = await searchMaxRate(async (rate) => ({ rate, achievedRate: 0, p99Us: 1e9, failed: 1 }), { ...options, trialsMax: 4 });
    expect(never.maxRate).toBe(0);
    expect(never.trials.length).toBe(4);
  });
});

describe("writers", () => {
  test("SVG plot is well-formed and escapes labels", () => {
    const histogram = new LatencyHistogram();
    for (let value = 1; value <= 5000; value++) histogram.recordUs(100 + value);
    const svg = renderPercentilePlot(
      [{ label: "runnel <acks=1>", points: histogram.plotPoints() }, { label: "empty", points: [] }],
      { title: "produce & ack", subtitle: "test" },
    );
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).toContain("runnel &lt;acks=1&gt;");
    expect(svg).toContain("produce &amp; ack");
    expect(svg).not.toContain("NaN");
    expect(svg.match(/<path /g)?.length).toBe(1);
  });

  test("percentile spectrum positions", () => {
    expect(percentileToNines(0)).toBe(0);
    expect(percentileToNines(90)).toBeCloseTo(1, 9);
    expect(percentileToNines(99.9)).toBeCloseTo(3, 6);
    expect(percentileToNines(100)).toBe(6);
  });

  test("spread, median index and markdown table", () => {
    expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, runs: 3 });
    expect(spread([4, 1]).median).toBe(2.5);
    expect(medianIndex([30, 10, 20])).toBe(2);
    expect(formatSpread(spread([1, 2, 3]), String)).toBe("2 (1–3)");
    expect(table(["a", "b"], [["1", "x|y"]])).toBe("| a | b |\n| --- | --- |\n| 1 | x\\|y |\n");
    expect(() => table(["a"], [["1", "2"]])).toThrow();
    expect(ratioAgainst(0.62, "≥", 0.5)).toBe("0.62× ✓");
    expect(ratioAgainst(1.5, "≤", 1)).toBe("1.50× ✗");
    expect(ratioAgainst(Number.NaN, "≥", 1)).toBe("n/a");
  });
});

describe("parameters", () => {
  test("flags win over environment, which wins over defaults; bad values are refused", async () => {
    const { parseParams, defaultParams, batchRecords } = await import("../../bench/lib/params.ts");
    const { params, rest } = parseParams(["produce", "--duration-ms=1500", "--acks", "-1"], { BENCH_DURATION_MS: "900", BENCH_RUNS: "5" });
    expect(rest).toEqual(["produce"]);
    expect(params.durationMs).toBe(1500);
    expect(params.runs).toBe(5);
    expect(params.acks).toBe(-1);
    expect(params.recordBytes).toBe(defaultParams.recordBytes);
    expect(batchRecords({ ...params, recordBytes: 1024, batchBytes: 16384 })).toBe(16);
    expect(() => parseParams(["--no-such-flag=1"], {})).toThrow(/unknown flag/);
    expect(() => parseParams(["--acks=2"], {})).toThrow();
    expect(() => parseParams(["--compression=brotli"], {})).toThrow();
  });
});
