// A pipelined Kafka connection for the bench: many requests in flight, responses matched to
// requests in order by correlation id (Kafka answers strictly in order on one connection).

import { assert } from "../../src/util/assert.ts";
import { TcpConnection } from "../lib/tcp.ts";

interface Waiter {
  correlationId: number;
  sentMs: number;
  resolve: (body: Uint8Array) => void;
  reject: (error: Error) => void;
}

/**
 * Cuts size-prefixed frames out of a byte stream. Each frame is copied exactly once, into a
 * buffer of its own size allocated when its size prefix arrives; nothing keeps a reference to
 * the incoming chunks (the socket may reuse their memory).
 */
export class FrameCutter {
  private readonly sizeBytes = new Uint8Array(4);
  private sizeFill = 0;
  private frame: Uint8Array | null = null;
  private frameFill = 0;

  constructor(private readonly onFrame: (frame: Uint8Array) => void, private readonly frameBytesMax = 256 * 1024 * 1024) {}

  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.frame === null) {
        const take = Math.min(4 - this.sizeFill, chunk.length - offset);
        this.sizeBytes.set(chunk.subarray(offset, offset + take), this.sizeFill);
        this.sizeFill += take;
        offset += take;
        if (this.sizeFill < 4) return;
        const size = new DataView(this.sizeBytes.buffer).getInt32(0);
        if (size < 0 || size > this.frameBytesMax) throw new Error(`bad response frame size ${size}`);
        this.sizeFill = 0;
        this.frame = new Uint8Array(size);
        this.frameFill = 0;
      }
      const take = Math.min(this.frame.length - this.frameFill, chunk.length - offset);
      this.frame.set(chunk.subarray(offset, offset + take), this.frameFill);
      this.frameFill += take;
      offset += take;
      if (this.frameFill === this.frame.length) {
        const frame = this.frame;
        this.frame = null;
        this.onFrame(frame);
      }
    }
  }
}

/** A response older than this means the broker is stuck: the connection is failed, so no run hangs. */
export const responseTimeoutMs = 30_000;

export class KafkaConnection {
  private tcp: TcpConnection | null = null;
  private readonly waiters: Waiter[] = [];
  private nextCorrelationId = 1;
  private watchdog: ReturnType<typeof setInterval> | null = null;
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
        cutter.push(chunk);
      },
      () => connection.failAll(new Error("connection closed by the broker")),
    );
    // One timer per connection (not per request) checks the oldest outstanding request.
    connection.watchdog = setInterval(() => {
      const oldest = connection.waiters[0];
      if (oldest && performance.now() - oldest.sentMs > responseTimeoutMs) {
        connection.close(new Error(`no response from the broker for ${responseTimeoutMs / 1000} s`));
      }
    }, 1000);
    connection.watchdog.unref();
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
      this.waiters.push({ correlationId, sentMs: performance.now(), resolve, reject });
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

  close(reason = new Error("connection closed")): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.tcp?.close();
    this.failAll(reason);
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
