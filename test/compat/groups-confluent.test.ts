// Consumer groups with confluent-kafka-python (librdkafka 2.0.2) against a real Runnel process:
// three consumers share a 6-partition topic while a producer writes 30,000 keyed records; every
// record is consumed exactly once; after a kill -9 of one consumer the others take over its
// partitions after the session timeout and only the killed consumer's uncommitted records (after
// its last committed offset, per partition) are consumed twice. Also cooperative-sticky and a
// broker restart with committed offsets.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { spawnLines, type LineProcess } from "../../src/testing/processes.ts";
import { repoRoot, run, startBroker, type Broker } from "../helpers/broker.ts";

const script = join(repoRoot, "test/compat/groups/confluent_group.py");
const python = "/usr/bin/python3";
const RECORDS = Number(process.env.GROUPS_TEST_RECORDS ?? 30000);

let broker: Broker;

beforeAll(async () => {
  broker = await startBroker({ set: { "num.partitions": 6, "group.initial.rebalance.delay.ms": 300, "offsets.topic.num.partitions": 5 } });
});

afterAll(async () => {
  await broker?.stop();
});

interface Consumed {
  member: number;
  partition: number;
  offset: number;
  value: number;
}

function startConsumer(group: string, topic: string, member: number, strategy = "range", instance?: string, env: Record<string, string> = {}): LineProcess {
  return spawnLines([python, script, "consume", broker.bootstrap, group, topic, String(member), strategy, ...(instance ? [instance] : [])], { env });
}

function produce(topic: string, count: number): Promise<string> {
  const producer = spawnLines([python, script, "produce", broker.bootstrap, topic, String(count)]);
  return producer.waitForLine((line) => line.startsWith("P done"));
}

function consumedBy(consumer: LineProcess, member: number): Consumed[] {
  return consumer.lines
    .filter((line) => line.startsWith("M "))
    .map((line) => {
      const [, partition, offset, value] = line.split(" ");
      return { member, partition: Number(partition), offset: Number(offset), value: Number(value) };
    });
}

