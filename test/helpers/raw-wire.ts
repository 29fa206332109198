// A raw Kafka wire connection for tests that must send what no client would: malformed frames,
// frames cut at every byte, floods of pipelined frames, garbage. Bytes go out exactly as given
// (through a write queue: Bun's writes are partial); whole response frames come back in arrival
// order. Well-formed request/response exchanges use the shared client instead
// (test/helpers/connection.ts → src/client/connection.ts).

import type { Socket } from "bun";
import { FrameReader } from "../../src/client/frame-reader.ts";
import { responseHeaderVersionOf } from "../../src/client/connection.ts";
import type { AnyApi } from "../../src/protocol/api.ts";
import { ResponseHeaderCodec } from "../../src/protocol/generated/index.ts";
import { encodeRequestFrame } from "../../src/protocol/headers.ts";
import { Reader } from "../../src/protocol/primitives.ts";

export function encodeRequest(api: AnyApi, version: number, correlationId: number, body: unknown, clientId = "wire-test"): Uint8Array {
  return encodeRequestFrame(api, version, correlationId, clientId, body);
}

export function decodeResponse(api: AnyApi, version: number, frame: Uint8Array): { correlationId: number; body: any } {
  const reader = new Reader(frame);
  const header = ResponseHeaderCodec.decode(reader, responseHeaderVersionOf(api, version));
  return { correlationId: header.correlationId, body: api.decodeResponse(reader, version) };
}

export interface RawConnectionOptions {
  /** Keep every response frame in `frames` (default true; a fuzz sending millions only counts). */
  keepFrames?: boolean;
}

export class RawConnection {
  /** Response frames (without their size prefix), in arrival order, when keepFrames. */
  readonly frames: Uint8Array[] = [];
  framesReceived = 0;
  lastCorrelationId: number | null = null;
  bytesReceived = 0;
  isClosed = false;
  /** True when the test, not the broker, closed the connection. */
  closedByTest = false;
  private closedResolve!: () => void;
  /** Resolves when the connection is closed (by either side). */
  readonly closed = new Promise<void>((resolve) => (this.closedResolve = resolve));
  private readonly queue: { bytes: Uint8Array; done?: () => void }[] = [];
  private waiters: (() => void)[] = [];
  private readonly idWaiters = new Map<number, (() => void)[]>();
  private readonly reader: FrameReader;

  private constructor(readonly socket: Socket<undefined>, private readonly keepFrames: boolean) {
    this.reader = new FrameReader((frame) => this.onFrame(frame), 1 << 30);
  }

  static async connect(address: string, options: RawConnectionOptions = {}): Promise<RawConnection> {
    const colon = address.lastIndexOf(":");
    let connection!: RawConnection;
    const socket = await Bun.connect<undefined>({
      hostname: address.slice(0, colon),
      port: Number(address.slice(colon + 1)),
      socket: {
        data: (_socket, data) => connection.onData(data),
        drain: () => connection.flush(),
        close: () => connection.onClose(),
        end: () => connection.onClose(),
        error: () => connection.onClose(),
      },
    });
    connection = new RawConnection(socket, options.keepFrames ?? true);
    return connection;
  }

  /** Queues bytes; resolves once the kernel took them all (or the connection closed). */
  send(bytes: Uint8Array): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.queue.push({ bytes, done: resolve });
      this.flush();
    });
  }

  /** Waits until at least `count` frames arrived (or the socket closed). */
  async waitFrames(count: number, timeoutMs = 5000): Promise<Uint8Array[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < count && !this.isClosed) {
      if (Date.now() >= deadline) throw new Error(`timed out waiting for ${count} frames (have ${this.frames.length})`);
      await this.nextEvent(deadline - Date.now());
    }
    return this.frames.slice(0, count);
  }

  /**
   * Resolves when the next response frame with this correlation id arrives (never if none does:
   * race it with `closed` or a timer).
   */
  waitForCorrelationId(correlationId: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const list = this.idWaiters.get(correlationId) ?? [];
      list.push(resolve);
      this.idWaiters.set(correlationId, list);
    });
  }

  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.isClosed && Date.now() < deadline) await this.nextEvent(deadline - Date.now());
    return this.isClosed;
  }

  /** Half-close (FIN): the broker sees the end of our requests. */
  end(): void {
    if (!this.isClosed) this.socket.end();
  }

  close(): void {
    if (!this.isClosed) {
      this.closedByTest = true;
      this.socket.terminate();
    }
    this.onClose();
  }

  private flush(): void {
    while (this.queue.length > 0 && !this.isClosed) {
      const head = this.queue[0]!;
      const written = this.socket.write(head.bytes, 0, head.bytes.length);
      if (written < 0) return;
      if (written < head.bytes.length) {
        head.bytes = head.bytes.subarray(written);
        return;
      }
      this.queue.shift();
      head.done?.();
    }
  }

  private nextEvent(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = timeoutMs === Infinity ? undefined : setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private onData(data: Uint8Array): void {
    this.bytesReceived += data.length;
    this.reader.push(data);
  }

  private onFrame(frame: Uint8Array): void {
    this.framesReceived++;
    if (frame.length >= 4) {
      const correlationId = new DataView(frame.buffer, frame.byteOffset, 4).getInt32(0);
      this.lastCorrelationId = correlationId;
      const waiting = this.idWaiters.get(correlationId);
      if (waiting) {
        this.idWaiters.delete(correlationId);
        for (const resolve of waiting) resolve();
      }
    }
    if (this.keepFrames) this.frames.push(frame);
    this.wake();
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const write of this.queue.splice(0)) write.done?.();
    this.closedResolve();
    this.wake();
  }
}
