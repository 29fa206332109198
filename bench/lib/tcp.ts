// A client TCP connection with its own write queue: Bun's socket.write takes only what the
// kernel accepts and fires `drain` later, so unsent bytes are kept here, in order.

import type { Socket } from "bun";
import { assert } from "../../src/util/assert.ts";

export class TcpConnection {
  private socket: Socket<undefined> | null = null;
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private drainWaiters: Array<() => void> = [];
  closed = false;
  error: Error | null = null;

  private constructor(private readonly onData: (chunk: Buffer) => void) {}

  static async open(host: string, port: number, onData: (chunk: Buffer) => void, onClose?: () => void): Promise<TcpConnection> {
    const connection = new TcpConnection(onData);
    connection.socket = await Bun.connect<undefined>({
      hostname: host,
      port,
      socket: {
        data: (_socket, chunk) => connection.onData(chunk),
        drain: () => connection.flush(),
        close: () => {
          connection.closed = true;
          connection.wakeDrainWaiters();
          onClose?.();
        },
        error: (_socket, error) => {
          connection.error = error;
        },
      },
    });
    connection.socket.setNoDelay(true);
    return connection;
  }

  /** Queues bytes; the caller must not modify them afterwards. */
  write(bytes: Uint8Array): void {
    assert(this.socket !== null, "write before open");
    if (this.closed) throw new Error("connection closed");
    if (this.queue.length === 0) {
      const written = this.socket.write(bytes, 0, bytes.length);
      if (written === bytes.length) return;
      bytes = bytes.subarray(Math.max(0, written));
    }
    this.queue.push(bytes);
    this.queued += bytes.length;
  }

  queuedBytes(): number {
    return this.queued;
  }

  /** Resolves when the queue is below `bytesMax` (or the connection closed). */
  async waitQueueBelow(bytesMax: number): Promise<void> {
    while (this.queued > bytesMax && !this.closed) {
      await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    }
  }

  close(): void {
    this.socket?.end();
    this.closed = true;
  }

  private flush(): void {
    assert(this.socket !== null, "drain before open");
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const written = this.socket.write(head, 0, head.length);
      if (written < head.length) {
        this.queue[0] = head.subarray(Math.max(0, written));
        this.queued -= Math.max(0, written);
        break;
      }
      this.queue.shift();
      this.queued -= head.length;
    }
    this.wakeDrainWaiters();
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }
}

/** Collects bytes until `count` arrived; used for small fixed-size replies. */
export class ByteCounter {
  received = 0;
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  add(bytes: number): void {
    this.received += bytes;
    this.waiters = this.waiters.filter((waiter) => {
      if (this.received < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }

  until(count: number): Promise<void> {
    if (this.received >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}
