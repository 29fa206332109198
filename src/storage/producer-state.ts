// Idempotent-producer state of one partition: for each producer id, its epoch and the sequence
// ranges and offsets of its last five batches. It answers, for each batch a client sends, "append
// it", "this is a retry of a batch already in the log" (duplicate), or an error, with Apache
// Kafka's rules (ProducerStateManager / ProducerAppendInfo, 2.5+ behaviour):
//
//   * producerId -1 (not idempotent): no checks at all.
//   * duplicate: same epoch and the exact (firstSequence, lastSequence) of one of the last five
//     batches → the offsets of that batch; the batch is NOT appended again. This check comes
//     first, before the sequence check, so a retried batch is acknowledged even after later ones.
//   * epoch older than the producer's epoch → INVALID_PRODUCER_EPOCH (Kafka replaced the fatal
//     PRODUCER_FENCED with this in 2.7 for produce responses).
//   * epoch newer than the producer's epoch → the batch must start at sequence 0, else
//     OUT_OF_ORDER_SEQUENCE_NUMBER (the producer bumped its epoch and reset its sequences).
//   * same epoch → firstSequence must be lastSequence + 1 (int32 max wraps to 0), else
//     OUT_OF_ORDER_SEQUENCE_NUMBER.
//   * unknown producer id (never seen, expired, or its batches were truncated away) → any
//     sequence is accepted (KIP-360: older brokers answered UNKNOWN_PRODUCER_ID; since 2.5 Kafka
//     accepts, because retention may legitimately have removed the producer's batches).
//   DUPLICATE_SEQUENCE_NUMBER is what pre-0.11.0.1 brokers answered for a retry; no client we
//   test needs it, so duplicates are acknowledged with NONE and the original offsets, as Kafka does.
//
// How storage and the Produce handler use it (single writer per partition, calls in order):
//   for each batch of an append: `check(info)`; if it says "duplicate", the whole append answers
//   with those offsets (AppendResult.duplicate = true) and nothing is written; otherwise the batch
//   gets its offsets, `update(info)` records it (with the assigned baseOffset) BEFORE the next
//   batch of the same request is checked, so that batch 2 is checked against batch 1. If the
//   append then fails before anything is written, call `truncateTo(firstAssignedOffset)`: that
//   removes exactly the batches recorded for this append (they are the newest of each producer).
//   Produce handler: a duplicate is a success → partition error NONE, baseOffset = the original
//   batch's baseOffset, logAppendTime -1 (or the topic's LogAppendTime), logStartOffset as usual.
//   A KafkaError thrown by `check` becomes that partition's error code.
//
// Transactions: the first transactional data batch of a producer opens its transaction at that
// batch's offset; a control batch (COMMIT / ABORT marker) closes it, and an ABORT is remembered as
// an aborted transaction (first offset, marker offset) for read_committed fetches. The first offset
// of the oldest open transaction bounds the last stable offset (firstUnstableOffset).
//
// Recovery: storage calls `update()` for every batch header it replays (only headers are read),
// or restores a snapshot (`encodeSnapshot` / `decodeSnapshot`) and replays the batches after it.
// Expiry (producer.id.expiration.ms): like Kafka, a producer whose last batch's timestamp is older
// than the expiration is forgotten; the sweep runs from `update()` at most once per check interval
// (Kafka's producer.id.expiration.check.interval.ms, 10 minutes), or when storage calls
// `removeExpired()`.

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { ControlType, NOT_A_MARKER, isControl, isTransactional, markerTypeOf, type RecordBatchHeader } from "../protocol/record-batch.ts";
import { assert } from "../util/assert.ts";
import type { AbortedTransaction, ActiveProducer, BatchProducerInfo, ProducerStateManager } from "./types.ts";

/** Kafka's NUM_BATCHES_TO_RETAIN: producers keep at most 5 requests in flight per partition. */
export const producerBatchesRetained = 5;
export const NO_PRODUCER_ID = -1n;
export const NO_SEQUENCE = -1;
const INT32_MAX = 2147483647;
/** Kafka's default producer.id.expiration.check.interval.ms. */
export const producerExpirationCheckIntervalMs = 10 * 60 * 1000;

