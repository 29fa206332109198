// The GroupStore over the internal topic __consumer_offsets (Kafka's design): each group lives on
// partition abs(hash(groupId)) % (the topic's partition count); offset commits and group metadata
// are records keyed like Kafka's (records.ts); a null value deletes. The topic is compacted
// (cleanup.policy=compact), so only the latest record per key survives cleaning. The log is the
// source of truth: a partition is replayed into the coordinator when this node becomes its leader
// (offsets-partitions.ts).
//
// Writes go through the partition's leader replica with acks=all: answered once every in-sync
// replica has the records (on one node: once they are fdatasync'd — concurrent commits share one
// sync), so an acknowledged commit survives a crash. Not the leader: NOT_COORDINATOR, as Kafka
// answers, so the client looks for the new coordinator.

import { native } from "../native/index.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { Partition } from "../replication/partition.ts";
import type { ReplicaManager } from "../replication/replica-manager.ts";
import { Attribute, batchesIn, decodeLogRecords, encodeBatch, isControl, isTransactional, markerTypeOf, ControlType, NOT_A_MARKER, type LogRecord } from "../protocol/record-batch.ts";
import { DamagedDataError } from "../storage/segment.ts";
import type { RecordBatchHeader } from "../protocol/record-batch.ts";
import { assert } from "../util/assert.ts";
import { createLogger } from "../util/logger.ts";
import type { GroupRecord, GroupStore, ProducerIdentity } from "./group-store.ts";
import { OFFSETS_TOPIC, offsetsPartitionFor } from "./partition-for.ts";
import { decodeRecord, encodeRecordKey, encodeRecordValue } from "./records.ts";

const logger = createLogger("offsets-log");
const loadReadBytesMax = 1 << 20;
const noHeaders = new Uint8Array([0]);

export interface OffsetsLogOptions {
  replicas: ReplicaManager;
  /** The partition count of __consumer_offsets in the metadata image; undefined while it does not exist. */
  partitionCount: () => number | undefined;
  /** acks=all (fdatasync'd on one node) before a write is acknowledged (default true). */
  syncWrites?: boolean;
  /** offsets.commit.timeout.ms: longest wait for the in-sync replicas; then REQUEST_TIMED_OUT. */
  commitTimeoutMs?: number;
}

export class OffsetsLog implements GroupStore {
  private readonly replicas: ReplicaManager;
  private readonly partitionCountOf: () => number | undefined;
  private readonly syncWrites: boolean;
  private readonly commitTimeoutMs: number;

  constructor(options: OffsetsLogOptions) {
    this.replicas = options.replicas;
    this.partitionCountOf = options.partitionCount;
    this.syncWrites = options.syncWrites ?? true;
    this.commitTimeoutMs = options.commitTimeoutMs ?? 5000;
  }

  /** The partition count, or undefined while __consumer_offsets does not exist. */
  get partitionCount(): number | undefined {
    return this.partitionCountOf();
  }

  /** The offsets partition of a group; -1 while __consumer_offsets does not exist. */
  partitionFor(groupId: string): number {
    const count = this.partitionCountOf();
    return count === undefined ? -1 : offsetsPartitionFor(groupId, count);
  }

