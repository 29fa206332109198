// The produce policy of one partition, shared by the Kafka Produce handler and the HTTP API so that
// a record is checked and appended the same way whichever door it came in by:
//
//   unknown topic or partition → UNKNOWN_TOPIC_OR_PARTITION (NOT_LEADER_OR_FOLLOWER while the
//   partition is still recovering at start, KAFKA_STORAGE_ERROR if it failed to)
//   empty records / several batches (v3+: exactly one) → INVALID_RECORD
//   message.timestamp.type=LogAppendTime → the broker's clock stamped by the storage
//   storage validation (CRC, sizes, timestamps, idempotence) → its KafkaError, log unchanged
//   acks=-1 ("all") → answered once the batch is on stable storage: on a single node the node is
//   its own only in-sync replica, so "all" means "durable" (one fdatasync shared by concurrent
//   appends); acks=1 and 0 → answered once in the log
//
// Internal topics are refused by the callers (the Kafka handler answers per topic, the HTTP API
// per request). The replication layer will replace the body of `appendToPartition` with its
// partition replica (leader check, high watermark, waiting for the in-sync replicas); callers
// keep calling this one function.
//
// Order: the storage's append is called synchronously, before the first await, so that appends
// issued in one turn of the event loop keep their order (Kafka requests on a connection, records
// of an HTTP stream).

import type { Clock } from "../util/clock.ts";
import type { BrokerMetrics } from "../util/metrics.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { recordBatchLogOverheadBytes } from "../protocol/record-batch.ts";
import type { ClusterStore } from "./store.ts";

export type Acks = -1 | 0 | 1;

export interface PartitionAppendEnvironment {
  readonly cluster: ClusterStore;
  readonly clock: Clock;
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

/**
 * The partition has no log here: unknown (UNKNOWN_TOPIC_OR_PARTITION), still recovering at start
 * (NOT_LEADER_OR_FOLLOWER, retriable) or failed to recover (KAFKA_STORAGE_ERROR), as the cluster
 * store says (ClusterStore.unavailableCode).
 */
export class PartitionUnavailable extends KafkaError {
  constructor(code: number, topic: string, partition: number) {
    super(code, code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ? `topic '${topic}' has no partition ${partition}` : `partition ${topic}-${partition} is not available`);
    this.name = "PartitionUnavailable";
  }
}

/** More bytes than the first batch's declared size (baseOffset and batchLength, then batchLength bytes). */
export function holdsSeveralBatches(records: Uint8Array): boolean {
  if (records.length < recordBatchLogOverheadBytes) return false; // the storage refuses it as CORRUPT_MESSAGE
  // Big-endian int32 at byte 8, read by hand: a DataView over the fresh request buffer costs ~0.6 µs.
  const batchLength = (records[8]! << 24) | (records[9]! << 16) | (records[10]! << 8) | records[11]!;
  return batchLength >= 0 && recordBatchLogOverheadBytes + batchLength < records.length;
}

/** Records count of a RecordBatch v2 (int32 at byte 57), for the records-in counter. */
function recordsCountOf(records: Uint8Array): number {
  if (records.length < 61) return 0;
  return (records[57]! << 24) | (records[58]! << 16) | (records[59]! << 8) | records[60]!;
}

/**
 * Append one RecordBatch v2 to a partition under the produce policy above. Rejects with a
 * KafkaError (the log then unchanged); resolves once `acks` is satisfied.
 */
export async function appendToPartition(
  environment: PartitionAppendEnvironment,
  topic: string,
  partition: number,
  records: Uint8Array | null,
  acks: Acks,
): Promise<PartitionAppendResult> {
  const log = environment.cluster.partitionLog(topic, partition);
  if (!log) throw new PartitionUnavailable(environment.cluster.unavailableCode(topic, partition), topic, partition);
  if (records === null || records.length === 0) throw new KafkaError(ErrorCode.INVALID_RECORD, "the request holds no record batch");
  if (holdsSeveralBatches(records)) {
    // As Kafka (ProduceRequest.validateRecords): v3+ carries exactly one batch per partition.
    throw new KafkaError(ErrorCode.INVALID_RECORD, "Produce requests with version 3+ may hold exactly one record batch per partition");
  }
  const config = environment.cluster.topicConfig(topic).values;
  const logAppendTime = config["message.timestamp.type"] === "LogAppendTime";
  // Called synchronously (no await above): appends keep the order of their callers.
  const appending = log.append(records, logAppendTime ? { logAppendTimeMs: BigInt(environment.clock.nowMs()) } : {});
  const result = await appending;
  const metrics = environment.metrics;
  if (metrics && !result.duplicate) {
    metrics.topicBytesIn.inc({ topic }, records.length);
    metrics.topicRecordsIn.inc({ topic }, recordsCountOf(records));
  }
  // acks=all on a single node: on stable storage (one fdatasync shared by concurrent appends).
  if (acks === -1) await log.flush();
  return {
    baseOffset: result.baseOffset,
    lastOffset: result.lastOffset,
    logAppendTimeMs: result.logAppendTimeMs,
    logStartOffset: result.logStartOffset,
  };
}
