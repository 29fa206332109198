// ListOffsets: a partition's earliest or latest offset, or the first offset at or after a
// timestamp, asked of each partition's leader (one request per leader), retried per partition
// on retriable errors.

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { ListOffsetsApi } from "../protocol/generated/list-offsets.ts";
import type { KafkaClient } from "./client.ts";
import { isRetriableCode, responseError } from "./errors.ts";

/** Kafka's special ListOffsets timestamps. */
export const OffsetSpec = {
  latest: -1n,
  earliest: -2n,
  /** The offset of the record with the largest timestamp (ListOffsets v7+). */
  maxTimestamp: -3n,
} as const;

export const IsolationLevel = { readUncommitted: 0, readCommitted: 1 } as const;

export interface OffsetQuery {
  topic: string;
  partition: number;
  /** A timestamp in ms, or one of OffsetSpec. */
  timestamp: bigint;
}

export interface OffsetAnswer {
  topic: string;
  partition: number;
  /** -1 when no record has a timestamp at or after the one asked (Kafka's answer). */
  offset: bigint;
  timestamp: bigint;
  leaderEpoch: number;
}

export function offsetKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * Answers in the order of `queries`. The same partition may be asked several times (different
 * timestamps): a request may name a partition only once, so repeats go in later rounds.
 */
export async function listOffsets(
  client: KafkaClient,
  queries: readonly OffsetQuery[],
  options: { isolationLevel?: number; timeoutMs?: number } = {},
): Promise<OffsetAnswer[]> {
  const answers: (OffsetAnswer | undefined)[] = new Array(queries.length);
  let remaining = queries.map((query, index) => ({ query, index }));
  await client.retry("ListOffsets", async () => {
    while (remaining.length > 0) {
      const round = uniquePartitions(remaining);
      await askRound(client, round, answers, options.isolationLevel ?? 0);
      remaining = remaining.filter((entry) => answers[entry.index] === undefined);
    }
  }, { timeoutMs: options.timeoutMs });
  return answers.map((answer) => answer!);
}

interface IndexedQuery {
  query: OffsetQuery;
  index: number;
}

function uniquePartitions(entries: readonly IndexedQuery[]): IndexedQuery[] {
  const seen = new Set<string>();
  return entries.filter((entry) => {
    const key = offsetKey(entry.query.topic, entry.query.partition);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** One request per leader for a round of distinct partitions; throws the first failure. */
async function askRound(client: KafkaClient, round: readonly IndexedQuery[], answers: (OffsetAnswer | undefined)[], isolationLevel: number): Promise<void> {
  const byLeader = new Map<number, IndexedQuery[]>();
  for (const entry of round) {
    const leader = await client.leaderOf(entry.query.topic, entry.query.partition);
    byLeader.set(leader, [...(byLeader.get(leader) ?? []), entry]);
  }
  const failures: KafkaError[] = [];
  await Promise.all([...byLeader].map(async ([leader, entries]) => {
    failures.push(...(await askLeader(client, leader, entries, answers, isolationLevel)));
  }));
  const fatal = failures.find((failure) => !isRetriableCode(failure.code));
  if (fatal) throw fatal;
  if (failures.length > 0) throw failures[0];
}

async function askLeader(
  client: KafkaClient,
  leader: number,
  entries: readonly IndexedQuery[],
  answers: (OffsetAnswer | undefined)[],
  isolationLevel: number,
): Promise<KafkaError[]> {
  const connection = await client.connectionToNode(leader);
  const needsMaxTimestamp = entries.some((entry) => entry.query.timestamp === OffsetSpec.maxTimestamp);
  const version = connection.versionFor(ListOffsetsApi, needsMaxTimestamp ? 7 : isolationLevel > 0 ? 2 : 1);
  const topics = new Map<string, { partitionIndex: number; timestamp: bigint }[]>();
  const slots = new Map<string, number>();
  for (const { query, index } of entries) {
    const list = topics.get(query.topic) ?? [];
    list.push({ partitionIndex: query.partition, timestamp: query.timestamp });
    topics.set(query.topic, list);
    slots.set(offsetKey(query.topic, query.partition), index);
  }
  const response = await connection.request(ListOffsetsApi, {
    replicaId: -1,
    isolationLevel: version >= 2 ? isolationLevel : undefined,
    topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
  }, { version });
  const failures: KafkaError[] = [];
  for (const topic of response.topics) {
    for (const partition of topic.partitions) {
      const slot = slots.get(offsetKey(topic.name, partition.partitionIndex));
      if (slot === undefined) continue;
      if (partition.errorCode !== ErrorCode.NONE) {
        failures.push(responseError(partition.errorCode, `ListOffsets ${topic.name}-${partition.partitionIndex}`));
        continue;
      }
      answers[slot] = {
        topic: topic.name,
        partition: partition.partitionIndex,
        offset: partition.offset,
        timestamp: partition.timestamp,
        leaderEpoch: partition.leaderEpoch,
      };
    }
  }
  if (failures.some((failure) => isRetriableCode(failure.code))) client.invalidateMetadata();
  return failures;
}
