// A protocol-level Kafka client for group APIs: one TCP connection, requests framed with the
// generated codecs, responses matched in order (Kafka answers in request order on a connection).
// Used by bench/groups-rebalance.ts and by test/groups/ wire tests. One connection per group
// member: a JoinGroup holds back every later response on its connection until the rebalance ends.

import type { Socket } from "bun";
import type { AnyApi } from "../src/protocol/api.ts";
import { RequestHeaderCodec, ResponseHeaderCodec } from "../src/protocol/generated/index.ts";
import { Reader, Writer } from "../src/protocol/primitives.ts";

interface Pending {
  api: AnyApi;
  version: number;
  resolve: (body: any) => void;
  reject: (error: Error) => void;
}

export class GroupWireClient {
  private buffer = new Uint8Array(0);
  private readonly pending: Pending[] = [];
  private correlationId = 0;
  closed = false;

  private constructor(private socket: Socket<undefined>, readonly clientId: string) {}

  static async connect(address: string, clientId = "groups-client"): Promise<GroupWireClient> {
    const [host, port] = address.split(":");
    let client!: GroupWireClient;
    const socket = await Bun.connect({
      hostname: host!,
      port: Number(port),
      socket: {
        data(_socket, data) { client.onData(data); },
        close() { client.onClose(); },
        error() { client.onClose(); },
      },
    });
    client = new GroupWireClient(socket, clientId);
    return client;
  }

  private onClose(): void {
    this.closed = true;
    for (const waiter of this.pending.splice(0)) waiter.reject(new Error("connection closed"));
  }

  private onData(data: Uint8Array): void {
    const joined = new Uint8Array(this.buffer.length + data.length);
    joined.set(this.buffer);
    joined.set(data, this.buffer.length);
    let position = 0;
    while (joined.length - position >= 4) {
      const size = new DataView(joined.buffer, position).getInt32(0);
      if (joined.length - position - 4 < size) break;
      const frame = joined.subarray(position + 4, position + 4 + size);
      position += 4 + size;
      const waiter = this.pending.shift();
      if (!waiter) continue;
      try {
        const reader = new Reader(frame);
        const headerVersion = waiter.api.apiKey === 18 ? 0 : waiter.version >= waiter.api.flexibleMinVersion ? 1 : 0;
        ResponseHeaderCodec.decode(reader, headerVersion);
        waiter.resolve(waiter.api.decodeResponse(reader, waiter.version));
      } catch (error) {
        waiter.reject(error as Error);
      }
    }
    this.buffer = joined.slice(position);
  }

  /** Sends a request and resolves with the decoded response body. */
  request<Response = any>(api: AnyApi, version: number, body: unknown): Promise<Response> {
    if (this.closed) return Promise.reject(new Error("connection closed"));
    const writer = new Writer();
    const sizeAt = writer.reserveInt32();
    RequestHeaderCodec.encode(writer, version >= api.flexibleMinVersion ? 2 : 1, {
      requestApiKey: api.apiKey,
      requestApiVersion: version,
      correlationId: this.correlationId++,
      clientId: this.clientId,
    });
    api.encodeRequest(writer, version, body as never);
    writer.patchInt32(sizeAt, writer.length - 4);
    const bytes = writer.finish();
    const promise = new Promise<Response>((resolve, reject) => this.pending.push({ api, version, resolve, reject }));
    let offset = 0;
    while (offset < bytes.length) {
      const written = this.socket.write(bytes, offset, bytes.length - offset);
      if (written <= 0) break;
      offset += written;
    }
    if (offset < bytes.length) {
      // Group requests are small; a partial write here means the socket is gone.
      this.socket.end();
      return Promise.reject(new Error("short write"));
    }
    return promise;
  }

  close(): void {
    this.socket.end();
  }

  /** Closes without a goodbye (a crashed member). */
  terminate(): void {
    this.socket.terminate();
  }
}
