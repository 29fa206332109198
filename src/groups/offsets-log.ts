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
    partitionLog.updateHighWatermark(partitionLog.logEndOffset); // transitional, as in Produce
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

  /** Replays every partition, calling `apply` for each record in log order. */
  load(apply: (record: GroupRecord) => void): { records: number; bytes: number } {
    let count = 0;
    let bytes = 0;
    for (let partition = 0; partition < this.partitionCount; partition++) {
      const partitionLog = this.partitionLog(partition);
      let cursor = partitionLog.logStartOffset;
      const end = partitionLog.logEndOffset;
      while (cursor < end) {
        const read = partitionLog.read(cursor, loadReadBytesMax, end);
        const before = cursor;
        try {
          for (const chunk of read.chunks) {
            bytes += chunk.length;
            for (const batch of batchesIn(chunk)) {
              const decoded = decodeBatchRecords(batch.bytes, batch.header);
              if (decoded === null) throw new Error(`compressed batch at ${batch.header.baseOffset} in ${OFFSETS_TOPIC}-${partition}`);
              for (const record of decoded) {
                if (record.offset < cursor || record.key === null) continue;
                const groupRecord = decodeRecord(record.key, record.value);
                if (groupRecord) {
                  apply(groupRecord);
                  count++;
                }
              }
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
    return { records: count, bytes };
  }
}
