// Which Produce requests may carry transactional batches (attributes bit 4) — the one place that
// decides it.
//
// Kafka (KafkaApis.handleProduceRequest): a request holding any transactional batch needs a
// transactional id, else the whole request is answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED on
// every partition (ACL checks of the id are the security work's). With an id, each partition's
// transactional batch is verified against the transaction coordinator before it is appended
// (KIP-890 part 1: the partition must have been added to the producer's ongoing transaction, with
// the current epoch) — else INVALID_TXN_STATE / INVALID_PRODUCER_EPOCH / INVALID_PRODUCER_ID_MAPPING
// for that partition, and nothing is written. Verified in-process when this node coordinates the
// id; else with the id's coordinator on another node (AddPartitionsToTxn v4 verifyOnly over the
// internal listener, transactions/remote-verification.ts) — only a partition's first batch of a
// transaction: once the producer has a transaction open in the partition's log, its batch was
// verified (as Kafka's verification guard). Coordinator unreachable or moving: NOT_ENOUGH_REPLICAS,
// which producers retry.

import { ErrorCode } from "../protocol/errors.ts";
import type { ProduceRequestTopicProduceData } from "../protocol/generated/index.ts";
import { Field, attributesAt, batchSizeAt, int16At, int64At, isTransactional, logOverheadBytes } from "../protocol/record-batch.ts";
import type { Transactions } from "../transactions/index.ts";
import { partitionKey } from "../transactions/remote-verification.ts";

/** The first transactional batch of the records, as (producer id, epoch), or null. */
function firstTransactionalBatch(records: Uint8Array | null): { producerId: bigint; producerEpoch: number } | null {
  if (records === null) return null;
  let position = 0;
  while (position + Field.attributes + 2 <= records.length) {
    if (isTransactional(attributesAt(records, position))) {
      if (position + Field.producerEpoch + 2 > records.length) return null;
      return { producerId: int64At(records, position + Field.producerId), producerEpoch: int16At(records, position + Field.producerEpoch) };
    }
    const size = batchSizeAt(records, position);
    if (size <= logOverheadBytes) return null; // malformed: the storage's validation answers it
    position += size;
  }
  return null;
}

/** Whether any batch of the records has the transactional bit (walks batch headers only). */
export function holdsTransactionalBatch(records: Uint8Array | null): boolean {
  return firstTransactionalBatch(records) !== null;
}

/** The request-wide refusal of a Produce request, or null when it may go on. */
export function transactionalRefusal(transactionalId: string | null, topics: readonly ProduceRequestTopicProduceData[]): { errorCode: number; message: string } | null {
  if (transactionalId !== null) return null;
  for (const topic of topics) {
    for (const partition of topic.partitionData) {
      if (holdsTransactionalBatch(partition.records)) {
        return { errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, message: "transactional records need a transactional id" };
      }
    }
  }
  return null;
}

/**
 * KIP-890 verification of each partition's transactional batch: "topic\0partition" → error for
 * the partitions that may not be written (empty when all may).
 */
export function unverifiedPartitions(
  transactions: Transactions | undefined,
  transactionalId: string | null,
  topics: readonly ProduceRequestTopicProduceData[],
  /** Whether this node leads the partition and the producer has a transaction open in it. */
  hasOpenTransaction: (topic: string, partition: number, producerId: bigint) => boolean,
): Map<string, number> | Promise<Map<string, number>> {
  const refused = new Map<string, number>();
  if (transactionalId === null || transactions === undefined) return refused;
  const coordinated = transactions.coordinatorError(transactionalId) === ErrorCode.NONE;
  if (!coordinated) return verifyElsewhere(transactions, transactionalId, topics, hasOpenTransaction);
  for (const topic of topics) {
    for (const partition of topic.partitionData) {
      const batch = firstTransactionalBatch(partition.records);
      if (batch === null) continue;
      const error = transactions.coordinator.verifyPartition(transactionalId, batch.producerId, batch.producerEpoch, { topic: topic.name, partition: partition.index });
      if (error !== ErrorCode.NONE) refused.set(partitionKey(topic.name, partition.index), error);
    }
  }
  return refused;
}

/**
 * The partitions whose first transactional batch needs the remote coordinator's word, asked in one
 * request; synchronous (no promise) when none does, so that appends keep the order of requests.
 */
function verifyElsewhere(
  transactions: Transactions,
  transactionalId: string,
  topics: readonly ProduceRequestTopicProduceData[],
  hasOpenTransaction: (topic: string, partition: number, producerId: bigint) => boolean,
): Map<string, number> | Promise<Map<string, number>> {
  let producer: { producerId: bigint; producerEpoch: number } | null = null;
  const wanted: { topic: string; partition: number }[] = [];
  for (const topic of topics) {
    for (const partition of topic.partitionData) {
      const batch = firstTransactionalBatch(partition.records);
      if (batch === null || hasOpenTransaction(topic.name, partition.index, batch.producerId)) continue;
      producer ??= batch;
      wanted.push({ topic: topic.name, partition: partition.index });
    }
  }
  if (producer === null) return new Map();
  return transactions.remoteVerification.verify(transactionalId, producer.producerId, producer.producerEpoch, wanted);
}

/** The request's topics without the refused partitions (what is appended). */
export function withoutPartitions(topics: readonly ProduceRequestTopicProduceData[], refused: Map<string, number>): ProduceRequestTopicProduceData[] {
  return topics
    .map((topic) => ({ ...topic, partitionData: topic.partitionData.filter((partition) => !refused.has(`${topic.name}\u0000${partition.index}`)) }))
    .filter((topic) => topic.partitionData.length > 0);
}