export interface ProducerBatchMetadata {
  firstSequence: number;
  lastSequence: number;
  baseOffset: bigint;
  lastOffset: bigint;
}

export interface ProducerEntry {
  producerId: bigint;
  epoch: number;
  /** Oldest first; at most `producerBatchesRetained`. */
  batches: ProducerBatchMetadata[];
  /** Max timestamp of the producer's last batch (ms); drives producer.id.expiration.ms. */
  lastTimestampMs: number;
}

export interface ProducerStateOptions {
  /** producer.id.expiration.ms (default Kafka's 1 day). */
  producerIdExpirationMs?: number;
  /** Producers remembered at once; beyond it the least recently written one is forgotten. */
  producersMax?: number;
  /** Wall clock (ms). */
  nowMs?: () => number;
}

/** The sequence `increment` places after `sequence`, wrapping past int32 max to 0 as Kafka does. */
export function incrementSequence(sequence: number, increment: number): number {
  assert(sequence >= 0 && increment >= 0, "sequences and increments are non-negative");
  if (sequence > INT32_MAX - increment) return increment - (INT32_MAX - sequence) - 1;
  return sequence + increment;
}

function inSequence(lastSequence: number, nextSequence: number): boolean {
  return nextSequence === lastSequence + 1 || (nextSequence === 0 && lastSequence === INT32_MAX);
}

export class PartitionProducerState implements ProducerStateManager {
  /** Map order is least recently written first (entries are re-inserted on every update). */
  private readonly producers = new Map<bigint, ProducerEntry>();
  /** Open transactions: producer id → offset of its first batch in the transaction. */
  private readonly ongoing = new Map<bigint, bigint>();
  /** Transactions ended by ABORT, in marker-offset order. */
  private aborted: AbortedTransaction[] = [];
  private readonly expirationMs: number;
  private readonly producersMax: number;
  private readonly nowMs: () => number;
  private lastExpirationCheckMs: number;

  constructor(options: ProducerStateOptions = {}) {
    this.expirationMs = options.producerIdExpirationMs ?? 24 * 60 * 60 * 1000;
    this.producersMax = options.producersMax ?? 1_000_000;
    this.nowMs = options.nowMs ?? Date.now;
    assert(this.expirationMs > 0 && this.producersMax > 0, "producer state limits must be positive");
    this.lastExpirationCheckMs = this.nowMs();
  }

  get size(): number {
    return this.producers.size;
  }

  entry(producerId: bigint): Readonly<ProducerEntry> | undefined {
    return this.producers.get(producerId);
  }

  entries(): IterableIterator<Readonly<ProducerEntry>> {
    return this.producers.values();
  }

  check(batch: BatchProducerInfo): { kind: "append" } | { kind: "duplicate"; baseOffset: bigint; lastOffset: bigint } {
    if (batch.producerId === NO_PRODUCER_ID || batch.isControl) return { kind: "append" };
    if (batch.producerId < 0n) throw new KafkaError(ErrorCode.INVALID_RECORD, `invalid producer id ${batch.producerId}`);
    if (batch.baseSequence < 0) {
      throw new KafkaError(
        ErrorCode.INVALID_RECORD,
        `invalid sequence number ${batch.baseSequence} in a batch of producer ${batch.producerId}`,
      );
    }
    const entry = this.producers.get(batch.producerId);
    if (entry === undefined) return { kind: "append" };

    const lastSequence = incrementSequence(batch.baseSequence, batch.lastOffsetDelta);
    if (batch.producerEpoch === entry.epoch) {
      for (const previous of entry.batches) {
        if (previous.firstSequence === batch.baseSequence && previous.lastSequence === lastSequence) {
          return { kind: "duplicate", baseOffset: previous.baseOffset, lastOffset: previous.lastOffset };
        }
      }
    }
    if (batch.producerEpoch < entry.epoch) {
      throw new KafkaError(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `epoch ${batch.producerEpoch} of producer ${batch.producerId} is older than its current epoch ${entry.epoch}`,
      );
    }
    if (batch.producerEpoch > entry.epoch) {
      if (batch.baseSequence !== 0) {
        throw new KafkaError(
          ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `producer ${batch.producerId}: the first batch of new epoch ${batch.producerEpoch} has sequence ` +
            `${batch.baseSequence}, expected 0 (current epoch ${entry.epoch})`,
        );
      }
      return { kind: "append" };
    }
    const last = entry.batches.at(-1);
    if (last !== undefined && !inSequence(last.lastSequence, batch.baseSequence)) {
      throw new KafkaError(
        ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        `producer ${batch.producerId} epoch ${batch.producerEpoch}: sequence ${batch.baseSequence}, ` +
          `expected ${incrementSequence(last.lastSequence, 1)}`,
      );
    }
    return { kind: "append" };
  }

