// A minimal Kafka wire client for tests: one TCP connection, a write queue (Bun does not buffer
// writes), frames parsed from the stream, responses matched in order and decoded with the
// generated codecs. Also used raw: `send` arbitrary bytes and wait for the broker to close.

import type { Socket } from "bun";
import type { AnyApi } from "../../src/protocol/api.ts";
import { decodeResponseHeader, encodeRequestFrame } from "../../src/protocol/headers.ts";
import { Reader } from "../../src/protocol/primitives.ts";
import { batchHeaderBytes, crcStartByte } from "../../src/testing/record-batches.ts";
import { crc32cSoftware } from "../../src/native/fallback.ts";

interface Pending {
  api: AnyApi;
  version: number;
  correlationId: number;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class WireConnection {
  private socket!: Socket<undefined>;
  private readonly queue: Uint8Array[] = [];
  private input = new Uint8Array(0);
  private readonly pending: Pending[] = [];
  private nextCorrelationId = 1;
  private closedResolve!: () => void;
  /** Resolves when the connection is closed (by either side). */
  readonly closed = new Promise<void>((resolve) => (this.closedResolve = resolve));
  isClosed = false;
  bytesReceived = 0;

  static async open(host: string, port: number): Promise<WireConnection> {
    const connection = new WireConnection();
    connection.socket = await Bun.connect({
      hostname: host,
      port,
      socket: {
        data: (_socket, data) => connection.onData(data),
        drain: () => connection.flush(),
        close: () => connection.onClose(new Error("connection closed")),
        error: (_socket, error) => connection.onClose(error),
        end: () => connection.onClose(new Error("connection ended by the broker")),
      },
    });
    return connection;
  }

  /** Queue raw bytes. */
  send(bytes: Uint8Array): void {
    if (this.isClosed) return;
    this.queue.push(bytes);
    this.flush();
  }

  private flush(): void {
    while (this.queue.length > 0 && !this.isClosed) {
      const head = this.queue[0]!;
      const written = this.socket.write(head, 0, head.length);
      if (written < 0) return;
      if (written < head.length) {
        this.queue[0] = head.subarray(written);
        return;
      }
      this.queue.shift();
    }
  }

  /** Send one request and wait for its decoded response body. */
  request<Response = any>(api: AnyApi, version: number, body: unknown, timeoutMs = 15000): Promise<Response> {
    const correlationId = this.nextCorrelationId++;
    const frame = encodeRequestFrame(api, version, correlationId, "runnel-test", body);
    return new Promise<Response>((resolve, reject) => {
      if (this.isClosed) {
        reject(new Error("connection closed"));
        return;
      }
      const timer = setTimeout(() => reject(new Error(`${api.name} v${version}: no response in ${timeoutMs} ms`)), timeoutMs);
      this.pending.push({ api, version, correlationId, resolve: resolve as (value: unknown) => void, reject, timer });
      this.send(frame);
    });
  }

  private onData(data: Uint8Array): void {
    this.bytesReceived += data.length;
    if (this.pending.length === 0) {
      this.countRawFrames(data);
      return;
    }
    const joined = new Uint8Array(this.input.length + data.length);
    joined.set(this.input);
    joined.set(data, this.input.length);
    this.input = joined;
    while (this.input.length >= 4) {
      const size = new DataView(this.input.buffer, this.input.byteOffset).getInt32(0);
      if (this.input.length < 4 + size) break;
      const frame = this.input.slice(4, 4 + size);
      this.input = this.input.slice(4 + size);
      const waiting = this.pending.shift();
      if (!waiting) continue;
      clearTimeout(waiting.timer);
      try {
        const reader = new Reader(frame);
        const header = decodeResponseHeader(reader, waiting.api.apiKey, waiting.version);
        if (header.correlationId !== waiting.correlationId) {
          throw new Error(`correlation id ${header.correlationId}, expected ${waiting.correlationId}`);
        }
        waiting.resolve(waiting.api.decodeResponse(reader, waiting.version));
      } catch (error) {
        waiting.reject(error as Error);
      }
    }
  }

  /** Raw use: whole response frames received, and the correlation id of the last one. */
  framesReceived = 0;
  lastCorrelationId: number | null = null;
  private frameSeen: ((correlationId: number) => void) | null = null;

  /** Resolves when a response frame with this correlation id arrives. */
  waitForCorrelationId(correlationId: number): Promise<void> {
    return new Promise((resolve) => {
      this.frameSeen = (seen) => {
        if (seen === correlationId) resolve();
      };
    });
  }

  private countRawFrames(data: Uint8Array): void {
    const joined = new Uint8Array(this.input.length + data.length);
    joined.set(this.input);
    joined.set(data, this.input.length);
    let at = 0;
    const view = new DataView(joined.buffer);
    while (at + 8 <= joined.length) {
      const size = view.getInt32(at);
      if (at + 4 + size > joined.length) break;
      const correlationId = view.getInt32(at + 4);
      at += 4 + size;
      this.framesReceived++;
      this.lastCorrelationId = correlationId;
      this.frameSeen?.(correlationId);
    }
    this.input = joined.slice(at);
  }

  private onClose(error: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const waiting of this.pending.splice(0)) {
      clearTimeout(waiting.timer);
      waiting.reject(error);
    }
    this.closedResolve();
  }

  /** Half-close (FIN): the broker sees the end of our requests. */
  end(): void {
    if (!this.isClosed) this.socket.end();
  }

  /** True when the test, not the broker, closed the connection. */
  closedByTest = false;

  close(): void {
    if (!this.isClosed) {
      this.closedByTest = true;
      this.socket.terminate();
    }
    this.onClose(new Error("closed by the test"));
  }
}

/** Kafka's compression codec ids (batch attributes bits 0-2). */
export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

/**
 * Re-encodes an uncompressed batch (as built by src/testing/record-batches.ts) with its records
 * section replaced by `compressedRecords` and the codec bits set; CRC recomputed.
 */
export function withRecordsSection(batch: Uint8Array, codec: number, recordsSection: Uint8Array): Uint8Array {
  const out = new Uint8Array(batchHeaderBytes + recordsSection.length);
  out.set(batch.subarray(0, batchHeaderBytes));
  out.set(recordsSection, batchHeaderBytes);
  const view = new DataView(out.buffer);
  view.setInt32(8, out.length - 12);
  view.setInt16(21, (view.getInt16(21) & ~7) | codec);
  view.setUint32(17, crc32cSoftware(out.subarray(crcStartByte)));
  return out;
}

/** A gzip-compressed copy of an uncompressed batch. */
export function gzipBatch(batch: Uint8Array): Uint8Array {
  return withRecordsSection(batch, Compression.gzip, Bun.gzipSync(batch.slice(batchHeaderBytes)));
}

/** Splits a Fetch response's records bytes into whole batches (a trailing partial batch is dropped). */
export function splitBatches(records: Uint8Array | null): Uint8Array[] {
  const batches: Uint8Array[] = [];
  if (!records) return batches;
  let at = 0;
  while (at + 12 <= records.length) {
    const size = new DataView(records.buffer, records.byteOffset + at).getInt32(8) + 12;
    if (at + size > records.length) break;
    batches.push(records.subarray(at, at + size));
    at += size;
  }
  return batches;
}
