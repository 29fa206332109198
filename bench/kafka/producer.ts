// The bench's pipelined Kafka-protocol producer. It batches records the way Kafka clients do
// (a batch closes when it holds `batchRecords` records or when it is `lingerMs` old), sends
// one RecordBatch per Produce request, keeps up to `inFlightMax` requests outstanding per
// connection, and spreads batches over partitions (sticky per batch) and connections.
//
// Two ways to drive it:
//  - open loop (OpenLoopTarget): records arrive on the schedule; latency from intended time;
//  - flood: as many batches as the in-flight window allows, for the highest throughput
//    (closed loop — its latencies are NOT reported, only its rate).
//
// `mode: "sink"` sends the very same frames to the frame-ack TCP sink (bench/floors) and
// treats its 8-byte answers as acknowledgements: the transport-only ceiling.

import { assert } from "../../src/util/assert.ts";
import type { OpenLoopRecorder, OpenLoopTarget } from "../lib/open-loop.ts";
import { nowMs } from "../lib/open-loop.ts";
import type { Crc32c } from "./crc32c.ts";
import { KafkaConnection } from "../../src/client/connection.ts";
import { decodeProduceResponse, produceFrame } from "./wire.ts";
import { floodLoop } from "../lib/window.ts";
import type { CompressionName } from "./wire.ts";

export interface ProducerOptions {
  host: string;
  port: number;
  topic: string;
  partitions: number;
  connections: number;
  valueBytes: number;
  batchRecords: number;
  lingerMs: number;
  acks: 0 | 1 | -1;
  compression: CompressionName;
  produceVersion: number;
  inFlightMax: number;
  mode: "kafka" | "sink";
  crc32c: Crc32c;
}

interface Batch {
  first: number;
  count: number;
}

export function randomPayload(bytes: number): Uint8Array {
  const payload = new Uint8Array(bytes);
  for (let offset = 0; offset < bytes; offset += 65536) crypto.getRandomValues(payload.subarray(offset, Math.min(bytes, offset + 65536)));
  return payload;
}

export class BenchProducer implements OpenLoopTarget {
  private readonly connections: KafkaConnection[] = [];
  private readonly waiting: Batch[] = [];
  private open: Batch | null = null;
  private openedAtMs = 0;
  private outstanding = 0;
  private nextPartition = 0;
  private nextConnection = 0;
  private readonly payload: Uint8Array;
  private settleWaiters: Array<() => void> = [];
  recorder: OpenLoopRecorder | null = null;
  bytesAcked = 0;
  recordsAcked = 0;
  errors = new Map<number, number>();
  lastError: Error | null = null;

  private constructor(readonly options: ProducerOptions) {
    assert(options.batchRecords >= 1 && options.partitions >= 1 && options.connections >= 1, "bad producer options");
    this.payload = randomPayload(options.valueBytes);
  }

  static async open(options: ProducerOptions): Promise<BenchProducer> {
    const producer = new BenchProducer(options);
    for (let index = 0; index < options.connections; index++) {
      // The sink answers only Produce frames: no ApiVersions exchange with it.
      producer.connections.push(await KafkaConnection.connect({
        host: options.host, port: options.port, clientId: "runnel-bench", negotiateVersions: options.mode === "kafka",
      }));
    }
    return producer;
  }

  close(): void {
    for (const connection of this.connections) connection.close();
  }

  // ---- OpenLoopTarget ----

  send(first: number, count: number, now: number): void {
    let next = first;
    const end = first + count;
    while (next < end) {
      if (this.open === null) {
        this.open = { first: next, count: 0 };
        this.openedAtMs = now;
      }
      const take = Math.min(end - next, this.options.batchRecords - this.open.count);
      this.open.count += take;
      next += take;
      this.outstanding += take;
      if (this.open.count === this.options.batchRecords) this.closeBatch();
    }
    this.pump();
  }

  tick(now: number): void {
    if (this.open !== null && now - this.openedAtMs >= this.options.lingerMs) this.closeBatch();
    this.pump();
  }

  backlog(): number {
    return this.outstanding;
  }

  settle(timeoutMs: number): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.settleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  // ---- flood (closed loop) ----

