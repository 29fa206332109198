// LogLimiter: at most N lines a second, the left-out count carried by the next line written.

import { expect, test } from "bun:test";
import { LogLimiter } from "../../src/util/log-limiter.ts";

test("N lines a second, then the count of those left out", () => {
  let now = 10_000;
  const limiter = new LogLimiter(2, () => now);
  expect([limiter.admit(), limiter.admit(), limiter.admit(), limiter.admit()]).toEqual([0, 0, null, null]);
  now += 1000;
  expect(limiter.admit()).toBe(2);
  expect(limiter.admit()).toBe(0);
  expect(limiter.admit()).toBeNull();
});
