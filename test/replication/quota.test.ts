// The replication throttle's token bucket (src/replication/core/quota.ts) on a test clock.

import { describe, expect, test } from "bun:test";
import { ReplicationQuota } from "../../src/replication/core/quota.ts";

describe("replication quota", () => {
  test("allows a tenth of a second's worth, then waits for the refill: the average stays at the rate", () => {
    let now = 0;
    const quota = new ReplicationQuota(1000, () => now);
    expect(quota.available()).toBe(100);
    expect(quota.isExceeded()).toBe(false);
    quota.record(600);
    expect(quota.isExceeded()).toBe(true);
    expect(quota.available()).toBe(0);
    expect(quota.waitMs()).toBe(500);
    now = 499;
    expect(quota.isExceeded()).toBe(true);
    now = 500;
    expect(quota.isExceeded()).toBe(false);
    // Idle time refills at most the burst (a tenth of a second): no second's worth at once.
    now = 60_000;
    expect(quota.available()).toBe(100);
    quota.record(100);
    expect(quota.isExceeded()).toBe(false);
    quota.record(1);
    expect(quota.isExceeded()).toBe(true);
  });

  test("an unthrottled quota never waits", () => {
    const quota = new ReplicationQuota(Number.MAX_SAFE_INTEGER, () => 0);
    quota.record(1e12);
    expect(quota.isExceeded()).toBe(false);
    expect(quota.waitMs()).toBe(0);
    expect(quota.available()).toBe(Infinity);
  });
});
