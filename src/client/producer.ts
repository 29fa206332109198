// A Kafka producer: records are batched per partition (a batch closes at batchBytesMax or after
// lingerMs), built as RecordBatch v2 (src/protocol/record-batch.ts: keys, headers, timestamps,
// compression), and sent to each partition's leader, one Produce request per leader carrying the
// head batch of each of its ready partitions.
//
//   const producer = new Producer(client, { acks: -1, compression: CompressionType.lz4 });
//   const { partition, offset } = await producer.send({ topic: "orders", key: "k", value: "v" });
//   await producer.close();   // flushes first
//
// Ordering: at most one batch per partition is in flight, so a retried batch can never be
// overtaken by the next one (Kafka's max.in.flight.requests.per.connection=1 guarantee, per
// partition; other partitions of the same broker are not held up). Retriable errors
// (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, a dropped connection…) refresh metadata and
// resend the same bytes until deliveryTimeoutMs. With `idempotent`, InitProducerId gives a
// producer id and each batch carries a per-partition sequence, so a resend after a lost
// response is not appended twice.

import { CompressionType } from "../protocol/compression.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { InitProducerIdApi } from "../protocol/generated/init-producer-id.ts";
import { ProduceApi, type ProduceResponse } from "../protocol/generated/produce.ts";
import { buildRecordBatch, type RecordInput } from "../protocol/record-batch.ts";
import { assert } from "../util/assert.ts";
import type { KafkaClient } from "./client.ts";
import { ConnectionError, DeadlineError, isRetriable, isRetriableCode, responseError } from "./errors.ts";
import { partitionForKey, StickyPartitioner } from "./partitioner.ts";

export interface ProducerOptions {
  /** 0: no answer; 1: the leader wrote it; -1 (Kafka's "all", the default): every in-sync replica. */
  acks?: 0 | 1 | -1;
  /** A CompressionType code (default none). */
  compression?: number;
  /** Exactly-once appends per partition across retries (InitProducerId + sequence numbers). */
  idempotent?: boolean;
  /** Kafka's linger.ms (default 5, as Kafka 4). */
  lingerMs?: number;
  /** Kafka's batch.size (default 16 KiB). */
  batchBytesMax?: number;
  /** Kafka's max.request.size: a larger record is refused here (default 1 MiB). */
  recordBytesMax?: number;
  /** Kafka's buffer.memory: `writable()` waits while more than this is unacknowledged (default 32 MiB). */
  bufferBytesMax?: number;
  /** Kafka's delivery.timeout.ms: a record not acknowledged by then fails (default 120 s). */
  deliveryTimeoutMs?: number;
  /** The Produce request's timeoutMs (how long the broker may wait for acks=all). */
  requestTimeoutMs?: number;
  /** Ask for topic auto-creation in Metadata (default true, as Kafka's producer). */
  allowAutoTopicCreation?: boolean;
}

export type RecordValue = Uint8Array | string | null;

export interface ProducerRecord {
  topic: string;
  /** Default: by key (murmur2, as Kafka), else sticky. */
  partition?: number;
  key?: RecordValue;
  value: RecordValue;
  headers?: readonly { key: string; value: RecordValue }[];
  /** Milliseconds since the epoch (default: now). */
  timestamp?: number | bigint;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** -1 with acks=0 (nobody tells). */
  offset: bigint;
  /** The broker's time under LogAppendTime, else the record's own. */
  timestamp: bigint;
}

interface Pending {
  record: RecordInput;
  timestamp: bigint;
  /** Bytes counted against bufferBytesMax. */
  size: number;
  resolve(metadata: RecordMetadata): void;
  reject(error: Error): void;
}

interface Batch {
  readonly topic: string;
  readonly partition: number;
  readonly pending: Pending[];
  bytes: number;
  readonly deadline: number;
  /** May be sent (full, lingered long enough, or flushed); records still join until it is built. */
  ready: boolean;
  /** Built once, then resent as is (the same sequence numbers). */
  built: Uint8Array | null;
}

