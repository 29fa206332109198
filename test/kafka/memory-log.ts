// A minimal in-memory LogManager for in-process tests of the Kafka layer alone (framing, ordering,
// backpressure, handler logic) — NOT a substitute for storage: the compat tests run the real
// broker process with the real partition log. Checks only what the Kafka layer relies on.

import type { TopicConfig } from "../../src/config/index.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import type { AppendResult, LogManager, PartitionLog, ReadResult, TimestampOffset } from "../../src/storage/types.ts";

interface StoredBatch {
  baseOffset: bigint;
  lastOffset: bigint;
  maxTimestamp: bigint;
  bytes: Uint8Array;
}

class MemoryPartitionLog implements PartitionLog {
  logStartOffset = 0n;
  logEndOffset = 0n;
  private readonly batches: StoredBatch[] = [];
  private waiters: { offset: bigint; resolve: () => void }[] = [];
  /** Views handed out and not released yet (tests assert this returns to 0). */
  outstandingReads = 0;

  constructor(readonly topic: string, readonly partition: number) {}

  /** Set by the replica layer, as on the real log. */
  highWatermark = 0n;

  get lastStableOffset(): bigint {
    return this.highWatermark;
  }

  abortedTransactions(): [] {
    return [];
  }

  activeProducers(): [] {
    return [];
  }

  hasOngoingTransaction(): boolean {
    return false;
  }

  /** Nothing here is ever on a disk; as far as the replica layer asks, everything is. */
  get recoveryPoint(): bigint {
    return this.logEndOffset;
  }

  epochEntries(): { epoch: number; startOffset: bigint }[] {
    return [];
  }

  updateHighWatermark(offset: bigint): bigint {
    this.highWatermark = offset < this.logStartOffset ? this.logStartOffset : offset > this.logEndOffset ? this.logEndOffset : offset;
    return this.highWatermark;
  }

  get sizeBytes(): number {
    return this.batches.reduce((sum, batch) => sum + batch.bytes.length, 0);
  }

  async append(input: Uint8Array): Promise<AppendResult> {
    const parsed: StoredBatch[] = [];
    let position = 0;
    let next = this.logEndOffset;
    while (position < input.length) {
      if (input.length - position < 61) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, "truncated batch");
      const view = new DataView(input.buffer, input.byteOffset + position);
      const length = view.getInt32(8) + 12;
      if (length < 61 || position + length > input.length || view.getInt8(16) !== 2) {
        throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, "bad batch");
      }
      const bytes = input.slice(position, position + length);
      const stamped = new DataView(bytes.buffer);
      const lastDelta = stamped.getInt32(23);
      stamped.setBigInt64(0, next);
      parsed.push({ baseOffset: next, lastOffset: next + BigInt(lastDelta), maxTimestamp: stamped.getBigInt64(35), bytes });
      next += BigInt(lastDelta) + 1n;
      position += length;
    }
    const baseOffset = this.logEndOffset;
    this.batches.push(...parsed);
    this.logEndOffset = next;
    const ready = this.waiters.filter((waiter) => this.logEndOffset > waiter.offset);
    this.waiters = this.waiters.filter((waiter) => this.logEndOffset <= waiter.offset);
    for (const waiter of ready) waiter.resolve();
    return { baseOffset, lastOffset: next - 1n, logAppendTimeMs: -1n, logStartOffset: this.logStartOffset, durable: Promise.resolve(), duplicate: false };
  }

  read(offset: bigint, maxBytes: number, maxOffset = this.logEndOffset): ReadResult {
    if (offset < this.logStartOffset || offset > this.logEndOffset) throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE);
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    for (const batch of this.batches) {
      if (batch.lastOffset < offset) continue;
      if (batch.lastOffset >= maxOffset) break;
      if (chunks.length > 0 && bytes + batch.bytes.length > maxBytes) break;
      chunks.push(batch.bytes);
      bytes += batch.bytes.length;
    }
    this.outstandingReads++;
    let released = false;
    return {
      chunks, bytes, highWatermark: this.highWatermark, logStartOffset: this.logStartOffset, logEndOffset: this.logEndOffset,
      release: () => {
        if (!released) this.outstandingReads--;
        released = true;
      },
    };
  }

  offsetForTimestamp(timestampMs: bigint): TimestampOffset | null {
    const batch = this.batches.find((candidate) => candidate.maxTimestamp >= timestampMs);
    return batch ? { offset: batch.baseOffset, timestamp: batch.maxTimestamp } : null;
  }

  maxTimestampOffset(): TimestampOffset | null {
    let best: StoredBatch | undefined;
    for (const batch of this.batches) if (!best || batch.maxTimestamp > best.maxTimestamp) best = batch;
    return best ? { offset: best.lastOffset, timestamp: best.maxTimestamp } : null;
  }

  // Leader epochs: this double has a single epoch, 0, from offset 0 (the Kafka layer's tests need
  // no more; storage's own tests cover the real cache).
  readonly latestEpoch = 0;
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: bigint } {
    return epoch === 0 ? { epoch: 0, endOffset: this.logEndOffset } : { epoch: -1, endOffset: -1n };
  }
  epochForOffset(): number {
    return 0;
  }
  assignEpochStartOffset(): void {}
  appendAsFollower(): Promise<AppendResult> {
    throw new Error("the in-memory log does not replicate");
  }

  async truncateTo(): Promise<void> {}
  async truncateFullyAndStartAt(): Promise<void> {}
  async deleteRecordsBefore(offset: bigint): Promise<bigint> {
    this.logStartOffset = offset;
    return offset;
  }
  updateConfig(_config: TopicConfig): void {}

  waitForAppend(offset: bigint, signal: AbortSignal): Promise<void> {
    if (this.logEndOffset > offset || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = { offset, resolve };
      this.waiters.push(waiter);
      signal.addEventListener("abort", () => {
        this.waiters = this.waiters.filter((other) => other !== waiter);
        resolve();
      }, { once: true });
    });
  }

  onAppend(offset: bigint, wake: () => void): () => void {
    if (this.logEndOffset > offset) {
      wake();
      return () => {};
    }
    const waiter = { offset, resolve: wake };
    this.waiters.push(waiter);
    return () => {
      this.waiters = this.waiters.filter((other) => other !== waiter);
    };
  }

  /** Waiters registered and not yet woken or cancelled (tests assert this returns to 0). */
  get waiterCount(): number {
    return this.waiters.length;
  }

  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

export class MemoryLogManager implements LogManager {
  readonly logs = new Map<string, MemoryPartitionLog>();
  async open(): Promise<void> {}
  get(topic: string, partition: number): MemoryPartitionLog | undefined {
    return this.logs.get(`${topic}-${partition}`);
  }
  async create(topic: string, partition: number): Promise<PartitionLog> {
    const key = `${topic}-${partition}`;
    let log = this.logs.get(key);
    if (!log) this.logs.set(key, (log = new MemoryPartitionLog(topic, partition)));
    return log;
  }
  async delete(topic: string, partition: number): Promise<void> {
    this.logs.delete(`${topic}-${partition}`);
  }
  all(): Iterable<PartitionLog> {
    return this.logs.values();
  }
  unclaimed(): [] {
    return [];
  }
  async close(): Promise<void> {}
}
