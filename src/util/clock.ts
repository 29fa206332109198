// Time is injected so that tests and simulations can drive it. Production uses the system clock.

export interface Clock {
  /** Wall-clock milliseconds since the epoch (timestamps written into records). */
  nowMs(): number;
  /** Monotonic milliseconds (timeouts, intervals). */
  monotonicMs(): number;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
};
