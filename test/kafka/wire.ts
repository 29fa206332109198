// A raw Kafka-protocol test client: frames requests with the generated codecs, collects response
// frames in arrival order, and notices when the broker closes the connection.

import type { Socket } from "bun";
import type { AnyApi } from "../../src/protocol/api.ts";
import { RequestHeaderCodec, ResponseHeaderCodec } from "../../src/protocol/generated/index.ts";
import { Reader, Writer } from "../../src/protocol/primitives.ts";

export function encodeRequest(api: AnyApi, version: number, correlationId: number, body: unknown, clientId = "wire-test"): Uint8Array {
  const writer = new Writer();
  const sizeAt = writer.reserveInt32();
  RequestHeaderCodec.encode(writer, version >= api.flexibleMinVersion ? 2 : 1, {
    requestApiKey: api.apiKey, requestApiVersion: version, correlationId, clientId,
  });
  api.encodeRequest(writer, version, body as never);
  writer.patchInt32(sizeAt, writer.length - 4);
  return writer.finish();
}

export function decodeResponse(api: AnyApi, version: number, frame: Uint8Array): { correlationId: number; body: any } {
  const reader = new Reader(frame);
  const headerVersion = api.apiKey === 18 ? 0 : version >= api.flexibleMinVersion ? 1 : 0;
  const header = ResponseHeaderCodec.decode(reader, headerVersion);
  return { correlationId: header.correlationId, body: api.decodeResponse(reader, version) };
}

export class WireClient {
  private buffer = new Uint8Array(0);
  readonly frames: Uint8Array[] = [];
  closed = false;
  private waiters: (() => void)[] = [];
  private constructor(public socket: Socket<undefined>) {}

  static async connect(address: string): Promise<WireClient> {
    const [host, port] = address.split(":");
    let client!: WireClient;
    const socket = await Bun.connect({
      hostname: host!, port: Number(port),
      socket: {
        data(_socket, data) { client.onData(data); },
        close() { client.closed = true; client.wake(); },
        error() { client.closed = true; client.wake(); },
      },
    });
    client = new WireClient(socket);
    return client;
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private onData(data: Uint8Array): void {
    const joined = new Uint8Array(this.buffer.length + data.length);
    joined.set(this.buffer);
    joined.set(data, this.buffer.length);
    let position = 0;
    while (joined.length - position >= 4) {
      const size = new DataView(joined.buffer, position).getInt32(0);
      if (joined.length - position - 4 < size) break;
      this.frames.push(joined.slice(position + 4, position + 4 + size));
      position += 4 + size;
    }
    this.buffer = joined.slice(position);
    this.wake();
  }

  /** Write everything (loops over partial writes). */
  async send(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      const written = this.socket.write(bytes, offset, bytes.length - offset);
      if (written < 0 || this.closed) throw new Error("socket closed");
      offset += written;
      if (offset < bytes.length) await Bun.sleep(1);
    }
  }

  /** Wait until at least `count` frames arrived (or the socket closed). */
  async waitFrames(count: number, timeoutMs = 5000): Promise<Uint8Array[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < count && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${count} frames (have ${this.frames.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
    return this.frames.slice(0, count);
  }

  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
    return this.closed;
  }

  close(): void {
    this.socket.end();
  }
}