  update(batch: BatchProducerInfo): void {
    if (batch.producerId < 0n) return;
    assert(batch.baseOffset >= 0n && batch.lastOffsetDelta >= 0, "update needs an appended batch's offsets");
    this.updateTransaction(batch);
    const timestampMs = batch.maxTimestamp >= 0n ? Number(batch.maxTimestamp) : this.nowMs();
    let entry = this.producers.get(batch.producerId);
    if (entry === undefined) {
      entry = { producerId: batch.producerId, epoch: batch.producerEpoch, batches: [], lastTimestampMs: timestampMs };
    } else {
      // Re-insert so that the map stays ordered least recently written first.
      this.producers.delete(batch.producerId);
    }
    this.producers.set(batch.producerId, entry);
    entry.lastTimestampMs = Math.max(entry.lastTimestampMs, timestampMs);
    // A newer epoch starts a fresh sequence space (Kafka's maybeUpdateProducerEpoch). An older
    // epoch is only ever seen while replaying a log that was validated when it was written.
    if (batch.producerEpoch !== entry.epoch) {
      entry.epoch = batch.producerEpoch;
      entry.batches.length = 0;
    }
    // Control batches (transaction markers) carry no data sequence.
    if (!batch.isControl && batch.baseSequence >= 0) {
      entry.batches.push({
        firstSequence: batch.baseSequence,
        lastSequence: incrementSequence(batch.baseSequence, batch.lastOffsetDelta),
        baseOffset: batch.baseOffset,
        lastOffset: batch.baseOffset + BigInt(batch.lastOffsetDelta),
      });
      if (entry.batches.length > producerBatchesRetained) entry.batches.shift();
    }
    assert(entry.batches.length <= producerBatchesRetained, "at most five batches per producer");
    this.enforceLimits();
  }

  /** Opens a transaction at its first data batch; a marker closes it (an ABORT is remembered). */
  private updateTransaction(batch: BatchProducerInfo): void {
    if (!batch.isTransactional) return;
    if (!batch.isControl) {
      if (!this.ongoing.has(batch.producerId)) this.ongoing.set(batch.producerId, batch.baseOffset);
      return;
    }
    const markerType = batch.markerType ?? NOT_A_MARKER;
    if (markerType === NOT_A_MARKER) return;
    const firstOffset = this.ongoing.get(batch.producerId);
    // A marker for a transaction with no data here (the coordinator writes one to every partition it added).
    if (firstOffset === undefined) return;
    this.ongoing.delete(batch.producerId);
    if (markerType === ControlType.abort) {
      assert(this.aborted.length === 0 || this.aborted[this.aborted.length - 1]!.lastOffset < batch.baseOffset, "markers arrive in offset order");
      this.aborted.push({ producerId: batch.producerId, firstOffset, lastOffset: batch.baseOffset });
    }
  }

