// Timers for the group coordinator, injected so that unit tests and the rebalance benchmark can drive
// time by hand. Production uses `systemScheduler` (setTimeout + performance.now()).

import { assert } from "../util/assert.ts";
import type { Clock } from "../util/clock.ts";

export interface TimerHandle {
  cancel(): void;
}

/** A clock plus one-shot timers. Deadlines are on the monotonic clock. */
export interface Scheduler extends Clock {
  setTimer(delayMs: number, callback: () => void): TimerHandle;
}

export const systemScheduler: Scheduler = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  setTimer(delayMs, callback) {
    assert(delayMs >= 0, "negative timer delay");
    const handle = setTimeout(callback, delayMs);
    // Timers never keep the process alive: a node closes its coordinator explicitly.
    (handle as { unref?: () => void }).unref?.();
    return { cancel: () => clearTimeout(handle) };
  },
};

interface ManualTimer {
  dueMs: number;
  sequence: number;
  callback: () => void;
  cancelled: boolean;
}

/**
 * A scheduler whose time moves only when `advance` is called. Timers fire in due order (ties in
 * creation order); a callback may schedule further timers, which fire within the same `advance` if due.
 */
export class ManualScheduler implements Scheduler {
  private now: number;
  private wallOffset: number;
  private sequence = 0;
  private timers: ManualTimer[] = [];

  constructor(startMs = 0, wallStartMs = 1_700_000_000_000) {
    this.now = startMs;
    this.wallOffset = wallStartMs - startMs;
  }

  nowMs(): number {
    return this.now + this.wallOffset;
  }

  monotonicMs(): number {
    return this.now;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    assert(delayMs >= 0 && Number.isFinite(delayMs), "timer delay must be finite and >= 0");
    const timer: ManualTimer = { dueMs: this.now + delayMs, sequence: this.sequence++, callback, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => { timer.cancelled = true; } };
  }

  /** Number of timers not yet fired or cancelled. */
  get pending(): number {
    return this.timers.filter((timer) => !timer.cancelled).length;
  }

  /** Moves time forward by `deltaMs`, firing every timer that falls due on the way. */
  advance(deltaMs: number): void {
    assert(deltaMs >= 0, "time only moves forward");
    const target = this.now + deltaMs;
    for (;;) {
      this.timers = this.timers.filter((timer) => !timer.cancelled);
      let next: ManualTimer | undefined;
      for (const timer of this.timers) {
        if (timer.dueMs > target) continue;
        if (!next || timer.dueMs < next.dueMs || (timer.dueMs === next.dueMs && timer.sequence < next.sequence)) next = timer;
      }
      if (!next) break;
      this.now = Math.max(this.now, next.dueMs);
      next.cancelled = true;
      next.callback();
    }
    this.now = target;
  }
}
