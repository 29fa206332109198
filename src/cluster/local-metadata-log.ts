// The metadata log of a one-node cluster: a partition log of the storage layer in
// `<data>/__cluster_metadata-0/` (Kafka's directory), each append one RecordBatch v2 whose records'
// values are the JSON records of records.ts, stamped with leader epoch `localEpoch`. A batch is
// committed once fdatasync'd: a one-voter quorum commits what is on its own disk. A crash loses
// only batches never acknowledged (recovery cuts a torn tail, nothing else).
//
// Snapshots (metadata-snapshot.ts) sit beside the log, the two newest kept. At start the newest
// usable one is delivered first, then the log after it:
//   - a damaged snapshot (any CRC, a missing footer) is reported and the one before it is used;
//   - a log that ends before the snapshot (cut short, segment files removed) is reported and
//     restarted empty at the snapshot's end (Kafka's truncateFullyAndStartAt), so that no offset
//     the snapshot holds is given out again;
//   - damage in the log below the snapshot is never read; damage above it (records no snapshot
//     holds) stops the start (MetadataLogDamagedError): an image without them would be wrong.
// The log itself is not trimmed below the snapshots yet (it grows with every metadata change).
//
// This node is always the leader. The Raft-backed log that replaces it in a many-node cluster
// keeps the MetadataLog contract (metadata-log.ts).

import { LONG_MAX, topicDefaults, type BrokerConfig, type TopicConfig } from "../config/index.ts";
import type { NativeApi } from "../native/types.ts";
import { native as defaultNative } from "../native/index.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { batchesIn, decodeLogRecords, encodeBatch, type LogRecord } from "../protocol/record-batch.ts";
import { join } from "node:path";
import { clusterMetadataTopic, DamagedDataError, openPartitionLog, realFs, type Log, type StorageFs } from "../storage/index.ts";
import { assert } from "../util/assert.ts";
import { systemClock, type Clock } from "../util/clock.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import type { CommittedBatch, MetadataLeader, MetadataLog } from "./metadata-log.ts";
import { decodeSnapshot, listSnapshots, snapshotFileName, writeSnapshot, type SnapshotId } from "./metadata-snapshot.ts";
import { decodeRecord, encodeRecord, type MetadataRecord } from "./records.ts";

/** The epoch of a one-voter quorum after its first (and only) election. */
export const localEpoch = 1;
/**
 * Largest batch: one CreateTopics of topicPartitionsMax (10,000) partitions is ~2.5 MB of records,
 * and an operation is one batch so that it commits whole or not at all.
 */
export const metadataBatchBytesMax = 32 * 1024 * 1024;
const replayReadBytes = 1 << 20;
/** Snapshots kept: the newest, and one to fall back on should it be damaged. */
const snapshotsKept = 2;

/** The metadata log cannot be replayed: records that no usable snapshot holds are damaged or gone. */
export class MetadataLogDamagedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MetadataLogDamagedError";
  }
}
const noHeaders = new Uint8Array([0]);

/** The storage config of the metadata log: never deleted by retention, synced by the log itself. */
export function metadataLogConfig(brokerConfig: BrokerConfig): TopicConfig {
  return {
    ...topicDefaults(brokerConfig),
    "cleanup.policy": ["delete"],
    "retention.ms": -1,
    "retention.bytes": -1,
    "max.message.bytes": metadataBatchBytesMax,
    "message.timestamp.type": "CreateTime",
    "message.timestamp.before.max.ms": LONG_MAX,
    "message.timestamp.after.max.ms": LONG_MAX,
  };
}

export interface LocalMetadataLogOptions {
  dataDir: string;
  nodeId: number;
  brokerConfig: BrokerConfig;
  fs?: StorageFs;
  native?: NativeApi;
  clock?: Clock;
  logger?: Logger;
}

export class LocalMetadataLog implements MetadataLog {
  private readonly commitListeners: ((batch: CommittedBatch) => void)[] = [];
  private readonly leaderListeners = new Set<(leader: MetadataLeader) => void>();
  private commitChain: Promise<unknown> = Promise.resolve();
  private committed = -1n;
  private started = false;
  private closed = false;
  private snapshotChain: Promise<void> = Promise.resolve();
  /** End offset of the newest snapshot on disk (0 when none). */
  private snapshotEnd = 0n;

