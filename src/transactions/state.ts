// The state of one transactional id on its coordinator (Kafka's TransactionMetadata), with Kafka's
// state ids as stored in __transaction_state:
//
//   Empty ──AddPartitions/AddOffsets──▶ Ongoing ──EndTxn(commit)──▶ PrepareCommit ──markers──▶ CompleteCommit
//     ▲                                   │      ──EndTxn(abort) / timeout / new incarnation──▶ PrepareAbort ──markers──▶ CompleteAbort
//     └──────────── InitProducerId (epoch bump) ─────────────────────────────────────────────────┘
//   Dead: expired (transactional.id.expiration.ms) and tombstoned.

export const TransactionState = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
  Dead: 6,
  PrepareEpochFence: 7,
} as const;
export type TransactionStateId = (typeof TransactionState)[keyof typeof TransactionState];

export const TRANSACTION_STATE_NAMES: Record<TransactionStateId, string> = {
  0: "Empty",
  1: "Ongoing",
  2: "PrepareCommit",
  3: "PrepareAbort",
  4: "CompleteCommit",
  5: "CompleteAbort",
  6: "Dead",
  7: "PrepareEpochFence",
};

export function isTransactionStateId(value: number): value is TransactionStateId {
  return Number.isInteger(value) && value >= 0 && value <= 7;
}

/** A topic-partition as "topic" + partition (kept as a sorted map in the metadata). */
export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TransactionMetadata {
  transactionalId: string;
  producerId: bigint;
  producerEpoch: number;
  timeoutMs: number;
  state: TransactionStateId;
  /** Partitions of the ongoing (or preparing) transaction: topic → partitions. */
  partitions: Map<string, Set<number>>;
  lastUpdateTimestampMs: number;
  /** When the ongoing transaction started (-1 when none). */
  startTimestampMs: number;
}

export function partitionCount(metadata: TransactionMetadata): number {
  let count = 0;
  for (const partitions of metadata.partitions.values()) count += partitions.size;
  return count;
}

export function hasPartition(metadata: TransactionMetadata, topic: string, partition: number): boolean {
  return metadata.partitions.get(topic)?.has(partition) ?? false;
}

export function partitionList(metadata: TransactionMetadata): TopicPartition[] {
  const list: TopicPartition[] = [];
  for (const [topic, partitions] of metadata.partitions) for (const partition of partitions) list.push({ topic, partition });
  return list;
}

/** Partitions grouped by topic, in first-seen order (the shape of the per-topic request lists). */
export function partitionsByTopic(partitions: readonly TopicPartition[]): Map<string, number[]> {
  const topics = new Map<string, number[]>();
  for (const tp of partitions) {
    let list = topics.get(tp.topic);
    if (!list) topics.set(tp.topic, (list = []));
    list.push(tp.partition);
  }
  return topics;
}

export function copyMetadata(metadata: TransactionMetadata): TransactionMetadata {
  return { ...metadata, partitions: new Map([...metadata.partitions].map(([topic, partitions]) => [topic, new Set(partitions)])) };
}
