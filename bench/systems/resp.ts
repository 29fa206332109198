// A minimal pipelined RESP2 connection for driving Redis as fast as redis-benchmark does:
// commands are encoded straight into bytes, queued, and written together once per event-loop
// turn (setImmediate: after the current burst of sends, microtasks included) (so a burst of sends becomes one socket write, like redis-benchmark's `-P`), and replies
// are matched to commands in order. Bun's built-in RedisClient measured about half of
// redis-benchmark's XADD rate on this machine (see bench/README.md), so the bench uses this.
//
// Only what the bench needs: arbitrary commands with string/byte arguments, and replies of the
// simple kinds (+status, -error, :integer, $bulk); arrays are not parsed (the bench does not
// send commands that return them on this connection).

import type { Socket } from "bun";
import { assert } from "../../src/util/assert.ts";

const encoder = new TextEncoder();
const encodedCacheMax = 64; // distinct string arguments kept encoded (command names, stream names)

export type RespArg = string | Uint8Array;
export type RespDone = (ok: boolean, reply: string) => void;

export class RespConnection {
  private socket: Socket<undefined> | null = null;
  private readonly queue: RespDone[] = [];
  private queueHead = 0;
  private out = new Uint8Array(256 * 1024); // commands queued since the last flush
  private outLength = 0;
  private outPending: Uint8Array | null = null; // bytes the socket did not take yet (a copy)
  private readonly encodedCache = new Map<string, Uint8Array>();
  private flushScheduled = false;
  private inBuffer: Uint8Array = new Uint8Array(0);
  private closed = false;

  static async open(host: string, port: number): Promise<RespConnection> {
    const connection = new RespConnection();
    connection.socket = await Bun.connect<undefined>({
      hostname: host,
      port,
      socket: {
        data: (_socket, chunk) => connection.onData(chunk),
        drain: () => connection.writePending(),
        close: () => connection.onClose("connection closed"),
        error: (_socket, error) => connection.onClose(String(error)),
      },
    });
    return connection;
  }

  get outstanding(): number {
    return this.queue.length - this.queueHead;
  }

  /**
   * Queues one command; `done` runs when its reply arrives (in order). The arguments are copied
   * into the output buffer at once, so the caller may reuse its byte arrays right away.
   */
  send(args: readonly RespArg[], done: RespDone): void {
    assert(!this.closed, "RESP connection is closed");
    this.writeHeader(42 /* * */, args.length);
    for (const arg of args) {
      const bytes = typeof arg === "string" ? this.encoded(arg) : arg;
      this.writeHeader(36 /* $ */, bytes.length);
      this.reserve(bytes.length + 2);
      this.out.set(bytes, this.outLength);
      this.out[this.outLength + bytes.length] = 13;
      this.out[this.outLength + bytes.length + 1] = 10;
      this.outLength += bytes.length + 2;
    }
    this.queue.push(done);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  command(args: readonly RespArg[]): Promise<string> {
    return new Promise((resolve, reject) => this.send(args, (ok, reply) => (ok ? resolve(reply) : reject(new Error(reply)))));
  }

  close(): void {
    this.socket?.end();
    this.onClose("closed by the bench");
  }

  private encoded(text: string): Uint8Array {
    let bytes = this.encodedCache.get(text);
    if (bytes === undefined) {
      bytes = encoder.encode(text);
      if (this.encodedCache.size < encodedCacheMax) this.encodedCache.set(text, bytes);
    }
    return bytes;
  }

  private reserve(bytes: number): void {
    if (this.outLength + bytes <= this.out.length) return;
    const grown = new Uint8Array(Math.max(this.out.length * 2, this.outLength + bytes));
    grown.set(this.out.subarray(0, this.outLength));
    this.out = grown;
  }

  /** `<kind><decimal>\r\n` in ASCII. */
  private writeHeader(kind: number, value: number): void {
    this.reserve(24);
    const out = this.out;
    out[this.outLength++] = kind;
    const digits = String(value);
    for (let index = 0; index < digits.length; index++) out[this.outLength++] = digits.charCodeAt(index);
    out[this.outLength++] = 13;
    out[this.outLength++] = 10;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.outLength === 0 || this.socket === null) return;
    const fresh = this.out.subarray(0, this.outLength);
    if (this.outPending === null) {
      const written = this.socket.write(fresh);
      if (written < fresh.length) this.outPending = fresh.slice(Math.max(0, written));
    } else {
      const joined = new Uint8Array(this.outPending.length + fresh.length);
      joined.set(this.outPending, 0);
      joined.set(fresh, this.outPending.length);
      this.outPending = joined;
      this.writePending();
    }
    this.outLength = 0;
  }

  private writePending(): void {
    if (this.outPending === null || this.socket === null) return;
    const written = this.socket.write(this.outPending);
    this.outPending = written >= this.outPending.length ? null : this.outPending.subarray(Math.max(0, written));
  }

  private onData(chunk: Uint8Array): void {
    let buffer = chunk;
    if (this.inBuffer.length > 0) {
      buffer = new Uint8Array(this.inBuffer.length + chunk.length);
      buffer.set(this.inBuffer, 0);
      buffer.set(chunk, this.inBuffer.length);
    }
    let position = 0;
    for (;;) {
      const lineEnd = buffer.indexOf(10, position);
      if (lineEnd < 0) break;
      const kind = buffer[position]!;
      const line = Buffer.from(buffer.buffer, buffer.byteOffset + position + 1, lineEnd - position - 2).toString("latin1");
      let next = lineEnd + 1;
      let ok = true;
      let reply = line;
      if (kind === 36 /* $ */) {
        const length = Number(line);
        if (length >= 0) {
          if (next + length + 2 > buffer.length) break; // bulk body not complete yet
          reply = Buffer.from(buffer.buffer, buffer.byteOffset + next, length).toString("latin1");
          next += length + 2;
        }
      } else if (kind === 45 /* - */) {
        ok = false;
      } else {
        assert(kind === 43 || kind === 58, `unsupported RESP reply type ${String.fromCharCode(kind)}`);
      }
      position = next;
      const done = this.queue[this.queueHead];
      assert(done !== undefined, "RESP reply without a command");
      this.queue[this.queueHead] = undefined as unknown as RespDone;
      this.queueHead += 1;
      if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
      done(ok, reply);
    }
    this.inBuffer = position >= buffer.length ? new Uint8Array(0) : buffer.slice(position);
  }

  private onClose(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    const waiting = this.queue.slice(this.queueHead);
    this.queue.length = 0;
    this.queueHead = 0;
    for (const done of waiting) done(false, reason);
  }
}
