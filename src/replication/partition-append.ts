// The produce policy of one partition, shared by the Kafka Produce handler and the HTTP API so that
// a record is checked and appended the same way whichever door it came in by:
//
//   unknown topic or partition → UNKNOWN_TOPIC_OR_PARTITION; this node does not lead it →
//   NOT_LEADER_OR_FOLLOWER (with the leader's id for KIP-951 hints); its log is still recovering at
//   start → NOT_LEADER_OR_FOLLOWER, failed to recover → KAFKA_STORAGE_ERROR (ReplicaManager)
//   empty records / several batches (v3+: exactly one) → INVALID_RECORD
//   message.timestamp.type=LogAppendTime → the broker's clock stamped by the storage
//   storage validation (CRC, sizes, timestamps, idempotence) → its KafkaError, log unchanged
//   acks → the leader replica's policy (partition.ts): 1 and 0 answered once in the leader's log,
//   -1 ("all") once every in-sync replica has it (an ISR of one: once on stable storage, one
//   fdatasync shared by concurrent appends), within `timeoutMs`
//
// Internal topics are refused by the callers (the Kafka handler answers per topic, the HTTP API
// per request).
//
// Order: the leader's append is called synchronously, before the first await, so that appends
// issued in one turn of the event loop keep their order (Kafka requests on a connection, records
// of an HTTP stream).

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { Field, batchHeaderBytes, batchSizeAt, int32At, logOverheadBytes } from "../protocol/record-batch.ts";
import type { BrokerMetrics } from "../util/metrics.ts";
import type { ReplicaManager } from "./replica-manager.ts";

export type Acks = -1 | 0 | 1;

export interface PartitionAppendEnvironment {
  readonly replicas: ReplicaManager;
  /** Counts bytes and records in per topic when present. */
  readonly metrics?: BrokerMetrics;
}

export interface PartitionAppendResult {
  baseOffset: bigint;
  lastOffset: bigint;
  /** -1n unless the topic uses LogAppendTime. */
  logAppendTimeMs: bigint;
  logStartOffset: bigint;
}

/** More bytes than the first batch's declared size (baseOffset and batchLength, then batchLength bytes). */
export function holdsSeveralBatches(records: Uint8Array): boolean {
  if (records.length < logOverheadBytes) return false; // the storage refuses it as CORRUPT_MESSAGE
  const size = batchSizeAt(records, 0);
  return size >= logOverheadBytes && size < records.length;
}

/** Records count of a RecordBatch v2 (int32 at byte 57), for the records-in counter. */
function recordsCountOf(records: Uint8Array): number {
  if (records.length < batchHeaderBytes) return 0;
  return int32At(records, Field.recordsCount);
}

/**
 * Append one RecordBatch v2 to a partition under the produce policy above. Rejects with a
 * KafkaError (the log then unchanged, except for acks=all errors after the append: the records may
 * be in the log); resolves once `acks` is satisfied.
 */
export async function appendToPartition(
  environment: PartitionAppendEnvironment,
  topic: string,
  partition: number,
  records: Uint8Array | null,
  acks: Acks,
  timeoutMs: number,
): Promise<PartitionAppendResult> {
  const replica = environment.replicas.leaderPartition(topic, partition);
  if (records === null || records.length === 0) throw new KafkaError(ErrorCode.INVALID_RECORD, "the request holds no record batch");
  if (holdsSeveralBatches(records)) {
    // As Kafka (ProduceRequest.validateRecords): v3+ carries exactly one batch per partition.
    throw new KafkaError(ErrorCode.INVALID_RECORD, "Produce requests with version 3+ may hold exactly one record batch per partition");
  }
  // Called synchronously (no await above): appends keep the order of their callers.
  const result = await replica.appendRecordsToLeader(records, { requiredAcks: acks, timeoutMs });
  const metrics = environment.metrics;
  if (metrics && !result.duplicate) {
    metrics.topicBytesIn.inc({ topic }, records.length);
    metrics.topicRecordsIn.inc({ topic }, recordsCountOf(records));
  }
  return {
    baseOffset: result.baseOffset,
    lastOffset: result.lastOffset,
    logAppendTimeMs: result.logAppendTimeMs,
    logStartOffset: result.logStartOffset,
  };
}