  async write(groupId: string, records: GroupRecord[], transaction?: ProducerIdentity): Promise<void> {
    assert(records.length > 0, "write at least one record");
    assert(records.every((record) => record.groupId === groupId), "one group per write");
    const partition = this.partitionFor(groupId);
    if (partition < 0) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${OFFSETS_TOPIC} does not exist`);
    const timestamp = BigInt(Date.now());
    const logRecords: LogRecord[] = records.map((record, index) => ({
      offset: BigInt(index),
      timestamp,
      key: encodeRecordKey(record),
      value: encodeRecordValue(record),
      headers: noHeaders,
    }));
    try {
      const leader = this.replicas.leaderPartition(OFFSETS_TOPIC, partition);
      // Like Kafka, a write not confirmed in time is answered REQUEST_TIMED_OUT (it may still
      // become durable: then it is seen when the partition is loaded again).
      const template = transaction
        ? { attributes: Attribute.transactional, producerId: transaction.producerId, producerEpoch: transaction.producerEpoch, baseSequence: -1, partitionLeaderEpoch: 0 }
        : undefined;
      await leader.appendRecordsToLeader(encodeBatch(logRecords, template), {
        requiredAcks: this.syncWrites ? -1 : 1,
        timeoutMs: this.commitTimeoutMs,
        origin: transaction ? "coordinator" : "client",
      });
    } catch (error) {
      if (error instanceof KafkaError && error.code === ErrorCode.NOT_LEADER_OR_FOLLOWER) {
        throw new KafkaError(ErrorCode.NOT_COORDINATOR, `this node no longer coordinates ${OFFSETS_TOPIC}-${partition}`);
      }
      throw error;
    }
  }

  /**
   * Replay one partition from its log start to its log end, calling `apply` for each record in log
   * order, a chunk at a time with the event loop free in between (other partitions' groups are
   * served meanwhile). Stops early once `wanted()` is false (the leadership moved on). Damage never
   * stops the load: a damaged stretch is skipped (what it held — commits, group metadata — is lost,
   * and said so at ERROR; newer records after it still apply), and a record that does not decode is
   * skipped alone.
   */
  async loadPartition(replica: Partition, apply: (record: GroupRecord, producerId: bigint | null) => void, wanted: () => boolean, onMarker: (producerId: bigint, committed: boolean) => void = () => {}): Promise<{ records: number; bytes: number; skipped: number }> {
    const log = replica.log;
    const totals = { records: 0, bytes: 0, skipped: 0 };
    let cursor = log.logStartOffset;
    const end = log.logEndOffset;
    while (cursor < end && wanted()) {
      let read;
      try {
        read = log.read(cursor, loadReadBytesMax, end);
      } catch (error) {
        if (!(error instanceof DamagedDataError) || error.readableFrom <= cursor) throw error;
        logger.error("skipping damaged records of the offsets topic; the commits and group changes they held are lost", {
          partition: `${OFFSETS_TOPIC}-${replica.partition}`,
          offsets: `${cursor}..${error.readableFrom - 1n}`,
          error: error.message,
        });
        totals.skipped += 1;
        cursor = error.readableFrom;
        continue;
      }
      const before = cursor;
      try {
        for (const chunk of read.chunks) {
          totals.bytes += chunk.length;
          for (const batch of batchesIn(chunk)) {
            if (isControl(batch.header.attributes)) {
              const type = markerTypeOf(batch.bytes, batch.header.attributes);
              if (batch.header.baseOffset >= cursor && type !== NOT_A_MARKER) onMarker(batch.header.producerId, type === ControlType.commit);
            } else {
              this.applyBatch(replica.partition, batch, cursor, apply, totals);
            }
            const last = batch.header.baseOffset + BigInt(batch.header.lastOffsetDelta) + 1n;
            if (last > cursor) cursor = last;
          }
        }
      } finally {
        read.release();
      }
      if (cursor === before) break;
      if (cursor < end) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return totals;
  }

  private applyBatch(
    partition: number,
    batch: { header: RecordBatchHeader; bytes: Uint8Array },
    cursor: bigint,
    apply: (record: GroupRecord, producerId: bigint | null) => void,
    totals: { records: number; skipped: number },
  ): void {
    const producerId = isTransactional(batch.header.attributes) ? batch.header.producerId : null;
    const decoded = decodeLogRecords(batch.bytes, batch.header);
    if (decoded === null) {
      totals.skipped += 1;
      logger.error("skipping a compressed batch in the offsets topic (never written by Runnel)", { partition: `${OFFSETS_TOPIC}-${partition}`, baseOffset: String(batch.header.baseOffset) });
      return;
    }
    for (const record of decoded) {
      if (record.offset < cursor || record.key === null) continue;
      let groupRecord: GroupRecord | null;
      try {
        groupRecord = decodeRecord(record.key, record.value);
      } catch (error) {
        totals.skipped += 1;
        logger.error("skipping an offsets record that does not decode", { partition: `${OFFSETS_TOPIC}-${partition}`, offset: String(record.offset), error: String(error) });
        continue;
      }
      if (groupRecord) {
        apply(groupRecord, producerId);
        totals.records++;
      }
    }
  }
}
