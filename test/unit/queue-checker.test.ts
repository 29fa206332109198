// The Jepsen-style queue checker (src/testing/queue-checker.ts) must catch every kind of anomaly
// it names — above all a single acknowledged record deleted from an otherwise perfect history.

import { describe, expect, test } from "bun:test";
import { checkQueue, summarize, type Attempt, type ReadRecord } from "../../src/testing/queue-checker.ts";

/** Two producers, two partitions, 50 acknowledged records each, read back perfectly. */
function perfectHistory(): { attempts: Attempt[]; reads: ReadRecord[] } {
  const attempts: Attempt[] = [];
  const reads: ReadRecord[] = [];
  const nextOffset = [0n, 0n];
  for (let sequence = 0; sequence < 50; sequence++) {
    for (const producer of ["p0", "p1"]) {
      const partition = sequence % 2;
      const offset = nextOffset[partition]!++;
      const value = `${producer}-${sequence}`;
      attempts.push({ value, producer, sequence, outcome: { kind: "ok", partition, offset } });
      reads.push({ partition, offset, value });
    }
  }
  return { attempts, reads };
}

describe("queue checker", () => {
  test("a perfect history is valid", () => {
    const { attempts, reads } = perfectHistory();
    const report = checkQueue(attempts, reads);
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
    expect(report.counts.acknowledged).toBe(100);
    expect(report.counts.read).toBe(100);
    expect(summarize(report)).toContain("100 acknowledged");
  });

  test("deleting one acknowledged record is caught as lost", () => {
    const { attempts, reads } = perfectHistory();
    const removed = reads.splice(37, 1)[0]!;
    const report = checkQueue(attempts, reads);
    expect(report.valid).toBe(false);
    expect(report.counts.lost).toBe(1);
    expect(report.problems.join("\n")).toContain(removed.value);
  });

  test("a record read at another offset than acknowledged is caught as moved", () => {
    const { attempts, reads } = perfectHistory();
    const last = reads.find((read) => read.partition === 0 && read.offset === 49n)!;
    last.offset = 60n;
    const report = checkQueue(attempts, reads);
    expect(report.counts.moved).toBe(1);
    expect(report.valid).toBe(false);
  });

  test("duplicates, conflicting histories, phantoms and failed-but-read records are caught", () => {
    const { attempts, reads } = perfectHistory();
    reads.push({ partition: 1, offset: 100n, value: "p0-1" }); // duplicated
    reads.push({ partition: 0, offset: 3n, value: "p1-9" }); // conflicting with what 0@3 holds
    reads.push({ partition: 0, offset: 101n, value: "nobody-wrote-me" }); // phantom
    attempts.push({ value: "refused", producer: "p2", sequence: 0, outcome: { kind: "failed", error: "MSG_SIZE_TOO_LARGE" } });
    reads.push({ partition: 1, offset: 102n, value: "refused" }); // failed but read
    const report = checkQueue(attempts, reads);
    expect(report.counts.duplicated).toBe(1);
    expect(report.counts.conflicting).toBe(1);
    expect(report.counts.phantom).toBe(1);
    expect(report.counts.failedRead).toBe(1);
    expect(report.valid).toBe(false);
  });

  test("two records of one producer stored in the reverse of their send order are caught", () => {
    const { attempts, reads } = perfectHistory();
    // p0's sequences 0 and 2 both went to partition 0: swap where they were stored.
    const first = reads.find((read) => read.value === "p0-0")!;
    const second = reads.find((read) => read.value === "p0-2")!;
    [first.value, second.value] = [second.value, first.value];
    for (const attempt of attempts) {
      if (attempt.value === "p0-0" && attempt.outcome.kind === "ok") attempt.outcome = { ...attempt.outcome, offset: second.offset };
      if (attempt.value === "p0-2" && attempt.outcome.kind === "ok") attempt.outcome = { ...attempt.outcome, offset: first.offset };
    }
    const report = checkQueue(attempts, reads);
    expect(report.counts.reordered).toBe(1);
    expect(report.valid).toBe(false);
  });

  test("unknown outcomes are not errors, read or not", () => {
    const { attempts, reads } = perfectHistory();
    attempts.push({ value: "maybe-1", producer: "p3", sequence: 0, outcome: { kind: "unknown", error: "timed out" } });
    attempts.push({ value: "maybe-2", producer: "p3", sequence: 1, outcome: { kind: "unknown", error: "timed out" } });
    reads.push({ partition: 1, offset: 50n, value: "maybe-1" });
    const report = checkQueue(attempts, reads);
    expect(report.valid).toBe(true);
    expect(report.counts.unknown).toBe(2);
    expect(report.counts.unknownRead).toBe(1);
  });

  test("the same record read twice at the same offset (two reads of one history) is fine", () => {
    const { attempts, reads } = perfectHistory();
    const report = checkQueue(attempts, [...reads, ...reads]);
    expect(report.valid).toBe(true);
  });
});
