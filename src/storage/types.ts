// The contract between the partition log (storage/) and its users (kafka/ handlers, groups/, the
// future replication/ and http/ layers). Offsets are bigint (Kafka int64), as on the wire.
//
//   logStartOffset ........ highWatermark ........ logEndOffset
//   first readable offset   first offset not yet   next offset to be
//   (after retention /      committed: set by the  assigned to an
//   deleteRecordsBefore)    replica layer          appended batch

import type { TopicConfig } from "../config/index.ts";

export interface AppendOptions {
  /**
   * LogAppendTime (message.timestamp.type=LogAppendTime): the broker's clock, written into each
   * batch's maxTimestamp (and timestampType attribute bit); the CRC is then recomputed.
   */
  logAppendTimeMs?: bigint;
  /** Leader epoch stamped into partitionLeaderEpoch (outside the CRC). Default 0. */
  leaderEpoch?: number;
  /**
   * Who wrote the batches (Kafka's AppendOrigin). "client" (the default: Produce, the HTTP API)
   * may not write control batches (INVALID_RECORD, as Kafka's LogValidator); "coordinator" (group
   * and, later, transaction coordinators writing their markers) may.
   */
  origin?: "client" | "coordinator";
}

export interface AppendResult {
  /** Offset given to the first record of the first batch. */
  baseOffset: bigint;
  /** Offset of the last record of the last batch. */
  lastOffset: bigint;
  /**
   * -1n unless LogAppendTime was used. For a duplicate (idempotent retry) under LogAppendTime: the
   * time the original batch was appended (its stored maxTimestamp), as Kafka answers.
   */
  logAppendTimeMs: bigint;
  logStartOffset: bigint;
  /**
   * Resolves once every byte of this append is on stable storage (covered by an fdatasync, shared
   * with every other append since the last one: group commit). Rejects with a KafkaError
   * (KAFKA_STORAGE_ERROR) if the sync fails. The append itself is "appended" once `append`'s
   * promise resolved.
   */
  durable: Promise<void>;
  /** True when the idempotent-producer check found this exact batch already in the log. */
  duplicate: boolean;
}

/** Views of whole batches; valid until `release()` (mapped memory is reference-counted). */
export interface ReadResult {
  /** Zero-copy views of whole RecordBatch v2 batches, the first starting at or before the offset. */
  chunks: Uint8Array[];
  /** Total bytes in `chunks`. */
  bytes: number;
  highWatermark: bigint;
  logStartOffset: bigint;
  logEndOffset: bigint;
  /**
   * The offset after the last batch in `chunks` (the fetch offset when nothing was read): the upper
   * bound of the aborted transactions a read_committed fetch answers (Kafka's fetch upper bound).
   */
  nextOffset?: bigint;
  /** Release the mappings behind `chunks`. Idempotent. Must be called once the bytes are written. */
  release(): void;
}

export interface TimestampOffset {
  offset: bigint;
  timestamp: bigint;
}

/** Batch header facts the idempotent-producer state needs (read without decoding records). */
export interface BatchProducerInfo {
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
  recordCount: number;
  baseOffset: bigint;
  maxTimestamp: bigint;
  isTransactional: boolean;
  isControl: boolean;
  /** A control batch's marker (ControlType: 0 ABORT, 1 COMMIT), else -1 (NOT_A_MARKER). */
  markerType?: number;
}

/** A transaction that ended with ABORT on this partition: its data is [firstOffset, lastOffset) and the marker at lastOffset. */
export interface AbortedTransaction {
  producerId: bigint;
  firstOffset: bigint;
  /** The offset of the ABORT marker. */
  lastOffset: bigint;
}

/** An aborted transaction as the segment's `.txnindex` stores it (transaction-index.ts). */
export interface AbortedTransactionEntry extends AbortedTransaction {
  /** The partition's last stable offset once the transaction ended. */
  lastStableOffset: bigint;
}

export interface PartitionLog {
  readonly topic: string;
  readonly partition: number;
  readonly logStartOffset: bigint;
  /**
   * The first offset not known to be committed (on every in-sync replica). Set by the replica layer
   * through `updateHighWatermark`; restored at open from replication-offset-checkpoint.
   */
  readonly highWatermark: bigint;
  readonly logEndOffset: bigint;
  /** Everything below it is covered by an fdatasync (the durable end; replicas count it in flush.messages=1 mode). */
  readonly recoveryPoint: bigint;
  /** High watermark, or below it the first offset of an open transaction (read_committed bound). */
  readonly lastStableOffset: bigint;
  /** Transactions aborted with data in [fromOffset, toOffset), oldest first (read_committed fetches). */
  abortedTransactions(fromOffset: bigint, toOffset: bigint): AbortedTransaction[];
  /** The producers the producer state remembers (DescribeProducers). */
  activeProducers(): ActiveProducer[];
  /** Whether the producer has a transaction open in this log (KIP-890: its first batch here was verified). */
  hasOngoingTransaction(producerId: bigint): boolean;
  /** Total bytes of all segments. */
  readonly sizeBytes: number;

