// Shared by the chaos tests of test/cluster/: the attempts file that clients/chaos_producer.py
// writes (one JSON line per attempt) and a read-back of a topic through the partition leaders.

import { existsSync, readFileSync } from "node:fs";
import { Consumer, KafkaClient, listOffsets } from "../../src/client/index.ts";
import type { Attempt, ReadRecord } from "../../src/testing/queue-checker.ts";

export function parseAttempts(path: string): Attempt[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter((line) => line.trim() !== "").map((line) => {
    const entry = JSON.parse(line) as { value: string; producer: string; sequence: number; kind: string; partition?: number; offset?: number; error?: string };
    const outcome = entry.kind === "ok"
      ? { kind: "ok" as const, partition: entry.partition!, offset: BigInt(entry.offset!) }
      : { kind: entry.kind as "failed" | "unknown", error: entry.error ?? "" };
    return { value: entry.value, producer: entry.producer, sequence: entry.sequence, outcome };
  });
}

/** Every record of `topic`, read through the leaders from the earliest offset to the log end (bounded: 60 s). */
export async function readThroughLeaders(bootstrap: string, topic: string, partitions: number): Promise<ReadRecord[]> {
  const client = new KafkaClient({ bootstrap, clientId: "chaos-reader", retryBackoffMs: 50, retryBackoffMaxMs: 200 });
  try {
    const ends = await listOffsets(client, Array.from({ length: partitions }, (_, partition) => ({ topic, partition, timestamp: -1n })));
    const consumer = new Consumer(client, { maxWaitMs: 100 });
    await consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, from: "earliest" as const })));
    const reads: ReadRecord[] = [];
    const remaining = new Set(ends.map((end, partition) => (end.offset > 0n ? partition : -1)).filter((partition) => partition >= 0));
    const deadline = Date.now() + 60_000;
    while (remaining.size > 0 && Date.now() < deadline) {
      for (const record of await consumer.poll(200)) {
        reads.push({ partition: record.partition, offset: record.offset, value: new TextDecoder().decode(record.value!) });
        if (record.offset >= ends[record.partition]!.offset - 1n) remaining.delete(record.partition);
      }
    }
    if (remaining.size > 0) throw new Error(`partitions ${[...remaining].join(",")} not read to their end within 60 s`);
    return reads;
  } finally {
    await client.close();
  }
}