  firstUnstableOffset(): bigint | null {
    let first: bigint | null = null;
    for (const offset of this.ongoing.values()) if (first === null || offset < first) first = offset;
    return first;
  }

  ongoingTransactions(): ReadonlyMap<bigint, bigint> {
    return this.ongoing;
  }

  activeProducers(): ActiveProducer[] {
    return [...this.producers.values()].map((entry) => ({
      producerId: entry.producerId,
      producerEpoch: entry.epoch,
      lastSequence: entry.batches.at(-1)?.lastSequence ?? -1,
      lastTimestampMs: entry.lastTimestampMs,
      currentTransactionStartOffset: this.ongoing.get(entry.producerId) ?? -1n,
    }));
  }

  /**
   * The aborted transactions with data in [fromOffset, toOffset). The list is in marker (lastOffset)
   * order, so the ones whose marker is below fromOffset are skipped by a binary search: a consumer
   * near the end of the log looks only at the transactions aborted since its position.
   */
  abortedTransactions(fromOffset: bigint, toOffset: bigint): AbortedTransaction[] {
    let low = 0;
    let high = this.aborted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.aborted[middle]!.lastOffset < fromOffset) low = middle + 1;
      else high = middle;
    }
    const found: AbortedTransaction[] = [];
    for (let index = low; index < this.aborted.length; index++) {
      const entry = this.aborted[index]!;
      if (entry.firstOffset < toOffset) found.push(entry);
    }
    return found;
  }

  /** Forgets aborted transactions wholly below the log start offset (their data is gone). */
  removeAbortedBelow(logStartOffset: bigint): void {
    if (this.aborted.length > 0 && this.aborted[0]!.lastOffset < logStartOffset) {
      this.aborted = this.aborted.filter((entry) => entry.lastOffset >= logStartOffset);
    }
  }

  truncateTo(offset: bigint): void {
    for (const [producerId, firstOffset] of this.ongoing) if (firstOffset >= offset) this.ongoing.delete(producerId);
    // An ABORT marker cut away reopens its transaction when some of its data survives.
    while (this.aborted.length > 0 && this.aborted[this.aborted.length - 1]!.lastOffset >= offset) {
      const reopened = this.aborted.pop()!;
      if (reopened.firstOffset < offset) this.ongoing.set(reopened.producerId, reopened.firstOffset);
    }
    for (const [producerId, entry] of this.producers) {
      const kept = entry.batches.filter((batch) => batch.lastOffset < offset);
      if (kept.length === entry.batches.length) continue;
      // With every batch of the producer gone its sequence is unknown: forget it, as Kafka does
      // when it rebuilds the state from the truncated log.
      if (kept.length === 0) this.producers.delete(producerId);
      else entry.batches = kept;
    }
  }

  /** Forget producers whose last batch is older than producer.id.expiration.ms. Returns how many. */
  removeExpired(nowMs: number = this.nowMs()): number {
    this.lastExpirationCheckMs = nowMs;
    let removed = 0;
    for (const [producerId, entry] of this.producers) {
      // A producer with an open transaction stays (its transaction bounds the last stable offset).
      if (nowMs - entry.lastTimestampMs >= this.expirationMs && !this.ongoing.has(producerId)) {
        this.producers.delete(producerId);
        removed++;
      }
    }
    return removed;
  }

  private enforceLimits(): void {
    const nowMs = this.nowMs();
    if (nowMs - this.lastExpirationCheckMs >= producerExpirationCheckIntervalMs) this.removeExpired(nowMs);
    while (this.producers.size > this.producersMax) {
      const oldest = this.producers.keys().next();
      assert(!oldest.done, "a map over its limit has a first key");
      this.producers.delete(oldest.value);
    }
  }

  /** Serialise the whole state (a snapshot taken when the log ends at `endOffset`). */
  encodeSnapshot(endOffset: bigint): Uint8Array {
    return encodeProducerSnapshot(endOffset, this.producers.values(), this.ongoing, this.aborted);
  }

  /** Replace the state with a snapshot's; returns the log end offset the snapshot was taken at. */
  loadSnapshot(bytes: Uint8Array): bigint {
    const snapshot = decodeProducerSnapshot(bytes);
    this.producers.clear();
    for (const entry of snapshot.entries) this.producers.set(entry.producerId, entry);
    this.ongoing.clear();
    for (const [producerId, firstOffset] of snapshot.ongoing) this.ongoing.set(producerId, firstOffset);
    this.aborted = snapshot.aborted;
    return snapshot.endOffset;
  }
}