  /**
   * Append RecordBatch v2 bytes as a client sent them (one or more batches). Validates magic,
   * lengths, CRC-32C and max.message.bytes, walks the records (count, lengths, offset deltas;
   * compressed ones inflated with a cap), runs the idempotent-producer check, stamps offsets.
   * Throws KafkaError (CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, INVALID_RECORD,
   * UNSUPPORTED_COMPRESSION_TYPE, KAFKA_STORAGE_ERROR,
   * OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH…) and then the log is unchanged.
   * Appends are applied in call order (single writer per partition).
   */
  append(batches: Uint8Array, options?: AppendOptions): Promise<AppendResult>;

  /** Set the high watermark, clamped to [logStartOffset, logEndOffset]; returns the value set. */
  updateHighWatermark(offset: bigint): bigint;

  /**
   * Read whole batches from `offset` up to about `maxBytes` (the first batch is returned whole even
   * when larger), never a batch reaching `maxOffset` (default logEndOffset: the caller bounds
   * consumers by the high watermark). Throws KafkaError OFFSET_OUT_OF_RANGE when offset <
   * logStartOffset or > logEndOffset.
   */
  read(offset: bigint, maxBytes: number, maxOffset?: bigint): ReadResult;

  /** First offset whose batch maxTimestamp >= timestamp, or null if none (ListOffsets). */
  offsetForTimestamp(timestampMs: bigint): TimestampOffset | null;
  /** The offset and timestamp of the record with the largest timestamp (ListOffsets -3). */
  maxTimestampOffset(): TimestampOffset | null;

  /**
   * Append batches replicated from the partition's leader: offsets and leader epochs as the leader
   * stamped them, bytes unchanged (CRC checked, offsets increasing from the log end; gaps left by
   * compaction allowed). Updates the producer state and the leader-epoch cache like `append`.
   * Throws KafkaError CORRUPT_MESSAGE, OFFSET_OUT_OF_RANGE, KAFKA_STORAGE_ERROR; then the log is
   * unchanged.
   */
  appendAsFollower(batches: Uint8Array): Promise<AppendResult>;

  /** The newest leader epoch that wrote to (or took over) this log; -1 when none. */
  readonly latestEpoch: number;
  /**
   * Where leader epoch `epoch` ended in this log, from the leader-epoch cache (Kafka's
   * OffsetForLeaderEpoch answer): `{ epoch: -1, endOffset: -1n }` when unknown.
   */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: bigint };
  /** The leader-epoch cache's entries, oldest first (replication/core's epoch-cache rules take them). */
  epochEntries(): { epoch: number; startOffset: bigint }[];
  /** The leader epoch of the record at `offset` (-1 when the cache knows none). */
  epochForOffset(offset: bigint): number;
  /** A leader taking over with `epoch` starts it at `startOffset` (its log end offset). */
  assignEpochStartOffset(epoch: number, startOffset: bigint): void;

  /** Remove everything at or after `offset` (replication divergence). */
  truncateTo(offset: bigint): Promise<void>;
  /**
   * Remove every record and start the log empty at `offset`, above or below its end (Kafka's
   * truncateFullyAndStartAt: a replica whose log is behind the leader's log start, or a metadata
   * log found shorter than its snapshot). Epoch history and producer state go with the records.
   */
  truncateFullyAndStartAt(offset: bigint): Promise<void>;
  /** Advance logStartOffset (DeleteRecords) up to the log end; whole segments below it are deleted. */
  deleteRecordsBefore(offset: bigint): Promise<bigint>;

  /** Apply changed topic configs live (retention.ms, segment.bytes, flush.*, …). */
  updateConfig(config: TopicConfig): void;

  /**
   * Resolves when the log end offset moves past `offset` or `signal` aborts (Fetch long poll).
   * Never polls on a timer.
   */
  waitForAppend(offset: bigint, signal: AbortSignal): Promise<void>;
  /**
   * Calls `wake` once when the log end offset moves past `offset` or the log closes — at once,
   * before returning, if it already has; the returned function cancels (idempotent). A plain
   * callback, no promise or signal listener: a long poll over many partitions registers one per
   * partition and cancels them all when it completes (AbortSignal listeners cost O(listeners)
   * each to remove, O(partitions²) per Fetch).
   */
  onAppend(offset: bigint, wake: () => void): () => void;

  /** fdatasync everything appended so far. */
  flush(): Promise<void>;
  /** Flush, write the recovery checkpoint, unmap, close every file. */
  close(): Promise<void>;
}