/** Highest (next) offset per partition in the consumer's "<tag> p o" lines (C: committed, I: about to commit). */
function lastCommits(consumer: LineProcess, tag = "C"): Map<number, number> {
  const commits = new Map<number, number>();
  for (const line of consumer.lines) {
    if (!line.startsWith(`${tag} `)) continue;
    const [, partition, offset] = line.split(" ");
    commits.set(Number(partition), Math.max(commits.get(Number(partition)) ?? 0, Number(offset)));
  }
  return commits;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

function distinctValues(consumers: LineProcess[]): number {
  const values = new Set<number>();
  consumers.forEach((consumer, member) => {
    for (const record of consumedBy(consumer, member)) if (!Number.isNaN(record.value)) values.add(record.value);
  });
  return values.size;
}

async function stopAll(consumers: LineProcess[]): Promise<void> {
  for (const consumer of consumers) consumer.process.kill("SIGTERM");
  await Promise.all(consumers.map((consumer) => consumer.exited));
}

describe("confluent-kafka-python consumer group", () => {
  test(`three consumers, ${RECORDS} keyed records while producing: each consumed exactly once`, async () => {
    const consumers = [0, 1, 2].map((member) => startConsumer("exactly-once", "eo", member));
    try {
      // Let the three settle on two partitions each, so that the work is shared (a fast run could
      // otherwise finish before the last consumer joins); the producer then writes while they consume.
      await run(["kcat", "-b", broker.bootstrap, "-P", "-t", "eo", "-K:"], { stdin: "warm:up\n" });
      await waitFor(() => consumers.every((consumer) => /^A \d+,\d+$/.test(consumer.lines.filter((line) => /^[AR] /.test(line)).at(-1) ?? "")), "three balanced members", 60_000);
      await produce("eo", RECORDS);
      await waitFor(() => distinctValues(consumers) === RECORDS, `${RECORDS} distinct records`, 120_000);
    } finally {
      await stopAll(consumers);
    }
    const all = consumers.flatMap((consumer, member) => consumedBy(consumer, member)).filter((record) => !Number.isNaN(record.value));
    const failures = consumers.flatMap((consumer) => consumer.lines.filter((line) => line.startsWith("F ")));
    expect(failures).toEqual([]);
    expect(all.length).toBe(RECORDS);
    expect(new Set(all.map((record) => record.value)).size).toBe(RECORDS);
    // The work was shared: every consumer got some partitions at the end.
    for (const consumer of consumers) expect(consumer.lines.some((line) => line.startsWith("A ") && line.length > 2)).toBe(true);
    expect(consumers.every((consumer) => consumer.lines.at(-1) === "X")).toBe(true);
  }, 180_000);

  test("kill -9 of one consumer: the others take over; duplicates only past its last commit", async () => {
    // The consumer to be killed spends 1 ms on each record and commits every 250 records, not when
    // idle, so that it usually dies holding an uncommitted window (the check below is exact either way).
    const consumers = [0, 1, 2].map((member) =>
      startConsumer("kill-nine", "kn", member, "range", undefined, member === 0 ? { COMMIT_EVERY: "250", IDLE_COMMIT: "0", PROCESS_MS: "1" } : {}),
    );
    let takeoverMs = 0;
    try {
      await run(["kcat", "-b", broker.bootstrap, "-P", "-t", "kn", "-K:"], { stdin: "warm:up\n" });
      await waitFor(() => consumers.every((consumer) => /^A \d+,\d+$/.test(consumer.lines.filter((line) => /^[AR] /.test(line)).at(-1) ?? "")), "three balanced members", 60_000);
      const producing = produce("kn", RECORDS);
      // Kill consumer 0 once it has consumed a fair share and the producer is still going.
      await waitFor(() => consumedBy(consumers[0]!, 0).length >= 1500, "consumer 0 to consume", 90_000);
      const assignmentsBefore = consumers.slice(1).map((consumer) => consumer.lines.filter((line) => line.startsWith("A ")).length);
      await consumers[0]!.kill9();
      const killedAt = Date.now();
      await waitFor(
        () => consumers.slice(1).some((consumer, index) => consumer.lines.filter((line) => line.startsWith("A ")).length > assignmentsBefore[index]!),
        "a survivor to be assigned the killed consumer's partitions",
        60_000,
      );
      takeoverMs = Date.now() - killedAt;
      await producing;
      await waitFor(() => distinctValues(consumers) === RECORDS, `${RECORDS} distinct records`, 120_000);
    } finally {
      await stopAll(consumers.slice(1));
    }
    // The dead member is noticed by its session timeout (6 s), then the group rebalances.
    expect(takeoverMs).toBeGreaterThan(4000);
    expect(takeoverMs).toBeLessThan(20_000);
    const killed = consumedBy(consumers[0]!, 0);
    // The broker's committed offset for a partition lies between the last commit the killed
    // consumer saw acknowledged (C) and the last one it sent (I): kill -9 may land in between.
    const acknowledged = lastCommits(consumers[0]!, "C");
    const sent = lastCommits(consumers[0]!, "I");
    const survivors = consumers.slice(1).flatMap((consumer, index) => consumedBy(consumer, index + 1));
    const survivorKeys = new Set<string>();
    for (const record of survivors) {
      const key = `${record.partition}:${record.offset}`;
      expect(survivorKeys.has(key)).toBe(false); // survivors never consume a record twice
      survivorKeys.add(key);
    }
    const partitions = new Set(killed.map((record) => record.partition));
    let duplicateCount = 0;
    for (const partition of partitions) {
      const mine = killed.filter((record) => record.partition === partition);
      const duplicated = mine.filter((record) => survivorKeys.has(`${partition}:${record.offset}`));
      duplicateCount += duplicated.length;
      const low = acknowledged.get(partition) ?? 0;
      const high = sent.get(partition) ?? 0;
      // Duplicates are exactly the killed consumer's records from the broker's committed offset on.
      const from = duplicated.length > 0 ? Math.min(...duplicated.map((record) => record.offset)) : Infinity;
      expect(from).toBeGreaterThanOrEqual(low);
      // ...and at most its last sent commit: nothing it committed is consumed again.
      if (duplicated.length > 0) expect(from).toBeLessThanOrEqual(Math.max(high, low));
      // Exactly: the survivors resumed at the broker's committed offset, which is the killed
      // consumer's last acknowledged commit, its last sent one, or (no commit of its own) where it
      // started; the duplicates are its records from there on (none if it had consumed no further).
      const resumedAt = duplicated.length > 0 ? from : Math.max(...mine.map((record) => record.offset)) + 1;
      const candidates = new Set([Math.min(...mine.map((record) => record.offset))]);
      if (acknowledged.has(partition)) candidates.add(low);
      if (sent.has(partition)) candidates.add(high);
      expect([partition, candidates.has(resumedAt)]).toEqual([partition, true]);
      expect(duplicated.length).toBe(mine.filter((record) => record.offset >= from).length);
      for (const record of mine) if (record.offset >= Math.max(high, low)) expect(survivorKeys.has(`${partition}:${record.offset}`)).toBe(true);
    }
    expect(new Set([...killed, ...survivors].map((record) => record.value).filter((value) => !Number.isNaN(value))).size).toBe(RECORDS);
    console.log(`kill -9: take-over after ${takeoverMs} ms, ${duplicateCount} records consumed twice (uncommitted window; last acknowledged commits ${JSON.stringify([...acknowledged])}, sent ${JSON.stringify([...sent])})`);
  }, 240_000);

  test("cooperative-sticky: incremental assignment across two consumers, then one leaves", async () => {
    const first = startConsumer("coop", "coop", 0, "cooperative-sticky");
    await produce("coop", 600);
    await waitFor(() => consumedBy(first, 0).length >= 600, "first consumer to read everything", 60_000);
    const second = startConsumer("coop", "coop", 1, "cooperative-sticky");
    try {
      // The first consumer gives up only some partitions (incremental), keeping the rest.
      await waitFor(() => second.lines.some((line) => /^A \d/.test(line)), "second consumer assignment", 60_000);
      await waitFor(() => first.lines.some((line) => /^R \d/.test(line)), "first consumer partial revocation", 60_000);
      const revoked = first.lines.filter((line) => /^R \d/.test(line)).at(-1)!.slice(2).split(",");
      expect(revoked.length).toBeGreaterThan(0);
      expect(revoked.length).toBeLessThan(6);
      await produce("coop", 600);
      await waitFor(() => distinctValues([first, second]) === 600, "600 distinct values", 60_000);
      await waitFor(() => consumedBy(first, 0).length + consumedBy(second, 1).length >= 1200, "second batch consumed", 60_000);
    } finally {
      await stopAll([second]);
    }
    // After the second consumer left, the first gets every partition back.
    await waitFor(() => first.lines.filter((line) => /^A \d/.test(line)).length >= 2, "first consumer re-assignment", 60_000);
    await stopAll([first]);
    const all = [...consumedBy(first, 0), ...consumedBy(second, 1)];
    expect(all.length).toBe(1200);
  }, 180_000);

  test("static membership: a restarted static member takes its place back without a rebalance", async () => {
    await produce("static", 120);
    const dynamic = startConsumer("statics", "static", 0);
    const staticMember = startConsumer("statics", "static", 1, "range", "static-1");
    try {
      await waitFor(() => distinctValues([dynamic, staticMember]) === 120, "120 records", 60_000);
      await waitFor(() => /^A \d/.test(staticMember.lines.filter((line) => line.startsWith("A ")).at(-1) ?? ""), "static member assignment", 30_000);
      const staticAssignment = staticMember.lines.filter((line) => line.startsWith("A ")).at(-1);
      const dynamicEvents = dynamic.lines.filter((line) => line.startsWith("A ") || line.startsWith("R ")).length;
      // A static member's close() sends no LeaveGroup: the group keeps its place for session.timeout.ms.
      staticMember.process.kill("SIGTERM");
      await staticMember.exited;
      const restarted = startConsumer("statics", "static", 2, "range", "static-1");
      try {
        await waitFor(() => restarted.lines.some((line) => /^A \d/.test(line)), "restarted static member assignment", 30_000);
        await produce("static", 60);
        // (The producer numbers values from 0 again: count records, not distinct values.)
        const total = () => [dynamic, staticMember, restarted].reduce((sum, consumer, member) => sum + consumedBy(consumer, member).length, 0);
        await waitFor(() => total() >= 180, "180 records", 60_000);
        expect(total()).toBe(180);
        expect(restarted.lines.find((line) => line.startsWith("A "))).toBe(staticAssignment);
        // The dynamic member saw no rebalance at all.
        expect(dynamic.lines.filter((line) => line.startsWith("A ") || line.startsWith("R ")).length).toBe(dynamicEvents);
      } finally {
        await stopAll([restarted]);
      }
    } finally {
      await stopAll([dynamic]);
    }
  }, 120_000);

  test("a running consumer rides through a broker restart without re-reading", async () => {
    await produce("ride", 200);
    const consumer = startConsumer("riders", "ride", 0);
    try {
      await waitFor(() => consumedBy(consumer, 0).length >= 200, "200 records", 60_000);
      await broker.restart();
      await produce("ride", 200);
      await waitFor(() => consumedBy(consumer, 0).length >= 400, "400 records", 90_000);
    } finally {
      await stopAll([consumer]);
    }
    const keys = consumedBy(consumer, 0).map((record) => `${record.partition}:${record.offset}`);
    expect(keys.length).toBe(400);
    expect(new Set(keys).size).toBe(400);
  }, 150_000);

  test("broker restart: a group resumes at its committed offsets", async () => {
    await produce("restart", 300);
    const before = startConsumer("restarts", "restart", 0);
    await waitFor(() => consumedBy(before, 0).length >= 300 && [...lastCommits(before).values()].reduce((a, b) => a + b, 0) >= 300, "commits", 60_000);
    await stopAll([before]);
    await broker.restart();
    await produce("restart", 200);
    const after = startConsumer("restarts", "restart", 1);
    try {
      await waitFor(() => consumedBy(after, 1).length >= 200, "200 new records", 60_000);
      // Give a late duplicate a chance to show up (it must not).
      await waitFor(() => after.lines.some((line) => line.startsWith("C ")), "a commit", 30_000);
    } finally {
      await stopAll([after]);
    }
    const values = consumedBy(after, 1).map((record) => record.value);
    expect(values.length).toBe(200);
    expect(new Set(values).size).toBe(200);
  }, 120_000);
});
