// Shared by the cluster tests that run the Python clients (test/cluster/clients/): reading their
// JSON-lines output and reading a topic back through the leaders, for src/testing/queue-checker.ts.

import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Consumer, KafkaClient, listOffsets } from "../../src/client/index.ts";
import type { Attempt, ReadRecord } from "../../src/testing/queue-checker.ts";

export const python = "/usr/bin/python3";
export const producerScript = resolve(import.meta.dir, "clients/chaos_producer.py");
export const consumerScript = resolve(import.meta.dir, "clients/group_consumer.py");
export const haveConfluent = existsSync(python) && Bun.spawnSync([python, "-c", "import confluent_kafka"]).exitCode === 0;

function jsonLines<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  // The last line may be half written while the client runs.
  return readFileSync(path, "utf8").split("\n").filter((line) => line.trim() !== "").flatMap((line) => {
    try {
      return [JSON.parse(line) as T];
    } catch {
      return [];
    }
  });
}

export interface TimedAttempt extends Attempt {
  /** From produce() to the delivery report, ms. */
  latencyMs: number;
}

/** chaos_producer.py's attempts. */
export function parseAttempts(path: string): TimedAttempt[] {
  return jsonLines<{ value: string; producer: string; sequence: number; kind: string; partition?: number; offset?: number | null; error?: string; latency_ms?: number }>(path).map((entry) => {
    return { value: entry.value, producer: entry.producer, sequence: entry.sequence, outcome: outcomeOf(entry), latencyMs: entry.latency_ms ?? 0 };
  });
}

/**
 * An attempt's outcome. librdkafka can report a delivery without an offset (confluent-kafka's
 * offset() is None; seen once under load in the elastic test): the record was acknowledged but
 * its place is not known, so it counts as "unknown" (it may or may not be read) rather than
 * crashing the parse.
 */
function outcomeOf(entry: { kind: string; partition?: number; offset?: number | null; error?: string }): Attempt["outcome"] {
  if (entry.kind !== "ok") return { kind: entry.kind as "failed" | "unknown", error: entry.error ?? "" };
  if (typeof entry.offset !== "number" || typeof entry.partition !== "number") return { kind: "unknown", error: "acknowledged without an offset" };
  return { kind: "ok", partition: entry.partition, offset: BigInt(entry.offset) };
}

/** group_consumer.py's records. */
export function parseConsumed(path: string): ReadRecord[] {
  return jsonLines<{ partition: number; offset: number; value: string }>(path).map((entry) => ({ partition: entry.partition, offset: BigInt(entry.offset), value: entry.value }));
}

/** Every record of `topic` (partitions 0 … partitions-1), read through the leaders from the earliest offset to the log end. */
export async function readThroughLeaders(bootstrap: string, topic: string, partitions: number, timeoutMs = 60_000): Promise<ReadRecord[]> {
  const client = new KafkaClient({ bootstrap, clientId: "queue-reader", retryBackoffMs: 50, retryBackoffMaxMs: 200 });
  try {
    const ends = await listOffsets(client, Array.from({ length: partitions }, (_, partition) => ({ topic, partition, timestamp: -1n })));
    const consumer = new Consumer(client, { maxWaitMs: 100 });
    await consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, from: "earliest" as const })));
    const reads: ReadRecord[] = [];
    const remaining = new Set(ends.map((end, partition) => (end.offset > 0n ? partition : -1)).filter((partition) => partition >= 0));
    const deadline = Date.now() + timeoutMs;
    while (remaining.size > 0 && Date.now() < deadline) {
      for (const record of await consumer.poll(200)) {
        reads.push({ partition: record.partition, offset: record.offset, value: new TextDecoder().decode(record.value!) });
        if (record.offset >= ends[record.partition]!.offset - 1n) remaining.delete(record.partition);
      }
    }
    if (remaining.size > 0) throw new Error(`partitions ${[...remaining].join(",")} of ${topic} not read to their end within ${timeoutMs} ms`);
    return reads;
  } finally {
    await client.close();
  }
}

/** The p-th percentile (0-100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
