// request_percentage's unit: broker time as a percentage of one thread over the quota window, the
// throttle Kafka's ClientQuotaManager computes from it, and the resolution cache following changes.

import { expect, test } from "bun:test";
import { QuotaManager, requestTimeValue, type StoredQuota } from "../../src/security/quotas.ts";

function managerWith(percentage: number, clock: { now: number }) {
  let table = new Map<string, StoredQuota>([["user=carol", { entity: [{ entityType: "user", entityName: "carol" }], values: { request_percentage: percentage } }]]);
  const manager = new QuotaManager({ samples: 2, sampleMs: 1000 }, () => table, () => clock.now);
  return { manager, replace: (next: Map<string, StoredQuota>) => (table = next) };
}

test("request time is charged as a percentage of one thread and throttled as Kafka does", () => {
  const clock = { now: 0 };
  const { manager } = managerWith(1.5, clock);
  // 20 ms of one thread over the 1 s minimum window is 2%: (2 - 1.5) / 1.5 × 1000 ms.
  expect(manager.record("request_percentage", "carol", "app", requestTimeValue(20))).toEqual({ throttleMs: 333, entity: "user=carol" });
  // Within the quota once the window has moved on.
  clock.now = 5000;
  expect(manager.record("request_percentage", "carol", "app", requestTimeValue(10))).toEqual({ throttleMs: 0, entity: "user=carol" });
  expect(manager.record("request_percentage", "dave", "app", requestTimeValue(500))).toBeNull();
});

test("a whole thread busy is 100 percent; a changed quota table is resolved again", () => {
  const clock = { now: 0 };
  const { manager, replace } = managerWith(100, clock);
  expect(manager.record("request_percentage", "carol", "app", requestTimeValue(900))!.throttleMs).toBe(0);
  expect(manager.record("request_percentage", "carol", "app", requestTimeValue(200))!.throttleMs).toBe(100);
  replace(new Map());
  expect(manager.record("request_percentage", "carol", "app", requestTimeValue(200))).toBeNull();
});
