// A pipelined Kafka connection for the bench: many requests in flight, responses matched to
// requests in order by correlation id (Kafka answers strictly in order on one connection).

import { assert } from "../../src/util/assert.ts";
import { TcpConnection } from "../lib/tcp.ts";

interface Waiter {
  correlationId: number;
  resolve: (body: Uint8Array) => void;
  reject: (error: Error) => void;
}

/** Cuts size-prefixed frames out of a byte stream, copying only frames that span chunks. */
export class FrameCutter {
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  constructor(private readonly onFrame: (frame: Uint8Array) => void, private readonly frameBytesMax = 256 * 1024 * 1024) {}

  push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.buffered < 4) return;
      const size = this.peekSize();
      if (size < 0 || size > this.frameBytesMax) throw new Error(`bad response frame size ${size}`);
      if (this.buffered < 4 + size) return;
      this.onFrame(this.take(4 + size).subarray(4));
    }
  }

  private peekSize(): number {
    const head = this.chunks[0]!;
    if (head.length >= 4) return new DataView(head.buffer, head.byteOffset, 4).getInt32(0);
    const four = this.copy(4);
    return new DataView(four.buffer).getInt32(0);
  }

  private copy(count: number): Uint8Array {
    const out = new Uint8Array(count);
    let filled = 0;
    for (const chunk of this.chunks) {
      const take = Math.min(chunk.length, count - filled);
      out.set(chunk.subarray(0, take), filled);
      filled += take;
      if (filled === count) break;
    }
    return out;
  }

  /** Removes and returns the first `count` buffered bytes. */
  private take(count: number): Uint8Array {
    const head = this.chunks[0]!;
    let out: Uint8Array;
    if (head.length >= count) {
      out = head.subarray(0, count);
      if (head.length === count) this.chunks.shift();
      else this.chunks[0] = head.subarray(count);
    } else {
      out = this.copy(count);
      let remaining = count;
      while (remaining > 0) {
        const first = this.chunks[0]!;
        if (first.length <= remaining) {
          remaining -= first.length;
          this.chunks.shift();
        } else {
          this.chunks[0] = first.subarray(remaining);
          remaining = 0;
        }
      }
    }
    this.buffered -= count;
    return out;
  }
}

export class KafkaConnection {
  private tcp: TcpConnection | null = null;
  private readonly waiters: Waiter[] = [];
  private nextCorrelationId = 1;
  /** Bytes of responses received (frames included). */
  bytesIn = 0;

  get inFlight(): number {
    return this.waiters.length;
  }

  static async open(host: string, port: number): Promise<KafkaConnection> {
    const connection = new KafkaConnection();
    const cutter = new FrameCutter((frame) => connection.onFrame(frame));
    connection.tcp = await TcpConnection.open(
      host,
      port,
      (chunk) => {
        connection.bytesIn += chunk.length;
        // Bun reuses the chunk's memory after the callback: keep a copy only if we must.
        cutter.push(new Uint8Array(chunk));
      },
      () => connection.failAll(new Error("connection closed by the broker")),
    );
    return connection;
  }

  correlationId(): number {
    const id = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fffffff;
    return id;
  }

  /** Sends a frame built with `correlationId`; resolves with the response body after the header. */
  request(frame: Uint8Array, correlationId: number): Promise<Uint8Array> {
    assert(this.tcp !== null, "request before open");
    return new Promise((resolve, reject) => {
      this.waiters.push({ correlationId, resolve, reject });
      try {
        this.tcp!.write(frame);
      } catch (error) {
        this.waiters.pop();
        reject(error as Error);
      }
    });
  }

  /** Sends a frame that gets no response (Produce with acks=0). */
  send(frame: Uint8Array): void {
    assert(this.tcp !== null, "send before open");
    this.tcp.write(frame);
  }

  queuedBytes(): number {
    return this.tcp?.queuedBytes() ?? 0;
  }

  waitQueueBelow(bytesMax: number): Promise<void> {
    return this.tcp?.waitQueueBelow(bytesMax) ?? Promise.resolve();
  }

  close(): void {
    this.tcp?.close();
    this.failAll(new Error("connection closed"));
  }

  private onFrame(frame: Uint8Array): void {
    const waiter = this.waiters.shift();
    if (!waiter) throw new Error("response without a request");
    const correlationId = new DataView(frame.buffer, frame.byteOffset, 4).getInt32(0);
    if (correlationId !== waiter.correlationId) {
      waiter.reject(new Error(`correlation id ${correlationId}, expected ${waiter.correlationId}`));
      return;
    }
    waiter.resolve(frame.subarray(4));
  }

  private failAll(error: Error): void {
    const waiters = this.waiters.splice(0);
    for (const waiter of waiters) waiter.reject(error);
  }
}