// Snapshot layout (big-endian), checked by a CRC-32 over everything before it:
//   magic "RNPS" | version u16 = 1 | endOffset i64 | count u32 |
//   count × [ producerId i64 | epoch i16 | lastTimestampMs i64 | batches u8 |
//             batches × [ firstSequence i32 | lastSequence i32 | baseOffset i64 | lastOffset i64 ] ] |
//   (version 2:) ongoing u32 | ongoing × [ producerId i64 | firstOffset i64 ] |
//                aborted u32 | aborted × [ producerId i64 | firstOffset i64 | lastOffset i64 ] |
//   crc32 u32
// Version 1 (before transactions) is still read: it has no transactions.
const SNAPSHOT_MAGIC = 0x524e5053;
const SNAPSHOT_VERSION = 2;
const SNAPSHOT_HEADER_BYTES = 4 + 2 + 8 + 4;
const ENTRY_HEADER_BYTES = 8 + 2 + 8 + 1;
const BATCH_BYTES = 4 + 4 + 8 + 8;

export class ProducerSnapshotError extends Error {
  constructor(message: string) {
    super(`producer state snapshot: ${message}`);
    this.name = "ProducerSnapshotError";
  }
}

export function encodeProducerSnapshot(
  endOffset: bigint,
  entries: Iterable<Readonly<ProducerEntry>>,
  ongoing: ReadonlyMap<bigint, bigint> = new Map(),
  aborted: readonly AbortedTransaction[] = [],
): Uint8Array {
  const list = [...entries];
  let size = SNAPSHOT_HEADER_BYTES + 4 + 4 + ongoing.size * 16 + 4 + aborted.length * 24;
  for (const entry of list) size += ENTRY_HEADER_BYTES + entry.batches.length * BATCH_BYTES;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  let at = 0;
  view.setUint32(at, SNAPSHOT_MAGIC); at += 4;
  view.setUint16(at, SNAPSHOT_VERSION); at += 2;
  view.setBigInt64(at, endOffset); at += 8;
  view.setUint32(at, list.length); at += 4;
  for (const entry of list) {
    view.setBigInt64(at, entry.producerId); at += 8;
    view.setInt16(at, entry.epoch); at += 2;
    view.setBigInt64(at, BigInt(Math.trunc(entry.lastTimestampMs))); at += 8;
    view.setUint8(at, entry.batches.length); at += 1;
    for (const batch of entry.batches) {
      view.setInt32(at, batch.firstSequence); at += 4;
      view.setInt32(at, batch.lastSequence); at += 4;
      view.setBigInt64(at, batch.baseOffset); at += 8;
      view.setBigInt64(at, batch.lastOffset); at += 8;
    }
  }
  view.setUint32(at, ongoing.size); at += 4;
  for (const [producerId, firstOffset] of ongoing) {
    view.setBigInt64(at, producerId); at += 8;
    view.setBigInt64(at, firstOffset); at += 8;
  }
  view.setUint32(at, aborted.length); at += 4;
  for (const entry of aborted) {
    view.setBigInt64(at, entry.producerId); at += 8;
    view.setBigInt64(at, entry.firstOffset); at += 8;
    view.setBigInt64(at, entry.lastOffset); at += 8;
  }
  view.setUint32(at, Bun.hash.crc32(bytes.subarray(0, at)));
  at += 4;
  assert(at === size, "snapshot size computed exactly");
  return bytes;
}

