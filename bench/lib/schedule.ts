// The open-loop schedule: record i is due at `startMs + i * 1000 / rate`, whatever happened to
// the records before it. Latency is measured from that INTENDED time, so a stall of the system
// under test (or of the generator itself) shows up in the latency of every record that should
// have been sent during it — no coordinated omission.
//
//   startMs        startMs + warmupMs                               startMs + durationMs
//   |--- warm-up ---|------------------- measured -------------------|
//   records whose intended time falls in the warm-up are sent but not recorded.
//
// This file is pure arithmetic (no timers, no I/O) so it is tested without time.

import { assert } from "../../src/util/assert.ts";

export interface ScheduleOptions {
  ratePerSecond: number;
  durationMs: number;
  warmupMs: number;
  startMs: number;
}

export class OpenLoopSchedule {
  readonly ratePerSecond: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly startMs: number;
  readonly intervalMs: number;
  /** Records in the whole run, warm-up included. */
  readonly recordsTotal: number;
  /** Index of the first measured record. */
  readonly firstMeasured: number;

  constructor(options: ScheduleOptions) {
    assert(options.ratePerSecond > 0, "rate must be positive");
    assert(options.durationMs > 0, "duration must be positive");
    assert(options.warmupMs >= 0 && options.warmupMs < options.durationMs, "warm-up must be shorter than the run");
    this.ratePerSecond = options.ratePerSecond;
    this.durationMs = options.durationMs;
    this.warmupMs = options.warmupMs;
    this.startMs = options.startMs;
    this.intervalMs = 1000 / options.ratePerSecond;
    this.recordsTotal = Math.max(1, Math.floor((options.durationMs * options.ratePerSecond) / 1000));
    this.firstMeasured = Math.min(this.recordsTotal, Math.ceil((options.warmupMs * options.ratePerSecond) / 1000));
  }

  intendedMs(index: number): number {
    assert(index >= 0 && index < this.recordsTotal, `record index out of schedule: ${index}`);
    return this.startMs + index * this.intervalMs;
  }

  /** Number of records whose intended time is at or before `nowMs` (they are all due). */
  dueCount(nowMs: number): number {
    if (nowMs < this.startMs) return 0;
    const due = Math.floor((nowMs - this.startMs) / this.intervalMs) + 1;
    return Math.min(this.recordsTotal, due);
  }

  isMeasured(index: number): boolean {
    return index >= this.firstMeasured;
  }

  /** Records in the measured window. */
  get recordsMeasured(): number {
    return this.recordsTotal - this.firstMeasured;
  }

  /** Intended time of the first measured record (start of the measured window). */
  get measuredStartMs(): number {
    return this.startMs + this.firstMeasured * this.intervalMs;
  }

  /** Milliseconds until the next record after `sent` is due (0 if already due, -1 if none left). */
  msUntilNext(sent: number, nowMs: number): number {
    if (sent >= this.recordsTotal) return -1;
    return Math.max(0, this.intendedMs(sent) - nowMs);
  }
}
