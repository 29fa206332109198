// The contract between the partition log (storage/) and its users (kafka/ handlers, groups/, the
// future replication/ and http/ layers). Offsets are bigint (Kafka int64), as on the wire.
//
//   logStartOffset ........ highWatermark ........ logEndOffset
//   first readable offset   first offset not yet   next offset to be
//   (after retention /      committed (single      assigned to an
//   deleteRecordsBefore)    node: = logEndOffset)  appended batch

import type { TopicConfig } from "../config/index.ts";

export interface AppendOptions {
  /**
   * LogAppendTime (message.timestamp.type=LogAppendTime): the broker's clock, written into each
   * batch's maxTimestamp (and timestampType attribute bit); the CRC is then recomputed.
   */
  logAppendTimeMs?: bigint;
  /** Leader epoch stamped into partitionLeaderEpoch (outside the CRC). Default 0. */
  leaderEpoch?: number;
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
}

export interface PartitionLog {
  readonly topic: string;
  readonly partition: number;
  readonly logStartOffset: bigint;
  readonly highWatermark: bigint;
  readonly logEndOffset: bigint;
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

  /**
   * Read whole batches from `offset` up to about `maxBytes` (the first batch is returned whole even
   * when larger), never past `maxOffset` (default highWatermark). Throws KafkaError
   * OFFSET_OUT_OF_RANGE when offset < logStartOffset or > logEndOffset.
   */
  read(offset: bigint, maxBytes: number, maxOffset?: bigint): ReadResult;

  /** First offset whose batch maxTimestamp >= timestamp, or null if none (ListOffsets). */
  offsetForTimestamp(timestampMs: bigint): TimestampOffset | null;
  /** The offset and timestamp of the record with the largest timestamp (ListOffsets -3). */
  maxTimestampOffset(): TimestampOffset | null;

  /** Remove everything at or after `offset` (replication divergence). */
  truncateTo(offset: bigint): Promise<void>;
  /** Advance logStartOffset (DeleteRecords); whole segments below it are deleted. */
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
  /** Record a batch that was appended (also called for every batch replayed during recovery). */
  update(batch: BatchProducerInfo): void;
  /** Forget state for offsets >= offset (truncation). */
  truncateTo(offset: bigint): void;
  /**
   * Optional snapshots (`<offset>.snapshot` files, written at roll and clean shutdown): with them,
   * recovery loads the newest usable snapshot and replays only the batches after it instead of the
   * whole log. `encodeSnapshot` serializes the state as of the log end offset `endOffset`.
   */
  encodeSnapshot?(endOffset: bigint): Uint8Array;
  /** Replace the state with a snapshot's; returns its end offset. Throws when the bytes are damaged. */
  loadSnapshot?(bytes: Uint8Array): bigint;
}

export type PartitionRecoveryState = "recovering" | "failed";

/**
 * Every partition log of this node, under `<dataDir>/<topic>-<partition>/` (Kafka's layout).
 * Opening recovers each log (checkpoint, scan, cut torn tails, rebuild indexes) and starts the
 * background retention and flush schedulers.
 */
export interface LogManager {
  /**
   * Recover and open every partition directory found under the data directory. With
   * `background`, resolves once they are found: they recover once startRecovery() is called (`recovered()` resolves when done), and
   * until then `get()` has none of them and `recoveryState()` says "recovering".
   */
  open(options?: { background?: boolean }): Promise<void>;
  /** Resolves when every partition found by open() has recovered (or failed to). */
  recovered?(): Promise<void>;
  /** A partition found on disk that is not served yet: still recovering, or failed to recover. */
  recoveryState?(topic: string, partition: number): PartitionRecoveryState | null;
  /** Every partition with a directory: open ones and ones still recovering. */
  partitionsOnDisk?(): { topic: string; partition: number }[];
  get(topic: string, partition: number): PartitionLog | undefined;
  /** Create (or open, when it exists) the log of a partition with its topic config. */
  create(topic: string, partition: number, config: TopicConfig): Promise<PartitionLog>;
  /** Close and delete a partition's files (DeleteTopics). */
  delete(topic: string, partition: number): Promise<void>;
  all(): Iterable<PartitionLog>;
  /** Flush and close every log; stop background work. */
  close(): Promise<void>;
}
