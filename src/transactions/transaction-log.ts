// The TransactionStore over the internal topic __transaction_state (Kafka's design): a
// transactional id lives on partition abs(hash(id)) % (the topic's partition count), one record per
// state change keyed by the id (records.ts); the topic is compacted, so the newest record per id
// survives. Writes go through the partition's leader with acks=all (fdatasync'd on one node) before
// the coordinator acts on them; replay on leadership (transaction-partitions.ts).

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { batchesIn, decodeLogRecords, encodeBatch, isControl, type RecordBatchHeader } from "../protocol/record-batch.ts";
import { javaStringHashCode } from "../groups/partition-for.ts";
import type { Partition } from "../replication/partition.ts";
import type { ReplicaManager } from "../replication/replica-manager.ts";
import { DamagedDataError } from "../storage/segment.ts";
import { createLogger } from "../util/logger.ts";
import type { TransactionStore } from "./coordinator.ts";
import { decodeTransactionKey, decodeTransactionValue, encodeTransactionKey, encodeTransactionValue } from "./records.ts";
import type { TransactionMetadata } from "./state.ts";

export const TRANSACTION_STATE_TOPIC = "__transaction_state";
const logger = createLogger("transactions");
const loadReadBytesMax = 1 << 20;
const noHeaders = new Uint8Array([0]);

/** Kafka's partitionFor: Utils.abs(transactionalId.hashCode) % partition count. */
export function transactionPartitionFor(transactionalId: string, partitionCount: number): number {
  return (javaStringHashCode(transactionalId) & 0x7fffffff) % partitionCount;
}

export class TransactionLog implements TransactionStore {
  constructor(
    private readonly replicas: ReplicaManager,
    private readonly partitionCountOf: () => number | undefined,
    private readonly writeTimeoutMs: number,
  ) {}

  get partitionCount(): number | undefined {
    return this.partitionCountOf();
  }

  /** The partition of an id; -1 while the topic does not exist. */
  partitionFor(transactionalId: string): number {
    const count = this.partitionCountOf();
    return count === undefined ? -1 : transactionPartitionFor(transactionalId, count);
  }

  async write(transactionalId: string, metadata: TransactionMetadata | null): Promise<void> {
    const partition = this.partitionFor(transactionalId);
    if (partition < 0) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${TRANSACTION_STATE_TOPIC} does not exist`);
    const record = {
      offset: 0n,
      timestamp: BigInt(Date.now()),
      key: encodeTransactionKey(transactionalId),
      value: metadata === null ? null : encodeTransactionValue(metadata),
      headers: noHeaders,
    };
    try {
      const leader = this.replicas.leaderPartition(TRANSACTION_STATE_TOPIC, partition);
      await leader.appendRecordsToLeader(encodeBatch([record]), { requiredAcks: -1, timeoutMs: this.writeTimeoutMs });
    } catch (error) {
      if (error instanceof KafkaError && error.code === ErrorCode.NOT_LEADER_OR_FOLLOWER) {
        throw new KafkaError(ErrorCode.NOT_COORDINATOR, `this node no longer coordinates ${TRANSACTION_STATE_TOPIC}-${partition}`);
      }
      throw error;
    }
  }

  /** Replays a partition from its log start, in log order; damaged stretches and bad records are skipped (logged). */
  async loadPartition(replica: Partition, apply: (transactionalId: string, metadata: TransactionMetadata | null) => void, wanted: () => boolean): Promise<number> {
    const log = replica.log;
    let cursor = log.logStartOffset;
    const end = log.logEndOffset;
    let records = 0;
    while (cursor < end && wanted()) {
      let read;
      try {
        read = log.read(cursor, loadReadBytesMax, end);
      } catch (error) {
        if (!(error instanceof DamagedDataError) || error.readableFrom <= cursor) throw error;
        logger.error("skipping damaged records of the transaction state log", { partition: replica.partition, error: error.message });
        cursor = error.readableFrom;
        continue;
      }
      const before = cursor;
      try {
        for (const chunk of read.chunks) {
          for (const batch of batchesIn(chunk)) {
            if (!isControl(batch.header.attributes)) records += this.applyBatch(batch, cursor, apply);
            const next = batch.header.baseOffset + BigInt(batch.header.lastOffsetDelta) + 1n;
            if (next > cursor) cursor = next;
          }
        }
      } finally {
        read.release();
      }
      if (cursor === before) break;
      if (cursor < end) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return records;
  }

  private applyBatch(batch: { header: RecordBatchHeader; bytes: Uint8Array }, cursor: bigint, apply: (transactionalId: string, metadata: TransactionMetadata | null) => void): number {
    const decoded = decodeLogRecords(batch.bytes, batch.header);
    if (decoded === null) return 0;
    let applied = 0;
    for (const record of decoded) {
      if (record.offset < cursor || record.key === null) continue;
      try {
        const transactionalId = decodeTransactionKey(record.key);
        apply(transactionalId, decodeTransactionValue(transactionalId, record.value));
        applied++;
      } catch (error) {
        logger.error("skipping a transaction state record that does not decode", { offset: String(record.offset), error: String(error) });
      }
    }
    return applied;
  }
}
