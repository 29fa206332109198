// A bounded in-flight window for closed-loop floods: `acquire` waits while `limit` operations
// are outstanding, `release` frees a slot. O(1) per operation (a Promise.race over all
// outstanding promises would be O(window) per completion).

import { assert } from "../../src/util/assert.ts";

export class InFlightWindow {
  private inFlight = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly limit: number) {
    assert(limit >= 1, "window limit must be ≥ 1");
  }

  get size(): number {
    return this.inFlight;
  }

  async acquire(): Promise<void> {
    while (this.inFlight >= this.limit) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.inFlight += 1;
  }

  release(): void {
    assert(this.inFlight > 0, "release without acquire");
    this.inFlight -= 1;
    this.waiters.shift()?.();
  }

  /** Resolves when nothing is in flight. */
  async idle(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}

/**
 * Runs `start()` repeatedly with at most `limit` outstanding until `shouldStop()`; each call's
 * promise settles one operation. Errors stop the loop and are rethrown.
 */
export async function floodLoop(limit: number, shouldStop: () => boolean, start: () => Promise<unknown>): Promise<void> {
  const window = new InFlightWindow(limit);
  let failure: unknown = null;
  while (!shouldStop() && failure === null) {
    await window.acquire();
    start().then(
      () => window.release(),
      (error) => {
        failure ??= error;
        window.release();
      },
    );
  }
  await window.idle();
  if (failure !== null) throw failure;
}
