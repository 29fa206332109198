// The open-loop load generator: a scheduler that hands records to a target at the times the
// schedule says, whatever the target is doing, and a recorder that measures each record's
// latency from its intended send time (see schedule.ts).
//
// The scheduler wakes at most every `tickMs` (default 1 ms, the resolution of timers): every
// record whose intended time has passed is handed over at once, so a late wake-up adds to the
// measured latency instead of hiding it. The target batches records as a client would (batch
// size / linger) and reports acknowledgements by record index.

import { assert } from "../../src/util/assert.ts";
import { LatencyHistogram } from "./histogram.ts";
import type { LatencySummary } from "./histogram.ts";
import { OpenLoopSchedule } from "./schedule.ts";

export interface OpenLoopTarget {
  /** Records [first, first + count) are due now (in index order, contiguous across calls). */
  send(first: number, count: number, nowMs: number): void;
  /** Called once per scheduler wake-up after `send`, to flush batches whose linger expired. */
  tick(nowMs: number): void;
  /** Records handed over but not yet acknowledged or failed. */
  backlog(): number;
  /** Resolves once nothing is outstanding, or after `timeoutMs`. */
  settle(timeoutMs: number): Promise<void>;
}

export interface RunResult {
  offeredRate: number;
  /** Acknowledged measured records per second over the measured window (see OpenLoopRecorder). */
  achievedRate: number;
  recordsMeasured: number;
  recordsAcked: number;
  recordsFailed: number;
  /** True when the run stopped early because the backlog exceeded its bound. */
  overloaded: boolean;
  produce: LatencySummary;
  endToEnd: LatencySummary | null;
  /** Why end-to-end latency is missing when the consumer failed (the produce figures stand). */
  endToEndError?: string;
  produceHistogram: LatencyHistogram;
  endToEndHistogram: LatencyHistogram;
}

/**
 * Accounting of one run. Pure: the caller passes the current time, so tests drive it without
 * a clock.
 */
export class OpenLoopRecorder {
  readonly produce = new LatencyHistogram();
  readonly endToEnd = new LatencyHistogram();
  ackedMeasured = 0;
  ackedTotal = 0;
  failed = 0;
  consumedMeasured = 0;
  lastAckMs = Number.NEGATIVE_INFINITY;
  overloaded = false;

  constructor(readonly schedule: OpenLoopSchedule) {}

  ack(first: number, count: number, nowMs: number): void {
    assert(count > 0 && first >= 0 && first + count <= this.schedule.recordsTotal, "ack range out of schedule");
    this.ackedTotal += count;
    const begin = Math.max(first, this.schedule.firstMeasured);
    for (let index = begin; index < first + count; index++) {
      this.produce.recordMs(nowMs - this.schedule.intendedMs(index));
    }
    if (first + count > begin) {
      this.ackedMeasured += first + count - begin;
      this.lastAckMs = Math.max(this.lastAckMs, nowMs);
    }
  }

  fail(first: number, count: number): void {
    assert(count > 0 && first >= 0, "fail of an empty range");
    this.failed += count;
  }

  /** A consumer saw record `index` at `nowMs`. */
  consumed(index: number, nowMs: number): void {
    if (!this.schedule.isMeasured(index)) return;
    this.consumedMeasured += 1;
    this.endToEnd.recordMs(nowMs - this.schedule.intendedMs(index));
  }

  /**
   * Achieved rate: measured records acknowledged, divided by the time from the start of the
   * measured window to the later of the schedule's end and the last acknowledgement. A system
   * that keeps up achieves the offered rate; one that falls behind stretches the denominator.
   */
  achievedRate(): number {
    if (this.ackedMeasured === 0) return 0;
    const scheduleEndMs = this.schedule.startMs + this.schedule.durationMs;
    const windowMs = Math.max(this.lastAckMs, scheduleEndMs) - this.schedule.measuredStartMs;
    assert(windowMs > 0, "empty measured window");
    return (this.ackedMeasured * 1000) / windowMs;
  }

  result(withEndToEnd: boolean): RunResult {
    return {
      offeredRate: this.schedule.ratePerSecond,
      achievedRate: this.achievedRate(),
      recordsMeasured: this.schedule.recordsMeasured,
      recordsAcked: this.ackedMeasured,
      recordsFailed: this.failed,
      overloaded: this.overloaded,
      produce: this.produce.summary(),
      endToEnd: withEndToEnd ? this.endToEnd.summary() : null,
      produceHistogram: this.produce,
      endToEndHistogram: this.endToEnd,
    };
  }
}

export interface DriveOptions {
  tickMs: number;
  /** Stop handing out records when this many are outstanding (the target cannot keep up). */
  backlogMax: number;
  settleTimeoutMs: number;
  now?: () => number;
}

export const nowMs = (): number => performance.timeOrigin + performance.now();

/** Runs the schedule against the target; returns when all records were handed over and settled. */
export async function driveOpenLoop(
  schedule: OpenLoopSchedule,
  target: OpenLoopTarget,
  recorder: OpenLoopRecorder,
  options: DriveOptions,
): Promise<void> {
  const now = options.now ?? nowMs;
  let sent = 0;
  while (sent < schedule.recordsTotal) {
    const current = now();
    const due = schedule.dueCount(current);
    if (due > sent) {
      target.send(sent, due - sent, current);
      sent = due;
    }
    target.tick(current);
    if (target.backlog() > options.backlogMax) {
      recorder.overloaded = true;
      break;
    }
    const waitMs = schedule.msUntilNext(sent, now());
    if (waitMs < 0) break;
    await Bun.sleep(Math.max(options.tickMs, Math.min(waitMs, 50)));
  }
  // Flush what lingers, then wait for the acknowledgements still in flight.
  // An overloaded run has failed already; do not spend long collecting its stragglers.
  const settleDeadline = now() + (recorder.overloaded ? Math.min(2000, options.settleTimeoutMs) : options.settleTimeoutMs);
  while (target.backlog() > 0 && now() < settleDeadline) {
    target.tick(Number.POSITIVE_INFINITY);
    await target.settle(Math.min(100, settleDeadline - now()));
  }
  const unsent = schedule.recordsTotal - sent;
  const outstanding = target.backlog();
  if (unsent + outstanding > 0) recorder.fail(0, unsent + outstanding);
}