  /** Keeps every connection's window full for `durationMs`; returns acknowledged bytes/s and records/s. */
  async flood(durationMs: number, warmupMs: number): Promise<{ bytesPerSecond: number; recordsPerSecond: number; requests: number }> {
    let index = 0;
    let stop = false;
    let measuring = false;
    let measuredBytes = 0;
    let measuredRecords = 0;
    let requests = 0;
    const onAcked = (records: number, bytes: number) => {
      if (!measuring) return;
      measuredBytes += bytes;
      measuredRecords += records;
      requests += 1;
    };
    const loops = this.connections.map((connection) =>
      floodLoop(this.options.inFlightMax, () => stop, () => {
        const batch = { first: index, count: this.options.batchRecords };
        index += batch.count;
        return this.sendBatch(connection, batch, onAcked);
      }).catch(() => {
        stop = true; // lastError says why; reported below.
      }),
    );
    await Bun.sleep(warmupMs);
    measuring = true;
    const started = nowMs();
    await Bun.sleep(durationMs);
    measuring = false;
    const seconds = (nowMs() - started) / 1000;
    stop = true;
    await Promise.all(loops);
    if (this.lastError) throw this.lastError;
    return { bytesPerSecond: measuredBytes / seconds, recordsPerSecond: measuredRecords / seconds, requests };
  }

  /** Produces `records` records as fast as the window allows (to fill a log before a fetch test). */
  async produceCount(records: number): Promise<void> {
    let index = 0;
    await Promise.all(
      this.connections.map((connection) =>
        floodLoop(this.options.inFlightMax, () => index >= records, () => {
          // Several connections share `index`: another may have taken the last records.
          const batch = { first: index, count: Math.min(this.options.batchRecords, records - index) };
          if (batch.count <= 0) return Promise.resolve();
          index += batch.count;
          return this.sendBatch(connection, batch, () => {});
        }),
      ),
    );
    if (this.lastError) throw this.lastError;
  }

  // ---- internals ----

  private closeBatch(): void {
    assert(this.open !== null && this.open.count > 0, "closing an empty batch");
    this.waiting.push(this.open);
    this.open = null;
  }

  private pump(): void {
    while (this.waiting.length > 0) {
      const connection = this.pickConnection();
      if (connection === null) return;
      const batch = this.waiting.shift()!;
      void this.sendBatch(connection, batch, (records) => {
        this.outstanding -= records;
        this.recorder?.ack(batch.first, batch.count, nowMs());
        this.afterAck();
      }).catch(() => {
        this.outstanding -= batch.count;
        this.recorder?.fail(batch.first, batch.count);
        this.afterAck();
      });
    }
  }

  private afterAck(): void {
    this.pump();
    if (this.outstanding === 0) {
      const waiters = this.settleWaiters.splice(0);
      for (const wake of waiters) wake();
    }
  }

  private pickConnection(): KafkaConnection | null {
    for (let tried = 0; tried < this.connections.length; tried++) {
      const connection = this.connections[this.nextConnection]!;
      this.nextConnection = (this.nextConnection + 1) % this.connections.length;
      if (connection.inFlight < this.options.inFlightMax) return connection;
    }
    return null;
  }

  /** Builds, sends and awaits one batch; calls `onAcked(records, batchBytes)` on success. */
  private async sendBatch(connection: KafkaConnection, batch: Batch, onAcked: (records: number, bytes: number) => void): Promise<void> {
    const options = this.options;
    const partition = this.nextPartition;
    this.nextPartition = (this.nextPartition + 1) % options.partitions;
    const correlationId = connection.nextCorrelationId();
    const spec = { valueBytes: options.valueBytes, firstIndex: batch.first, count: batch.count, timestampMs: Date.now(), compression: options.compression };
    const frame = produceFrame(options.produceVersion, correlationId, "runnel-bench", options.acks, 30_000, options.topic, partition, spec, this.payload, options.crc32c);
    const records = { length: frame.length };
    if (options.acks === 0 && options.mode === "kafka") {
      // No response: the record is "acknowledged" once the kernel took it (up to 1 MiB may wait
      // in the connection's queue, so the window stays full).
      connection.sendEncoded(frame, correlationId, { expectResponse: false }).catch(() => {});
      await connection.waitQueueBelow(1024 * 1024);
      if (connection.isClosed) throw new Error("connection closed");
      onAcked(batch.count, records.length);
      return;
    }
    try {
      const body = await connection.sendEncoded(frame, correlationId);
      if (options.mode === "kafka") {
        for (const result of decodeProduceResponse(options.produceVersion, body)) {
          if (result.errorCode !== 0) {
            this.errors.set(result.errorCode, (this.errors.get(result.errorCode) ?? 0) + 1);
            throw new Error(`produce error code ${result.errorCode} on partition ${result.partition}`);
          }
        }
      }
      this.recordsAcked += batch.count;
      this.bytesAcked += records.length;
      onAcked(batch.count, records.length);
    } catch (error) {
      this.lastError = error as Error;
      throw error;
    }
  }
}