/** Pluggable idempotent-producer state (storage/producer-state.ts), one per partition. */
export interface ProducerStateManager {
  /**
   * Check a batch before it is appended. Returns "append" to append it, or the offsets of an
   * already-appended identical batch (duplicate: acknowledge without appending). Throws KafkaError
   * OUT_OF_ORDER_SEQUENCE_NUMBER / INVALID_PRODUCER_EPOCH / UNKNOWN_PRODUCER_ID as Kafka does.
   */
  check(batch: BatchProducerInfo): { kind: "append" } | { kind: "duplicate"; baseOffset: bigint; lastOffset: bigint };
  /**
   * Record a batch that was appended (also called for every batch replayed during recovery). For an
   * ABORT marker that ends a transaction with data here, returns the entry for the segment's
   * `.txnindex` (the log writes it to the segment that holds the marker).
   */
  update(batch: BatchProducerInfo): AbortedTransactionEntry | void;
  /** Forget state for offsets >= offset (truncation). */
  truncateTo(offset: bigint): void;
  /** A transaction whose ABORT marker was truncated away while its first batch stays is open again. */
  reopenTransaction?(producerId: bigint, firstOffset: bigint): void;
  /**
   * Optional snapshots (`<offset>.snapshot` files, written at roll and clean shutdown): with them,
   * recovery loads the newest usable snapshot and replays only the batches after it instead of the
   * whole log. `encodeSnapshot` serializes the state as of the log end offset `endOffset`.
   */
  encodeSnapshot?(endOffset: bigint): Uint8Array;
  /** Replace the state with a snapshot's; returns its end offset. Throws when the bytes are damaged. */
  loadSnapshot?(bytes: Uint8Array): bigint;
  /**
   * The first offset of a transaction still open, or null (the last-stable-offset hook; transactions
   * are issue 14 — until then no implementation tracks them).
   */
  firstUnstableOffset?(): bigint | null;
  /** The open transactions: producer id → first offset (DescribeProducers). */
  ongoingTransactions?(): ReadonlyMap<bigint, bigint>;
  /** Every producer remembered (DescribeProducers). */
  activeProducers?(): ActiveProducer[];
}

/** One producer of a partition as DescribeProducers reports it. */
export interface ActiveProducer {
  producerId: bigint;
  producerEpoch: number;
  /** Sequence of its last batch's last record; -1 when none (markers only). */
  lastSequence: number;
  lastTimestampMs: number;
  /** First offset of its open transaction, -1 when none. */
  currentTransactionStartOffset: bigint;
}

export interface CreateLogOptions {
  /**
   * The topic's id, kept in the directory's partition.metadata: a directory found there that
   * belongs to another topic (another id, or none) is moved aside (`….<id>-stray`), never reused.
   */
  topicId?: string;
}

export interface PartitionDirectory {
  topic: string;
  partition: number;
}

/**
 * Every partition log of this node, under `<dataDir>/<topic>-<partition>/` (Kafka's layout).
 * It opens the logs it is asked for (each recovered: checkpoint, scan, cut torn tails, rebuild
 * indexes), never on its own: which partitions exist is the metadata's business.
 */
export interface LogManager {
  /** Read the checkpoint files, list the partition directories found, start background tasks. */
  open(): Promise<void>;
  get(topic: string, partition: number): PartitionLog | undefined;
  /** Create (or open, when it exists) the log of a partition with its topic config. */
  create(topic: string, partition: number, config: TopicConfig, options?: CreateLogOptions): Promise<PartitionLog>;
  /** Directories found at open that no create() claimed since: left alone (and reported). */
  unclaimed(): PartitionDirectory[];
  /** The partition's directory was found at open and not opened yet (opening it recovers it). */
  isFound?(topic: string, partition: number): boolean;
  /** Close and delete a partition's files (DeleteTopics). */
  delete(topic: string, partition: number): Promise<void>;
  all(): Iterable<PartitionLog>;
  /** Flush and close every log; stop background work. */
  close(): Promise<void>;
}
