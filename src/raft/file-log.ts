// The RaftLog of a running node (docs/replication.md §2, §4): the entries after the latest snapshot
// in memory (MemoryRaftLog: the core reads its own writes synchronously) over the storage layer's
// partition log in `<data>/__cluster_metadata-0/` (entry-codec.ts: one batch per entry, stamped
// with its epoch) and snapshot files `<endOffset>-<epoch>.checkpoint` beside it (the image as
// records: cluster/metadata-snapshot.ts). Writes the core makes are queued in order — appends,
// truncations, installed snapshots, trims below a snapshot — and `flush()` applies them to disk and
// fdatasyncs, answering the position it made durable (RaftCore.markDurable).
//
// Opening (RaftCore's contract, step 1): the newest intact snapshot is loaded; a snapshot ahead of
// the log, or one the log disagrees with at its end (another epoch there), replaces the log
// (truncateFullyAndStartAt); otherwise the log keeps only what follows the snapshot. The log is
// trimmed below a snapshot (deleteRecordsBefore: whole segments), two snapshots are kept.

import { join } from "node:path";
import type { BrokerConfig } from "../config/index.ts";
import { decodeSnapshot, listSnapshots, snapshotFileName } from "../cluster/metadata-snapshot.ts";
import { metadataLogConfig } from "../cluster/local-metadata-log.ts";
import { votersOfRecords, type MetadataRecord } from "../cluster/records.ts";
import { native as defaultNative } from "../native/index.ts";
import type { NativeApi } from "../native/types.ts";
import { clusterMetadataTopic, openPartitionLog, realFs, type Log, type StorageFs } from "../storage/index.ts";
import { systemClock, type Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import { decodeEntries, encodeEntry } from "./entry-codec.ts";
import type { RaftLog } from "./log.ts";
import { MemoryRaftLog } from "./memory-log.ts";
import type { DivergingEpoch } from "./messages.ts";
import type { LogPosition, RaftEntry, SnapshotId, Voter } from "./types.ts";
import { concatBytes } from "../util/bytes.ts";

const snapshotsKept = 2;
const readBytes = 1 << 20;

type DiskOperation =
  | { kind: "append"; entries: RaftEntry[] }
  | { kind: "truncate"; offset: bigint }
  | { kind: "install"; id: SnapshotId; bytes: Uint8Array }
  | { kind: "trim"; id: SnapshotId };

export interface FileRaftLogOptions {
  dataDir: string;
  brokerConfig: BrokerConfig;
  logger: Logger;
  fs?: StorageFs;
  native?: NativeApi;
  clock?: Clock;
}

export class FileRaftLog implements RaftLog {
  private readonly memory: MemoryRaftLog;
  private operations: DiskOperation[] = [];
  private flushing: Promise<LogPosition> | null = null;
  /** The records of the snapshot the log starts from (the state machine loads them). */
  startSnapshot: { id: SnapshotId; records: MetadataRecord[] } | null = null;

  private constructor(
    private readonly storage: Log,
    readonly directory: string,
    private readonly fs: StorageFs,
    private readonly native: NativeApi,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.memory = new MemoryRaftLog((bytes) => votersOfRecords(decodeSnapshot(native, bytes)));
  }

  static async open(options: FileRaftLogOptions): Promise<FileRaftLog> {
    const fs = options.fs ?? realFs;
    const native = options.native ?? defaultNative;
    const storage = await openPartitionLog({
      dataDir: options.dataDir, topic: clusterMetadataTopic, partition: 0, config: metadataLogConfig(options.brokerConfig),
      fs, native, clock: options.clock, logger: options.logger,
    });
    const log = new FileRaftLog(storage, join(options.dataDir, `${clusterMetadataTopic}-0`), fs, native, options.clock ?? systemClock, options.logger);
    try {
      await log.load();
    } catch (error) {
      await storage.close().catch(() => {});
      throw error;
    }
    return log;
  }

  private async load(): Promise<void> {
    const snapshot = this.newestUsableSnapshot();
    let from = 0n;
    if (snapshot !== null) {
      const end = snapshot.id.endOffset;
      const storageStart = this.storage.logStartOffset;
      // The epoch cache forgets epochs below a trim (-1): only a known other epoch disagrees.
      const epochAtEnd = end - 1n >= storageStart ? this.storage.epochForOffset(end - 1n) : -1;
      const disagrees = end > this.storage.logEndOffset || (epochAtEnd !== -1 && epochAtEnd !== snapshot.id.epoch);
      if (disagrees || storageStart > end) {
        this.logger.info("the metadata log starts over at its newest snapshot", { snapshot: snapshotFileName(snapshot.id), logEndOffset: String(this.storage.logEndOffset) });
        await this.storage.truncateFullyAndStartAt(end);
      }
      this.memory.resetToSnapshot(snapshot.id, snapshot.bytes);
      this.startSnapshot = { id: snapshot.id, records: snapshot.records };
      from = end;
    } else if (this.storage.logStartOffset > 0n) {
      throw new Error(`${this.directory}: the metadata log starts at offset ${this.storage.logStartOffset} and no usable snapshot holds the records before it (restore the directory from a backup, or empty it to copy the log from the quorum)`);
    }
    const end = this.storage.logEndOffset;
    let cursor = from;
    while (cursor < end) {
      const read = this.storage.read(cursor, readBytes, end);
      try {
        if (read.chunks.length === 0) break;
        for (const chunk of read.chunks) {
          for (const entry of decodeEntries(chunk, cursor)) {
            this.memory.append([entry]);
            cursor = entry.offset + 1n;
          }
        }
      } finally {
        read.release();
      }
    }
  }

  private newestUsableSnapshot(): { id: SnapshotId; bytes: Uint8Array; records: MetadataRecord[] } | null {
    for (const id of listSnapshots(this.fs, this.directory)) {
      const path = join(this.directory, snapshotFileName(id));
      try {
        const bytes = this.fs.readFile(path);
        if (bytes === null) continue;
        return { id, bytes, records: decodeSnapshot(this.native, bytes) };
      } catch (error) {
        this.logger.error("ignoring a damaged metadata snapshot", { file: path, problem: error instanceof Error ? error.message : String(error) });
      }
    }
    return null;
  }

  // ── RaftLog ────────────────────────────────────────────────────────────────────────────────

  get startOffset(): bigint {
    return this.memory.startOffset;
  }

  get endOffset(): bigint {
    return this.memory.endOffset;
  }

  epochBefore(offset: bigint): number {
    return this.memory.epochBefore(offset);
  }

  endOffsetForEpoch(epoch: number): DivergingEpoch | null {
    return this.memory.endOffsetForEpoch(epoch);
  }

  read(offset: bigint, maxEntries: number, maxBytes: number): RaftEntry[] {
    return this.memory.read(offset, maxEntries, maxBytes);
  }

  append(entries: readonly RaftEntry[]): void {
    this.memory.append(entries);
    const last = this.operations[this.operations.length - 1];
    if (last?.kind === "append") last.entries.push(...entries);
    else this.operations.push({ kind: "append", entries: [...entries] });
  }

  truncateTo(offset: bigint): void {
    this.memory.truncateTo(offset);
    this.operations.push({ kind: "truncate", offset });
  }

  latestSnapshot(): SnapshotId | null {
    return this.memory.latestSnapshot();
  }

  snapshotVoters(): readonly Voter[] | null {
    return this.memory.snapshotVoters();
  }

  snapshotSize(id: SnapshotId): bigint | null {
    return this.memory.snapshotSize(id);
  }

  readSnapshot(id: SnapshotId, position: bigint, maxBytes: number): Uint8Array {
    return this.memory.readSnapshot(id, position, maxBytes);
  }

  writeSnapshotChunk(id: SnapshotId, position: bigint, bytes: Uint8Array): void {
    this.memory.writeSnapshotChunk(id, position, bytes);
  }

  installSnapshot(id: SnapshotId): void {
    this.memory.installSnapshot(id);
    this.operations.push({ kind: "install", id, bytes: this.memory.snapshotBytes()! });
  }

  deleteBefore(id: SnapshotId): void {
    this.memory.deleteBefore(id);
    this.operations.push({ kind: "trim", id });
  }

  // ── The driver's side ──────────────────────────────────────────────────────────────────────

  /** Bytes of the latest snapshot (the state machine reloads from them after an install). */
  snapshotBytes(): Uint8Array | null {
    return this.memory.snapshotBytes();
  }

  /** A snapshot the state machine wrote (its file is on disk): the log's latest from now on. */
  addSnapshot(id: SnapshotId, bytes: Uint8Array): void {
    this.memory.saveSnapshot(id, bytes);
  }

  /** Bytes held in the log after the latest snapshot (snapshot pacing). */
  get bytesAfterSnapshot(): number {
    return this.storage.sizeBytes;
  }

  /**
   * Apply every queued write in order and fdatasync; resolves with the position that is now
   * durable (end offset and the epoch below it as they were when the flush began). One at a time:
   * a call during a flush waits for it, then flushes what came since.
   */
  async flush(): Promise<LogPosition> {
    while (this.flushing) await this.flushing.catch(() => {});
    const position = { offset: this.memory.endOffset, epoch: this.memory.epochBefore(this.memory.endOffset) };
    const operations = this.operations;
    this.operations = [];
    this.flushing = this.apply(operations).then(() => position);
    try {
      return await this.flushing;
    } finally {
      this.flushing = null;
    }
  }

  private async apply(operations: DiskOperation[]): Promise<void> {
    for (const operation of operations) {
      switch (operation.kind) {
        case "append": {
          const now = BigInt(this.clock.nowMs());
          const parts = operation.entries.map((entry) => encodeEntry(entry, now));
          await this.storage.appendAsFollower(concatBytes(parts));
          break;
        }
        case "truncate":
          await this.storage.truncateTo(operation.offset);
          break;
        case "install":
          await this.fs.writeFileAtomic(join(this.directory, snapshotFileName(operation.id)), operation.bytes);
          await this.storage.truncateFullyAndStartAt(operation.id.endOffset);
          this.deleteOldSnapshots();
          break;
        case "trim":
          if (operation.id.endOffset > this.storage.logStartOffset && operation.id.endOffset <= this.storage.logEndOffset) {
            await this.storage.deleteRecordsBefore(operation.id.endOffset);
          }
          this.deleteOldSnapshots();
          break;
      }
    }
    await this.storage.flush();
  }

  private deleteOldSnapshots(): void {
    for (const old of listSnapshots(this.fs, this.directory).slice(snapshotsKept)) {
      try {
        this.fs.unlink(join(this.directory, snapshotFileName(old)));
      } catch (error) {
        this.logger.warn("could not delete an old metadata snapshot", { file: snapshotFileName(old), error: String(error) });
      }
    }
  }

  async close(): Promise<void> {
    await this.flush().catch((error: unknown) => this.logger.warn("flushing the metadata log at close failed", { error: String(error) }));
    await this.storage.close();
  }
}
