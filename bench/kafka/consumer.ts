// The bench's Kafka-protocol consumer (Fetch v4, one connection):
//  - follow mode: long-polls every partition from offset 0 and reports each record's bench
//    index (from its value) as it arrives — end-to-end latency;
//  - drain mode: reads partitions from offset 0 to given end offsets as fast as it can —
//    fetch throughput from a caught-up log. Only batch headers are parsed (records stay
//    bytes, as a broker-side measurement should); bytes counted are RecordBatch bytes.

import { assert } from "../../src/util/assert.ts";
import { nowMs } from "../lib/open-loop.ts";
import { KafkaConnection } from "../../src/client/connection.ts";
import { decodeFetchResponseV4, fetchRequestV4, walkBatches } from "./wire.ts";

export interface ConsumerOptions {
  host: string;
  port: number;
  topic: string;
  partitions: number;
  /** The partitions this consumer reads (default: all), as one member of a group would. */
  assigned?: readonly number[];
  partitionMaxBytes: number;
  responseMaxBytes: number;
  maxWaitMs: number;
}

export class BenchConsumer {
  private stopped = false;
  private connection: KafkaConnection | null = null;
  readonly offsets: bigint[];
  bytes = 0;
  records = 0;
  highWatermarks: bigint[];

  constructor(readonly options: ConsumerOptions) {
    this.offsets = new Array<bigint>(options.partitions).fill(0n);
    this.highWatermarks = new Array<bigint>(options.partitions).fill(0n);
  }

  async open(): Promise<void> {
    this.connection = await KafkaConnection.connect({ host: this.options.host, port: this.options.port, clientId: "runnel-bench" });
  }

  stop(): void {
    this.stopped = true;
  }

  close(): void {
    this.stopped = true;
    this.connection?.close();
  }

  /** One Fetch of the given partitions at their current offsets; advances the offsets. */
  async fetchOnce(partitions: readonly number[], onValueIndex?: (index: number) => void): Promise<void> {
    const connection = this.connection;
    assert(connection !== null, "fetch before open");
    const correlationId = connection.nextCorrelationId();
    const request = partitions.map((partition) => ({ partition, offset: this.offsets[partition]!, maxBytes: this.options.partitionMaxBytes }));
    const frame = fetchRequestV4(correlationId, "runnel-bench", this.options.topic, request, this.options.maxWaitMs, 1, this.options.responseMaxBytes);
    const results = decodeFetchResponseV4(await connection.sendEncoded(frame, correlationId, { timeoutMs: this.options.maxWaitMs + 30_000 }));
    for (const result of results) {
      if (result.errorCode !== 0) throw new Error(`fetch error code ${result.errorCode} on partition ${result.partition}`);
      this.highWatermarks[result.partition] = result.highWatermark;
      if (!result.records || result.records.length === 0) continue;
      walkBatches(
        result.records,
        (batch) => {
          const next = batch.baseOffset + BigInt(batch.lastOffsetDelta) + 1n;
          if (next > this.offsets[result.partition]!) this.offsets[result.partition] = next;
          this.bytes += batch.bytes;
          this.records += batch.recordCount;
        },
        onValueIndex,
      );
    }
  }

  assigned(): readonly number[] {
    return this.options.assigned ?? Array.from({ length: this.options.partitions }, (_, partition) => partition);
  }

  /** Moves every partition's offset to its high watermark (one probing Fetch). */
  async seekToEnd(): Promise<void> {
    await this.fetchOnce(this.assigned());
    for (const partition of this.assigned()) this.offsets[partition] = this.highWatermarks[partition]!;
  }

  /** Follows all partitions until stopped, reporting (index, time seen) for every record. */
  async follow(onRecord: (index: number, nowMs: number) => void): Promise<void> {
    const all = this.assigned();
    while (!this.stopped) {
      try {
        await this.fetchOnce(all, (index) => onRecord(index, nowMs()));
      } catch (error) {
        if (this.stopped) return;
        throw error;
      }
    }
  }

  /** Reads every partition up to `endOffsets`; resolves with bytes/s and records/s. */
  async drain(endOffsets: readonly bigint[], inFlightPartitions = 4): Promise<{ bytesPerSecond: number; recordsPerSecond: number; seconds: number }> {
    const started = nowMs();
    const startBytes = this.bytes;
    const startRecords = this.records;
    const pending = Array.from({ length: this.options.partitions }, (_, partition) => partition).filter((partition) => this.offsets[partition]! < endOffsets[partition]!);
    // Up to `inFlightPartitions` partitions fetched concurrently, each with one fetch in flight
    // (a partition's next offset is known only from its previous response).
    const worker = async () => {
      while (pending.length > 0) {
        const partition = pending.shift()!;
        while (this.offsets[partition]! < endOffsets[partition]!) await this.fetchOnce([partition]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(inFlightPartitions, pending.length) }, worker));
    const seconds = (nowMs() - started) / 1000;
    return { bytesPerSecond: (this.bytes - startBytes) / seconds, recordsPerSecond: (this.records - startRecords) / seconds, seconds };
  }
}