interface PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  readonly batches: Batch[];
  inFlight: boolean;
  /** Do not resend before (backoff after a retriable error). */
  retryAt: number;
  nextSequence: number;
  backoffMs: number;
}

const encoder = new TextEncoder();

function byteLength(value: RecordValue | undefined): number {
  if (value === undefined || value === null) return 0;
  return typeof value === "string" ? encoder.encode(value).length : value.length;
}

function recordSize(record: ProducerRecord): number {
  let size = 21 + byteLength(record.key) + byteLength(record.value);
  for (const header of record.headers ?? []) size += 2 + header.key.length + byteLength(header.value);
  return size;
}

export class Producer {
  readonly options: Readonly<Required<ProducerOptions>>;
  private readonly queues = new Map<string, PartitionQueue>();
  private readonly sticky = new StickyPartitioner();
  /** Records whose topic metadata is being fetched, in send order, per topic. */
  private readonly awaitingMetadata = new Map<string, { record: ProducerRecord; pending: Pending; size: number }[]>();
  private buffered = 0;
  private unacknowledged = 0;
  private idleWaiters: (() => void)[] = [];
  private capacityWaiters: (() => void)[] = [];
  private drainScheduled = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private producerId = -1n;
  private producerEpoch = -1;
  private producerIdPromise: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly client: KafkaClient, options: ProducerOptions = {}) {
    this.options = {
      acks: options.acks ?? -1,
      compression: options.compression ?? CompressionType.none,
      idempotent: options.idempotent ?? false,
      lingerMs: options.lingerMs ?? 5,
      batchBytesMax: options.batchBytesMax ?? 16 * 1024,
      recordBytesMax: options.recordBytesMax ?? 1024 * 1024,
      bufferBytesMax: options.bufferBytesMax ?? 32 * 1024 * 1024,
      deliveryTimeoutMs: options.deliveryTimeoutMs ?? 120_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      allowAutoTopicCreation: options.allowAutoTopicCreation ?? true,
    };
    assert(!this.options.idempotent || this.options.acks === -1, "an idempotent producer needs acks=-1 (all), as in Kafka");
  }

  /** Bytes of records sent and not yet acknowledged. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Queues a record; resolves when it is acknowledged (or fails for good). */
  send(record: ProducerRecord): Promise<RecordMetadata> {
    if (this.closed) return Promise.reject(new Error("the producer is closed"));
    const size = recordSize(record);
    if (size > this.options.recordBytesMax) {
      return Promise.reject(new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, `a record of ~${size} bytes exceeds recordBytesMax ${this.options.recordBytesMax}`));
    }
    return new Promise<RecordMetadata>((resolve, reject) => {
      const timestamp = BigInt(record.timestamp ?? Date.now());
      const pending: Pending = {
        record: { key: record.key ?? null, value: record.value, headers: record.headers, timestamp },
        timestamp, size, resolve, reject,
      };
      this.buffered += size;
      this.unacknowledged++;
      const waiting = this.awaitingMetadata.get(record.topic);
      if (waiting) waiting.push({ record, pending, size });
      else if (this.client.metadata.topic(record.topic)) this.append(record, pending, size);
      else this.fetchTopic(record.topic, [{ record, pending, size }]);
    });
  }

  /** Resolves when fewer than bufferBytesMax bytes wait for acknowledgement (backpressure). */
  async writable(): Promise<void> {
    while (this.buffered > this.options.bufferBytesMax && !this.closed) {
      await new Promise<void>((resolve) => this.capacityWaiters.push(resolve));
    }
  }

  /** Sends everything now (no linger) and resolves once every record sent so far is settled. */
  async flush(): Promise<void> {
    for (const queue of this.queues.values()) for (const batch of queue.batches) batch.ready = true;
    this.scheduleDrain();
    while (this.unacknowledged > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Flushes, then refuses further records. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  // ---------------------------------------------------------------------------- intake

  private fetchTopic(topic: string, first: { record: ProducerRecord; pending: Pending; size: number }[]): void {
    this.awaitingMetadata.set(topic, first);
    const fetched = this.client.retry(`metadata of ${topic}`, () => this.client.topicMetadata(topic, {
      allowAutoTopicCreation: this.options.allowAutoTopicCreation, refresh: true,
    }), { timeoutMs: this.options.deliveryTimeoutMs });
    fetched.then(
      () => {
        const waiting = this.awaitingMetadata.get(topic) ?? [];
        this.awaitingMetadata.delete(topic);
        for (const entry of waiting) this.append(entry.record, entry.pending, entry.size);
      },
      (error: Error) => {
        const waiting = this.awaitingMetadata.get(topic) ?? [];
        this.awaitingMetadata.delete(topic);
        for (const entry of waiting) this.settle(entry.pending, () => entry.pending.reject(error));
      },
    );
  }

  private append(record: ProducerRecord, pending: Pending, size: number): void {
    const topic = this.client.metadata.topic(record.topic);
    const count = topic?.partitions.length ?? 0;
    const partition = this.choosePartition(record, count);
    if (partition < 0 || partition >= count) {
      const error = new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${record.topic} has no partition ${record.partition ?? partition}`);
      this.settle(pending, () => pending.reject(error));
      return;
    }
    const queue = this.queueOf(record.topic, partition);
    let batch = queue.batches.at(-1);
    if (!batch || batch.built || (batch.bytes + size > this.options.batchBytesMax && batch.pending.length > 0)) {
      if (batch && !batch.built) this.markReady(batch);
      batch = { topic: record.topic, partition, pending: [], bytes: 0, deadline: performance.now() + this.options.deliveryTimeoutMs, ready: false, built: null };
      queue.batches.push(batch);
      this.startLinger(batch);
    }
    batch.pending.push(pending);
    batch.bytes += size;
    if (batch.bytes >= this.options.batchBytesMax) {
      this.markReady(batch);
      this.sticky.batchClosed(batch.topic, batch.partition, count);
    }
  }

  private choosePartition(record: ProducerRecord, count: number): number {
    if (record.partition !== undefined) return record.partition;
    if (count === 0) return -1;
    if (record.key !== undefined && record.key !== null) {
      return partitionForKey(typeof record.key === "string" ? encoder.encode(record.key) : record.key, count);
    }
    return this.sticky.partition(record.topic, count);
  }

  private queueOf(topic: string, partition: number): PartitionQueue {
    const key = `${topic}\u0000${partition}`;
    let queue = this.queues.get(key);
    if (!queue) {
      queue = { topic, partition, batches: [], inFlight: false, retryAt: 0, nextSequence: 0, backoffMs: this.client.options.retryBackoffMs };
      this.queues.set(key, queue);
    }
    return queue;
  }

  private startLinger(batch: Batch): void {
    if (this.options.lingerMs <= 0) {
      this.markReady(batch);
      return;
    }
    const timer = setTimeout(() => this.markReady(batch), this.options.lingerMs);
    timer.unref?.();
  }

  private markReady(batch: Batch): void {
    if (batch.ready) return;
    batch.ready = true;
    this.scheduleDrain();
  }

  private settle(pending: Pending, action: () => void): void {
    this.buffered -= pending.size;
    this.unacknowledged--;
    action();
    if (this.buffered <= this.options.bufferBytesMax) for (const wake of this.capacityWaiters.splice(0)) wake();
    if (this.unacknowledged === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  // ---------------------------------------------------------------------------- sending

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    queueMicrotask(() => {
      this.drainScheduled = false;
      void this.drain();
    });
  }

  /** Sends the head batch of every ready, idle partition, grouped by leader. */
  private async drain(): Promise<void> {
    const now = performance.now();
    const byLeader = new Map<number, Batch[]>();
    let nextRetry = Infinity;
    for (const queue of this.queues.values()) {
      const head = queue.batches[0];
      if (!head || !head.ready || queue.inFlight) continue;
      if (queue.retryAt > now) {
        nextRetry = Math.min(nextRetry, queue.retryAt);
        continue;
      }
      if (this.expire(queue, head, now)) continue;
      const leader = this.client.metadata.leaderOf(queue.topic, queue.partition);
      const list = byLeader.get(leader) ?? [];
      list.push(head);
      byLeader.set(leader, list);
      queue.inFlight = true;
    }
    if (nextRetry < Infinity) this.scheduleRetry(nextRetry - now);
    if (byLeader.size === 0) return;
    if (this.options.idempotent) {
      try {
        await this.ensureProducerId();
      } catch (error) {
        for (const batches of byLeader.values()) this.failAll(batches, error as Error);
        return;
      }
    }
    for (const [leader, batches] of byLeader) void this.sendToLeader(leader, batches);
  }

  private expire(queue: PartitionQueue, head: Batch, now: number): boolean {
    if (now < head.deadline) return false;
    queue.batches.shift();
    const error = new DeadlineError(`${head.topic}-${head.partition}: not acknowledged within deliveryTimeoutMs ${this.options.deliveryTimeoutMs}`, null);
    this.rejectBatch(head, error);
    this.scheduleDrain();
    return true;
  }

  private scheduleRetry(delayMs: number): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.scheduleDrain();
    }, Math.max(1, delayMs));
  }

  private async ensureProducerId(): Promise<void> {
    if (this.producerId >= 0n) return;
    this.producerIdPromise ??= this.client.retry("InitProducerId", async () => {
      const connection = await this.client.anyConnection();
      const response = await connection.request(InitProducerIdApi, { transactionalId: null, transactionTimeoutMs: 60_000 });
      if (response.errorCode !== ErrorCode.NONE) throw responseError(response.errorCode, "InitProducerId");
      this.producerId = response.producerId;
      this.producerEpoch = response.producerEpoch;
    }).finally(() => {
      this.producerIdPromise = null;
    });
    await this.producerIdPromise;
  }

  private build(batch: Batch): Uint8Array {
    if (batch.built) return batch.built;
    const queue = this.queueOf(batch.topic, batch.partition);
    // Keyless records move on to another partition once this one's batch leaves (sticky).
    this.sticky.batchClosed(batch.topic, batch.partition, this.client.metadata.topic(batch.topic)?.partitions.length ?? 1);
    const idempotent = this.options.idempotent;
    batch.built = buildRecordBatch({
      records: batch.pending.map((pending) => pending.record),
      compression: this.options.compression,
      producerId: idempotent ? this.producerId : -1n,
      producerEpoch: idempotent ? this.producerEpoch : -1,
      baseSequence: idempotent ? queue.nextSequence : -1,
    });
    if (idempotent) queue.nextSequence = (queue.nextSequence + batch.pending.length) & 0x7fffffff;
    return batch.built;
  }

  private async sendToLeader(leader: number, batches: Batch[]): Promise<void> {
    let response: ProduceResponse | null;
    try {
      if (leader < 0) throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, "no leader known");
      const connection = await this.client.connectionToNode(leader);
      const topics = new Map<string, { index: number; records: Uint8Array }[]>();
      for (const batch of batches) {
        const list = topics.get(batch.topic) ?? [];
        list.push({ index: batch.partition, records: this.build(batch) });
        topics.set(batch.topic, list);
      }
      const body = {
        transactionalId: null,
        acks: this.options.acks,
        timeoutMs: this.options.requestTimeoutMs,
        topicData: [...topics].map(([name, partitionData]) => ({ name, partitionData })),
      };
      const version = connection.versionFor(ProduceApi, 3);
      if (this.options.acks === 0) {
        await connection.send(ProduceApi, body, { version });
        response = null;
      } else {
        response = await connection.request(ProduceApi, body, { version, timeoutMs: this.options.requestTimeoutMs + this.client.options.requestTimeoutMs });
      }
    } catch (error) {
      for (const batch of batches) this.onBatchError(batch, error as Error);
      this.scheduleDrain();
      return;
    }
    for (const batch of batches) this.onBatchAnswered(batch, response);
    this.scheduleDrain();
  }

  private onBatchAnswered(batch: Batch, response: ProduceResponse | null): void {
    if (response === null) {
      this.completeBatch(batch, -1n, -1n);
      return;
    }
    const answer = response.responses.find((topic) => topic.name === batch.topic)
      ?.partitionResponses.find((partition) => partition.index === batch.partition);
    if (!answer) {
      this.onBatchError(batch, new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `no answer for ${batch.topic}-${batch.partition}`));
      return;
    }
    if (answer.errorCode === ErrorCode.NONE || answer.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
      this.completeBatch(batch, answer.baseOffset, answer.logAppendTimeMs);
      return;
    }
    const detail = answer.errorMessage ?? answer.recordErrors.map((entry) => `record ${entry.batchIndex}: ${entry.batchIndexErrorMessage}`).join("; ");
    this.onBatchError(batch, responseError(answer.errorCode, `Produce to ${batch.topic}-${batch.partition}`, detail || null));
  }

  private completeBatch(batch: Batch, baseOffset: bigint, logAppendTime: bigint): void {
    const queue = this.queueOf(batch.topic, batch.partition);
    assert(queue.batches[0] === batch, "the acknowledged batch is its partition's head");
    queue.batches.shift();
    queue.inFlight = false;
    queue.backoffMs = this.client.options.retryBackoffMs;
    batch.pending.forEach((pending, index) => {
      const metadata: RecordMetadata = {
        topic: batch.topic,
        partition: batch.partition,
        offset: baseOffset >= 0n ? baseOffset + BigInt(index) : -1n,
        timestamp: logAppendTime >= 0n ? logAppendTime : pending.timestamp,
      };
      this.settle(pending, () => pending.resolve(metadata));
    });
  }

  private onBatchError(batch: Batch, error: Error): void {
    const queue = this.queueOf(batch.topic, batch.partition);
    queue.inFlight = false;
    const retriable = isRetriable(error) || (error instanceof KafkaError && isRetriableCode(error.code));
    if (retriable && performance.now() < batch.deadline) {
      this.client.noteRetriable(error);
      if (error instanceof ConnectionError || (error instanceof KafkaError && error.code !== ErrorCode.NONE)) this.refreshSoon(batch.topic);
      queue.retryAt = performance.now() + queue.backoffMs;
      queue.backoffMs = Math.min(queue.backoffMs * 2, this.client.options.retryBackoffMaxMs);
      return;
    }
    assert(queue.batches[0] === batch, "the failed batch is its partition's head");
    queue.batches.shift();
    if (this.options.idempotent) this.resetProducerId();
    this.rejectBatch(batch, error);
  }

  /** After a failed sequence the broker would refuse the next one: start over with a new id. */
  private resetProducerId(): void {
    this.producerId = -1n;
    this.producerEpoch = -1;
    for (const queue of this.queues.values()) {
      queue.nextSequence = 0;
      for (const batch of queue.batches) if (!queue.inFlight || batch !== queue.batches[0]) batch.built = null;
    }
  }

  private refreshSoon(topic: string): void {
    void this.client.refreshMetadata([topic]).catch(() => {});
  }

  private failAll(batches: Batch[], error: Error): void {
    for (const batch of batches) this.onBatchError(batch, error);
    this.scheduleDrain();
  }

  private rejectBatch(batch: Batch, error: Error): void {
    for (const pending of batch.pending) {
      this.settle(pending, () => pending.reject(error));
    }
  }
}
