// Compaction seen by real clients: kcat produces many versions of a set of keys and tombstones
// (-Z: empty value = null) into a cleanup.policy=compact topic of a real broker; once the
// background cleaner ran, kcat consuming from the beginning sees exactly the latest value of
// each live key and no deleted key. Then a restart keeps the compacted log readable.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { run, startBroker, type Broker } from "../helpers/broker.ts";

let broker: Broker;

const codecs = ["none", "lz4", "zstd"] as const;

beforeAll(async () => {
  broker = await startBroker({ set: { "log.cleaner.backoff.ms": 100 } });
  const kafka = new Kafka({ clientId: "compaction-kcat", brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: codecs.map((codec) => ({
      topic: `compacted-${codec}`,
      numPartitions: 1,
      configEntries: [
        { name: "cleanup.policy", value: "compact" },
        { name: "segment.bytes", value: "2048" },
        { name: "delete.retention.ms", value: "0" },
        { name: "min.cleanable.dirty.ratio", value: "0.01" },
      ],
    })),
  });
  await admin.disconnect();
});

afterAll(async () => {
  await broker?.stop();
});

async function consumeAll(topic: string): Promise<[string, string][]> {
  const { stdout } = await run(["kcat", "-b", broker.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-Z", "-f", "%k=%s\n"]);
  return new TextDecoder().decode(stdout).split("\n").filter(Boolean).map((line) => line.split("=") as [string, string]);
}

async function waitForCompaction(topic: string, expected: [string, string][], timeoutMs: number): Promise<[string, string][]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = await consumeAll(topic);
    if (JSON.stringify(seen) === JSON.stringify(expected) || Date.now() > deadline) return seen;
    await Bun.sleep(200);
  }
}

for (const codec of codecs) test(`kcat (${codec}): after cleaning, a consumer from the beginning sees the latest value of each live key`, async () => {
  const topic = `compacted-${codec}`;
  const keys = 40;
  const rounds = 8;
  const lines: string[] = [];
  const latest = new Map<string, string | null>();
  for (let round = 0; round < rounds; round++) {
    for (let key = 0; key < keys; key++) {
      // Every 5th key is deleted in the last round (a tombstone: -Z turns the empty value into null).
      const deleted = round === rounds - 1 && key % 5 === 0;
      const value = deleted ? "" : `v${round}-${"p".repeat(20)}`;
      lines.push(`key${key}:${value}`);
      latest.set(`key${key}`, deleted ? null : value);
    }
  }
  await run(["kcat", "-b", broker.bootstrap, "-P", "-t", topic, "-K:", "-Z", "-z", codec, "-X", "linger.ms=0", "-X", "batch.num.messages=10"], { stdin: lines.join("\n") + "\n" });
  // A separate, large record rolls the segment, so that every version above is in a sealed segment.
  await run(["kcat", "-b", broker.bootstrap, "-P", "-t", topic, "-K:"], { stdin: `filler:${"f".repeat(2100)}\n` });
  // (The cleaner runs every 100 ms here, so it may already be at work: no "before" snapshot.)

  // The order of the survivors is their offset order: the order of their last write.
  const expected: [string, string][] = [];
  const lastWrite = new Map<string, number>();
  lines.forEach((line, index) => lastWrite.set(line.split(":")[0]!, index));
  for (const [key] of [...lastWrite].sort((left, right) => left[1] - right[1])) {
    const value = latest.get(key);
    if (value !== null && value !== undefined) expected.push([key, value]);
  }
  expected.push(["filler", "f".repeat(2100)]);
  const after = await waitForCompaction(topic, expected, 30_000);
  expect(after).toEqual(expected);
  expect(after.some(([key]) => key === "key0")).toBe(false);

  // A restart (recovery of the cleaned segments) keeps the same view.
  await broker.restart();
  expect(await consumeAll(topic)).toEqual(expected);
}, 90_000);

test("kill -9 of the broker while the cleaner works: the log stays readable and correct", async () => {
  const topic = "compacted-crash";
  const kafka = new Kafka({ clientId: "compaction-crash", brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{
      topic,
      numPartitions: 1,
      configEntries: [
        { name: "cleanup.policy", value: "compact" },
        { name: "segment.bytes", value: "8192" },
        { name: "delete.retention.ms", value: "0" },
        { name: "min.cleanable.dirty.ratio", value: "0.01" },
      ],
    }],
  });
  await admin.disconnect();
  const keys = 300;
  const latest = new Map<string, string>();
  const lines: string[] = [];
  for (let round = 0; round < 12; round++) {
    for (let key = 0; key < keys; key++) {
      const value = `r${round}-${key}-${"q".repeat(30)}`;
      lines.push(`key${key}:${value}`);
      latest.set(`key${key}`, value);
    }
  }
  await run(["kcat", "-b", broker.bootstrap, "-P", "-t", topic, "-K:", "-X", "linger.ms=0", "-X", "batch.num.messages=20"], { stdin: lines.join("\n") + "\n" });
  await run(["kcat", "-b", broker.bootstrap, "-P", "-t", topic, "-K:"], { stdin: `filler:${"f".repeat(9000)}\n` });
  // The cleaner (every 100 ms) is at work on ~40 segments: crash the broker at varying moments.
  for (const delayMs of [5, 40, 120]) {
    await Bun.sleep(delayMs);
    await broker.crash();
  }
  // Whatever the crashes interrupted, each key reads back with its latest value (older versions
  // may remain until the next cleaning finishes: a consumer keeps the last one it sees).
  const seen = new Map<string, string>();
  for (const [key, value] of await consumeAll(topic)) seen.set(key, value);
  for (const [key, value] of latest) expect(seen.get(key)).toBe(value);
  // And cleaning completes after the restarts: exactly one record per key.
  const expectedCount = keys + 1;
  const deadline = Date.now() + 30_000;
  let records = await consumeAll(topic);
  while (records.length !== expectedCount && Date.now() < deadline) {
    await Bun.sleep(200);
    records = await consumeAll(topic);
  }
  expect(records.length).toBe(expectedCount);
}, 120_000);