  private constructor(
    readonly nodeId: number,
    private readonly log: Log,
    private readonly directory: string,
    private readonly fs: StorageFs,
    private readonly native: NativeApi,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  static async open(options: LocalMetadataLogOptions): Promise<LocalMetadataLog> {
    const logger = options.logger ?? createLogger("metadata-log");
    const native = options.native ?? defaultNative;
    const log = await openPartitionLog({
      dataDir: options.dataDir,
      topic: clusterMetadataTopic,
      partition: 0,
      config: metadataLogConfig(options.brokerConfig),
      fs: options.fs,
      native,
      clock: options.clock,
      logger,
    });
    const directory = join(options.dataDir, `${clusterMetadataTopic}-0`);
    return new LocalMetadataLog(options.nodeId, log, directory, options.fs ?? realFs, native, options.clock ?? systemClock, logger);
  }

  get committedOffset(): bigint {
    return this.committed;
  }

  get nextOffset(): bigint {
    return this.log.logEndOffset;
  }

  get leader(): MetadataLeader {
    return { leaderId: this.closed ? -1 : this.nodeId, epoch: localEpoch };
  }

  onCommit(listener: (batch: CommittedBatch) => void): void {
    assert(!this.started, "register commit listeners before start()");
    this.commitListeners.push(listener);
  }

  onLeaderChange(listener: (leader: MetadataLeader) => void): () => void {
    this.leaderListeners.add(listener);
    listener(this.leader);
    return () => void this.leaderListeners.delete(listener);
  }

  async start(): Promise<void> {
    assert(!this.started, "start() once");
    const snapshot = this.newestUsableSnapshot();
    let logStart = this.log.logStartOffset;
    if (snapshot !== null && snapshot.id.endOffset > this.log.logEndOffset) {
      this.logger.error("the metadata log ends before its newest snapshot (cut short, or segment files removed); continuing from the snapshot", {
        directory: this.directory, logEndOffset: String(this.log.logEndOffset), snapshotEndOffset: String(snapshot.id.endOffset),
      });
      await this.log.truncateFullyAndStartAt(snapshot.id.endOffset);
      logStart = snapshot.id.endOffset;
    }
    const from = snapshot?.id.endOffset ?? 0n;
    if (logStart > from) {
      throw new MetadataLogDamagedError(`${this.directory}: the metadata log starts at offset ${logStart} and no usable snapshot holds the records before it` +
        " (restore the directory from a backup)");
    }
    if (snapshot !== null) {
      this.snapshotEnd = snapshot.id.endOffset;
      this.deliver({ baseOffset: 0n, lastOffset: snapshot.id.endOffset - 1n, epoch: snapshot.id.epoch, records: snapshot.records, snapshot: true });
    }
    let cursor = from;
    const end = this.log.logEndOffset;
    let batches = 0;
    while (cursor < end) {
      let read;
      try {
        read = this.log.read(cursor, replayReadBytes, end);
      } catch (error) {
        if (!(error instanceof DamagedDataError)) throw error;
        throw new MetadataLogDamagedError(`${this.directory}: records at offset ${cursor} and after are damaged and no usable snapshot holds them ` +
          `(${error.message}); restore the directory from a backup`);
      }
      try {
        for (const chunk of read.chunks) {
          for (const batch of batchesIn(chunk)) {
            if (batch.header.baseOffset + BigInt(batch.header.lastOffsetDelta) < cursor) continue;
            this.deliver(this.decodeStored(batch.bytes, batch.header.baseOffset));
            batches++;
            cursor = this.committed + 1n;
          }
        }
      } finally {
        read.release();
      }
      assert(read.chunks.length > 0, "the metadata log reads up to its end");
    }
    this.started = true;
    this.logger.info("metadata log replayed", {
      snapshot: snapshot === null ? "none" : snapshotFileName(snapshot.id), batches, committedOffset: String(this.committed),
    });
  }

  /** The newest snapshot whose file is intact, or null; damaged ones are reported and passed over. */
  private newestUsableSnapshot(): { id: SnapshotId; records: MetadataRecord[] } | null {
    for (const id of listSnapshots(this.fs, this.directory)) {
      const path = join(this.directory, snapshotFileName(id));
      try {
        const bytes = this.fs.readFile(path);
        if (bytes === null) continue;
        return { id, records: decodeSnapshot(this.native, bytes) };
      } catch (error) {
        this.logger.error("ignoring a damaged metadata snapshot; using an older one and the log after it", {
          file: path, problem: error instanceof Error ? error.message : String(error),
        });
      }
    }
    return null;
  }

  saveSnapshot(lastOffset: bigint, epoch: number, records: readonly MetadataRecord[]): Promise<void> {
    assert(lastOffset <= this.committed, "a snapshot holds committed records only");
    const saved = this.snapshotChain.then(async () => {
      const id = { endOffset: lastOffset + 1n, epoch };
      if (id.endOffset <= this.snapshotEnd) return;
      await writeSnapshot(this.fs, this.native, this.directory, id, records, BigInt(this.clock.nowMs()));
      this.snapshotEnd = id.endOffset;
      for (const old of listSnapshots(this.fs, this.directory).slice(snapshotsKept)) {
        try {
          this.fs.unlink(join(this.directory, snapshotFileName(old)));
        } catch (error) {
          this.logger.warn("could not delete an old metadata snapshot", { file: snapshotFileName(old), error: String(error) });
        }
      }
    });
    this.snapshotChain = saved.catch(() => {});
    return saved;
  }

  private decodeStored(bytes: Uint8Array, baseOffset: bigint): CommittedBatch {
    const header = batchesIn(bytes).next().value!.header;
    const stored = decodeLogRecords(bytes, header);
    if (stored === null) throw new Error(`__cluster_metadata-0: compressed batch at offset ${baseOffset}`);
    const records = stored.map((logRecord) => {
      if (logRecord.value === null) throw new Error(`__cluster_metadata-0: record at offset ${logRecord.offset} has no value`);
      try {
        return decodeRecord(logRecord.value);
      } catch (error) {
        throw new Error(`__cluster_metadata-0: record at offset ${logRecord.offset}: ${(error as Error).message}`);
      }
    });
    const lastOffset = header.baseOffset + BigInt(header.lastOffsetDelta);
    return { baseOffset: header.baseOffset, lastOffset, epoch: header.partitionLeaderEpoch, records };
  }

  private deliver(batch: CommittedBatch): void {
    assert(batch.baseOffset > this.committed, "committed batches arrive in offset order");
    this.committed = batch.lastOffset;
    for (const listener of this.commitListeners) listener(batch);
  }

  append(records: readonly MetadataRecord[]): Promise<bigint> {
    if (this.closed) return Promise.reject(new KafkaError(ErrorCode.NOT_CONTROLLER, "the metadata log is closed"));
    assert(this.started, "append after start()");
    assert(records.length > 0, "append at least one record");
    const timestamp = BigInt(this.clock.nowMs());
    const logRecords: LogRecord[] = records.map((metadataRecord, index) => ({
      offset: BigInt(index), timestamp, key: null, value: encodeRecord(metadataRecord), headers: noHeaders,
    }));
    // Appended now (the storage log is a single writer), committed in the same order: one chain,
    // and each step's flush also covers the batches appended behind it (group commit).
    const appended = this.log.append(encodeBatch(logRecords), { leaderEpoch: localEpoch });
    const committed = this.commitChain.then(async () => {
      const result = await appended;
      await this.log.flush();
      this.deliver({ baseOffset: result.baseOffset, lastOffset: result.lastOffset, epoch: localEpoch, records: [...records] });
      return result.lastOffset;
    });
    this.commitChain = committed.catch(() => {});
    return committed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const listener of this.leaderListeners) listener(this.leader);
    await this.commitChain;
    await this.snapshotChain;
    await this.log.close();
  }
}
