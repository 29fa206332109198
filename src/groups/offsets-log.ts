// The GroupStore over the internal topic __consumer_offsets (Kafka's design): each group lives on
// partition abs(hash(groupId)) % offsets.topic.num.partitions; offset commits and group metadata
// are records keyed like Kafka's (records.ts); a null value deletes. The topic is compacted
// (cleanup.policy=compact), so only the latest record per key survives cleaning. The log is the
// source of truth: at start every partition is replayed into the coordinator.
//
// A write resolves once the batch is appended AND fdatasync'd (log.flush(), which the storage layer
// group-commits: concurrent commits share one sync), so an acknowledged commit survives a crash.

import type { ClusterStore } from "../cluster/index.ts";
import { native } from "../native/index.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { batchesIn, decodeBatchRecords, encodeBatch, type LogRecord } from "../storage/cleaner-records.ts";
import { DamagedDataError } from "../storage/segment.ts";
import type { BatchHeader } from "../storage/batch-header.ts";
import type { PartitionLog } from "../storage/types.ts";
import { assert } from "../util/assert.ts";
import { createLogger } from "../util/logger.ts";
import type { GroupRecord, GroupStore } from "./group-store.ts";
import { OFFSETS_TOPIC, offsetsPartitionFor } from "./partition-for.ts";
import { decodeRecord, encodeRecordKey, encodeRecordValue } from "./records.ts";

const log = createLogger("offsets-log");
const loadReadBytesMax = 1 << 20;
const noHeaders = new Uint8Array([0]);

export interface OffsetsLogOptions {
  cluster: ClusterStore;
  partitionCount: number;
  segmentBytes: number;
  /** fdatasync each write before acknowledging it (default true). */
  syncWrites?: boolean;
  /** offsets.commit.timeout.ms: longest wait for the sync; then REQUEST_TIMED_OUT. */
  commitTimeoutMs?: number;
}

export class OffsetsLog implements GroupStore {
  private constructor(
    private readonly cluster: ClusterStore,
    readonly partitionCount: number,
    private readonly syncWrites: boolean,
    private readonly commitTimeoutMs: number,
  ) {}

  /** Opens __consumer_offsets, creating it (compacted) when absent. */
  static async open(options: OffsetsLogOptions): Promise<OffsetsLog> {
    const existing = options.cluster.topic(OFFSETS_TOPIC);
    let partitionCount = options.partitionCount;
    if (existing) {
      // The partition count of an existing topic wins: changing it would move groups.
      partitionCount = existing.partitions;
    } else {
      await options.cluster.createTopic(OFFSETS_TOPIC, partitionCount, {
        "cleanup.policy": "compact",
        "segment.bytes": String(options.segmentBytes),
      });
      log.info("created offsets topic", { partitions: partitionCount });
    }
    return new OffsetsLog(options.cluster, partitionCount, options.syncWrites ?? true, options.commitTimeoutMs ?? 5000);
  }

  partitionFor(groupId: string): number {
    return offsetsPartitionFor(groupId, this.partitionCount);
  }

  private partitionLog(partition: number): PartitionLog {
    const partitionLog = this.cluster.partitionLog(OFFSETS_TOPIC, partition);
    if (!partitionLog) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${OFFSETS_TOPIC}-${partition} is not open`);
    return partitionLog;
  }

  async write(groupId: string, records: GroupRecord[]): Promise<void> {
    assert(records.length > 0, "write at least one record");
    assert(records.every((record) => record.groupId === groupId), "one group per write");
    const partitionLog = this.partitionLog(this.partitionFor(groupId));
    const timestamp = BigInt(Date.now());
    const logRecords: LogRecord[] = records.map((record, index) => ({
      offset: BigInt(index),
      timestamp,
      key: encodeRecordKey(record),
      value: encodeRecordValue(record),
      headers: noHeaders,
    }));
    await partitionLog.append(encodeBatch(native, logRecords));
    if (!this.syncWrites) return;
    // Like Kafka, a write that is not confirmed in time is answered REQUEST_TIMED_OUT (it may still
    // become durable: then it is seen after a restart).
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `offsets write not durable within ${this.commitTimeoutMs} ms`)), this.commitTimeoutMs);
    });
    try {
      await Promise.race([partitionLog.flush(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Replays every partition, calling `apply` for each record in log order. Damage never stops the
   * node: a damaged stretch of a partition is skipped (what it held — commits, group metadata — is
   * lost, and said so at ERROR; newer records after it still apply), an offline partition is
   * skipped whole, and a record that does not decode is skipped alone.
   */
  load(apply: (record: GroupRecord) => void): { records: number; bytes: number; skipped: number } {
    const totals = { records: 0, bytes: 0, skipped: 0 };
    for (let partition = 0; partition < this.partitionCount; partition++) {
      try {
        this.loadPartition(partition, apply, totals);
      } catch (error) {
        totals.skipped += 1;
        log.error("cannot replay an offsets partition; the groups on it start without their stored state", {
          partition: `${OFFSETS_TOPIC}-${partition}`,
          error: String(error),
        });
      }
    }
    return totals;
  }

  private loadPartition(partition: number, apply: (record: GroupRecord) => void, totals: { records: number; bytes: number; skipped: number }): void {
    const partitionLog = this.partitionLog(partition);
    let cursor = partitionLog.logStartOffset;
    const end = partitionLog.logEndOffset;
    while (cursor < end) {
      let read;
      try {
        read = partitionLog.read(cursor, loadReadBytesMax, end);
      } catch (error) {
        if (!(error instanceof DamagedDataError) || error.readableFrom <= cursor) throw error;
        log.error("skipping damaged records of the offsets topic; the commits and group changes they held are lost", {
          partition: `${OFFSETS_TOPIC}-${partition}`,
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
            this.applyBatch(partition, batch, cursor, apply, totals);
            const last = batch.header.baseOffset + BigInt(batch.header.lastOffsetDelta) + 1n;
            if (last > cursor) cursor = last;
          }
        }
      } finally {
        read.release();
      }
      if (cursor === before) break;
    }
  }

  private applyBatch(
    partition: number,
    batch: { header: BatchHeader; bytes: Uint8Array },
    cursor: bigint,
    apply: (record: GroupRecord) => void,
    totals: { records: number; skipped: number },
  ): void {
    const decoded = decodeBatchRecords(batch.bytes, batch.header);
    if (decoded === null) {
      totals.skipped += 1;
      log.error("skipping a compressed batch in the offsets topic (never written by Runnel)", { partition: `${OFFSETS_TOPIC}-${partition}`, baseOffset: String(batch.header.baseOffset) });
      return;
    }
    for (const record of decoded) {
      if (record.offset < cursor || record.key === null) continue;
      let groupRecord: GroupRecord | null;
      try {
        groupRecord = decodeRecord(record.key, record.value);
      } catch (error) {
        totals.skipped += 1;
        log.error("skipping an offsets record that does not decode", { partition: `${OFFSETS_TOPIC}-${partition}`, offset: String(record.offset), error: String(error) });
        continue;
      }
      if (groupRecord) {
        apply(groupRecord);
        totals.records++;
      }
    }
  }
}
