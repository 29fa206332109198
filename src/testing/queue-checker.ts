// A checker for "nothing acknowledged is lost", modeled on Jepsen's Kafka queue checker
// (test-only). Producers record every attempt — a unique value, the partition it went to, and how
// it ended: acknowledged at an offset, failed for sure, or unknown (timed out, connection lost:
// it may or may not have been written). After the faults, everything is read back, partition by
// partition, from the earliest offset to the end, possibly several times (from different brokers,
// before and after more failovers). The checker then finds:
//
//   lost        acknowledged, but not read at all
//   moved       acknowledged at offset N, but read at another offset (or N holds something else)
//   duplicated  one value read at two offsets
//   conflicting two different values read at one offset (two histories)
//   reordered   two values of one producer and partition acknowledged in one order, stored in
//               the other (an idempotent producer keeps its order)
//   phantom     a value that no attempt wrote
//   failedRead  a value whose attempt was reported failed for sure, but read
//
// and counts `unknown` attempts that were read (written after all) or not (never written):
// neither is an error. A test of the checker (test/unit/queue-checker.test.ts) shows that deleting
// a single acknowledged record is caught.

export type AttemptOutcome =
  | { kind: "ok"; partition: number; offset: bigint }
  | { kind: "failed"; error: string }
  | { kind: "unknown"; error: string };

export interface Attempt {
  /** The record's value, unique across the whole test. */
  value: string;
  /** Which producer sent it, and its position in that producer's send order. */
  producer: string;
  sequence: number;
  outcome: AttemptOutcome;
}

export interface ReadRecord {
  partition: number;
  offset: bigint;
  value: string;
}

export interface CheckerReport {
  valid: boolean;
  counts: {
    attempts: number;
    acknowledged: number;
    failed: number;
    unknown: number;
    unknownRead: number;
    read: number;
    lost: number;
    moved: number;
    duplicated: number;
    conflicting: number;
    reordered: number;
    phantom: number;
    failedRead: number;
  };
  /** Up to `examplesMax` offending records of each kind, described in words. */
  problems: string[];
}

const examplesMax = 20;

/** Check the read-back of every partition against the producers' attempts. */
export function checkQueue(attempts: readonly Attempt[], reads: readonly ReadRecord[]): CheckerReport {
  const problems: string[] = [];
  const note = (kind: string, text: string, count: number) => {
    if (count <= examplesMax) problems.push(`${kind}: ${text}`);
  };
  const byValue = new Map<string, Attempt>();
  for (const attempt of attempts) {
    if (byValue.has(attempt.value)) throw new Error(`attempt value ${attempt.value} is not unique`);
    byValue.set(attempt.value, attempt);
  }

  // One history per partition: offset → value, and value → every place it was read.
  const atOffset = new Map<string, string>();
  const placesOf = new Map<string, Set<string>>();
  let conflicting = 0;
  for (const read of reads) {
    const place = `${read.partition}@${read.offset}`;
    const previous = atOffset.get(place);
    if (previous !== undefined && previous !== read.value) {
      conflicting++;
      note("conflicting", `${place} read as '${previous}' and as '${read.value}'`, conflicting);
      continue;
    }
    atOffset.set(place, read.value);
    let places = placesOf.get(read.value);
    if (!places) placesOf.set(read.value, (places = new Set()));
    places.add(place);
  }

  let duplicated = 0;
  let phantom = 0;
  let failedRead = 0;
  let unknownRead = 0;
  for (const [value, places] of placesOf) {
    if (places.size > 1) {
      duplicated++;
      note("duplicated", `'${value}' at ${[...places].join(", ")}`, duplicated);
    }
    const attempt = byValue.get(value);
    if (!attempt) {
      phantom++;
      note("phantom", `'${value}' at ${[...places].join(", ")} was written by no attempt`, phantom);
    } else if (attempt.outcome.kind === "failed") {
      failedRead++;
      note("failedRead", `'${value}' failed (${attempt.outcome.error}) but was read at ${[...places].join(", ")}`, failedRead);
    } else if (attempt.outcome.kind === "unknown") {
      unknownRead++;
    }
  }

  let lost = 0;
  let moved = 0;
  let acknowledged = 0;
  let failed = 0;
  let unknown = 0;
  for (const attempt of attempts) {
    const outcome = attempt.outcome;
    if (outcome.kind === "failed") failed++;
    if (outcome.kind === "unknown") unknown++;
    if (outcome.kind !== "ok") continue;
    acknowledged++;
    const place = `${outcome.partition}@${outcome.offset}`;
    const places = placesOf.get(attempt.value);
    if (!places) {
      lost++;
      note("lost", `'${attempt.value}' acknowledged at ${place} was never read (that offset holds ${describe(atOffset.get(place))})`, lost);
    } else if (!places.has(place)) {
      moved++;
      note("moved", `'${attempt.value}' acknowledged at ${place} but read at ${[...places].join(", ")}`, moved);
    }
  }

  const reordered = countReordered(attempts, placesOf, (text, count) => note("reordered", text, count));
  const counts = {
    attempts: attempts.length, acknowledged, failed, unknown, unknownRead, read: atOffset.size,
    lost, moved, duplicated, conflicting, reordered, phantom, failedRead,
  };
  const valid = lost + moved + duplicated + conflicting + reordered + phantom + failedRead === 0;
  return { valid, counts, problems };
}

function describe(value: string | undefined): string {
  return value === undefined ? "nothing" : `'${value}'`;
}

/**
 * Within one producer and partition, values sent earlier must be stored at lower offsets. Only
 * values read exactly once count (duplicates are reported on their own).
 */
function countReordered(
  attempts: readonly Attempt[],
  placesOf: ReadonlyMap<string, ReadonlySet<string>>,
  note: (text: string, count: number) => void,
): number {
  const streams = new Map<string, { sequence: number; offset: bigint; value: string }[]>();
  for (const attempt of attempts) {
    const places = placesOf.get(attempt.value);
    if (!places || places.size !== 1) continue;
    const [place] = places;
    const [partition, offset] = place!.split("@");
    const key = `${attempt.producer}/${partition}`;
    let stream = streams.get(key);
    if (!stream) streams.set(key, (stream = []));
    stream.push({ sequence: attempt.sequence, offset: BigInt(offset!), value: attempt.value });
  }
  let reordered = 0;
  for (const [key, stream] of streams) {
    stream.sort((a, b) => a.sequence - b.sequence);
    for (let index = 1; index < stream.length; index++) {
      const before = stream[index - 1]!;
      const after = stream[index]!;
      if (after.offset < before.offset) {
        reordered++;
        note(`${key}: '${before.value}' (sent #${before.sequence}) at ${before.offset} after '${after.value}' (sent #${after.sequence}) at ${after.offset}`, reordered);
      }
    }
  }
  return reordered;
}

/** One line of figures for a test's output. */
export function summarize(report: CheckerReport): string {
  const c = report.counts;
  return `${c.attempts} attempts: ${c.acknowledged} acknowledged, ${c.failed} failed, ${c.unknown} unknown ` +
    `(${c.unknownRead} of them written); ${c.read} records read; lost ${c.lost}, moved ${c.moved}, ` +
    `duplicated ${c.duplicated}, conflicting ${c.conflicting}, reordered ${c.reordered}, phantom ${c.phantom}, ` +
    `failed-but-read ${c.failedRead}`;
}