export interface DecodedProducerSnapshot {
  endOffset: bigint;
  entries: ProducerEntry[];
  ongoing: Map<bigint, bigint>;
  aborted: AbortedTransaction[];
}

export function decodeProducerSnapshot(bytes: Uint8Array): DecodedProducerSnapshot {
  if (bytes.length < SNAPSHOT_HEADER_BYTES + 4) throw new ProducerSnapshotError(`too short (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const crcAt = bytes.length - 4;
  if (view.getUint32(crcAt) !== Bun.hash.crc32(bytes.subarray(0, crcAt))) throw new ProducerSnapshotError("CRC mismatch");
  if (view.getUint32(0) !== SNAPSHOT_MAGIC) throw new ProducerSnapshotError("bad magic");
  const version = view.getUint16(4);
  if (version !== 1 && version !== SNAPSHOT_VERSION) throw new ProducerSnapshotError(`unknown version ${version}`);
  const endOffset = view.getBigInt64(6);
  const count = view.getUint32(14);
  let at = SNAPSHOT_HEADER_BYTES;
  const entries: ProducerEntry[] = [];
  for (let index = 0; index < count; index++) {
    if (at + ENTRY_HEADER_BYTES > crcAt) throw new ProducerSnapshotError("truncated entry");
    const producerId = view.getBigInt64(at);
    const epoch = view.getInt16(at + 8);
    const lastTimestampMs = Number(view.getBigInt64(at + 10));
    const batchCount = view.getUint8(at + 18);
    at += ENTRY_HEADER_BYTES;
    if (batchCount > producerBatchesRetained || at + batchCount * BATCH_BYTES > crcAt) {
      throw new ProducerSnapshotError(`bad batch count ${batchCount}`);
    }
    const batches: ProducerBatchMetadata[] = [];
    for (let batch = 0; batch < batchCount; batch++, at += BATCH_BYTES) {
      batches.push({
        firstSequence: view.getInt32(at),
        lastSequence: view.getInt32(at + 4),
        baseOffset: view.getBigInt64(at + 8),
        lastOffset: view.getBigInt64(at + 16),
      });
    }
    entries.push({ producerId, epoch, batches, lastTimestampMs });
  }
  const ongoing = new Map<bigint, bigint>();
  const aborted: AbortedTransaction[] = [];
  if (version >= 2) {
    if (at + 4 > crcAt) throw new ProducerSnapshotError("truncated transactions");
    const ongoingCount = view.getUint32(at); at += 4;
    if (at + ongoingCount * 16 + 4 > crcAt) throw new ProducerSnapshotError(`bad open transaction count ${ongoingCount}`);
    for (let index = 0; index < ongoingCount; index++, at += 16) ongoing.set(view.getBigInt64(at), view.getBigInt64(at + 8));
    const abortedCount = view.getUint32(at); at += 4;
    if (at + abortedCount * 24 > crcAt) throw new ProducerSnapshotError(`bad aborted transaction count ${abortedCount}`);
    for (let index = 0; index < abortedCount; index++, at += 24) {
      aborted.push({ producerId: view.getBigInt64(at), firstOffset: view.getBigInt64(at + 8), lastOffset: view.getBigInt64(at + 16) });
    }
  }
  if (at !== crcAt) throw new ProducerSnapshotError("trailing bytes");
  return { endOffset, entries, ongoing, aborted };
}

/**
 * What the producer state learns from a batch header (and, for a control batch, its marker type
 * from `batch`: the whole batch's bytes).
 */
export function producerInfoOf(header: RecordBatchHeader, batch?: Uint8Array): BatchProducerInfo {
  return {
    markerType: batch !== undefined ? markerTypeOf(batch, header.attributes) : NOT_A_MARKER,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    lastOffsetDelta: header.lastOffsetDelta,
    recordCount: header.recordsCount,
    baseOffset: header.baseOffset,
    maxTimestamp: header.maxTimestamp,
    isTransactional: isTransactional(header.attributes),
    isControl: isControl(header.attributes),
  };
}
