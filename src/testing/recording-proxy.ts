// A recording TCP proxy for tests and fixture capture (test-only: never imported by the broker).
//
//   client ──▶ proxy (127.0.0.1:ephemeral) ──▶ broker
//          ◀──                              ◀──
//
// Bytes are forwarded unchanged in both directions. The client→broker stream is also cut into
// Kafka request frames (int32 size, then header and body) and each frame is kept with the fields
// every request header version shares: api key, api version, correlation id and client id. Those
// are read by hand here, not with the generated codecs, so that the fixtures captured with this
// proxy can test those codecs independently.
//
// A broker advertises its own address in Metadata, and clients connect there after bootstrap,
// bypassing a proxy. The proxy therefore listens first (its port is known before the broker
// starts) and takes its target later: start the broker with
// `advertised.listeners=PLAINTEXT://127.0.0.1:<proxy.port>` and call `proxy.setTarget(...)`.

import type { Socket, TCPSocketListener } from "bun";
import { assert } from "../util/assert.ts";

export interface RecordedRequest {
  /** Proxy connection number, from 1, in accept order. */
  connection: number;
  /** Position of this frame in its connection, from 0. */
  indexInConnection: number;
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  /** The whole frame WITHOUT its int32 size prefix: request header, then body. */
  frame: Uint8Array;
}

export interface RecordingProxyOptions {
  host?: string;
  /** Port to listen on; 0 (default) picks an ephemeral one. */
  port?: number;
  target?: { host: string; port: number };
  /** Frames larger than this stop recording on that connection (bytes are still forwarded). */
  frameBytesMax?: number;
  /** Bytes queued towards one side before the other side's reads are paused. */
  queuedBytesMax?: number;
}

const frameBytesMaxDefault = 16 * 1024 * 1024;
const queuedBytesMaxDefault = 4 * 1024 * 1024;
const requestHeaderBytesMin = 10; // api key, api version, correlation id, client id length

/** One direction's pending writes. Bun does not buffer socket writes, so we keep our own queue. */
class WriteQueue {
  private readonly chunks: Uint8Array[] = [];
  queuedBytes = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.queuedBytes += chunk.length;
  }

  /** Writes as much as the socket takes; returns true when the queue is empty. */
  flush(socket: Socket<unknown>): boolean {
    while (this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const written = socket.write(chunk, 0, chunk.length);
      if (written <= 0) return false;
      this.queuedBytes -= written;
      assert(this.queuedBytes >= 0, "queued bytes went negative");
      if (written < chunk.length) {
        this.chunks[0] = chunk.subarray(written);
        return false;
      }
      this.chunks.shift();
    }
    return true;
  }
}

/** Cuts a byte stream into size-prefixed frames. */
class FrameCutter {
  private buffer = new Uint8Array(0);
  /** Set when the stream stopped looking like Kafka frames; recording stops, forwarding goes on. */
  broken: string | null = null;

  constructor(private readonly frameBytesMax: number) {}

  push(bytes: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    if (this.broken) return;
    const joined = new Uint8Array(this.buffer.length + bytes.length);
    joined.set(this.buffer, 0);
    joined.set(bytes, this.buffer.length);
    let at = 0;
    while (joined.length - at >= 4) {
      const size = new DataView(joined.buffer, joined.byteOffset + at, 4).getInt32(0);
      if (size < requestHeaderBytesMin || size > this.frameBytesMax) {
        this.broken = `frame size ${size} out of range`;
        this.buffer = new Uint8Array(0);
        return;
      }
      if (joined.length - at - 4 < size) break;
      onFrame(joined.slice(at + 4, at + 4 + size));
      at += 4 + size;
    }
    this.buffer = joined.slice(at);
  }
}

/** Reads the fields common to request header v1 and v2; null if the frame is too short. */
export function peekRequestHeader(frame: Uint8Array): Pick<RecordedRequest, "apiKey" | "apiVersion" | "correlationId" | "clientId"> | null {
  if (frame.length < requestHeaderBytesMin) return null;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const clientIdLength = view.getInt16(8);
  if (clientIdLength > frame.length - requestHeaderBytesMin) return null;
  const clientId = clientIdLength < 0 ? null : new TextDecoder().decode(frame.subarray(10, 10 + clientIdLength));
  return { apiKey: view.getInt16(0), apiVersion: view.getInt16(2), correlationId: view.getInt32(4), clientId };
}

interface ClientState {
  connection: number;
  frameCount: number;
  cutter: FrameCutter;
  toBroker: WriteQueue;
  toClient: WriteQueue;
  upstream: Socket<UpstreamState> | null;
  closed: boolean;
}

interface UpstreamState {
  client: Socket<ClientState>;
}

export class RecordingProxy {
  readonly requests: RecordedRequest[] = [];
  /** Connections whose stream could not be cut into frames, with the reason. */
  readonly unparsed: { connection: number; reason: string }[] = [];
  private target: { host: string; port: number } | undefined;
  private listener: TCPSocketListener<ClientState> | undefined;
  private readonly sockets = new Set<Socket<ClientState> | Socket<UpstreamState>>();
  private connectionCount = 0;
  private readonly frameBytesMax: number;
  private readonly queuedBytesMax: number;

  constructor(private readonly options: RecordingProxyOptions = {}) {
    this.target = options.target;
    this.frameBytesMax = options.frameBytesMax ?? frameBytesMaxDefault;
    this.queuedBytesMax = options.queuedBytesMax ?? queuedBytesMaxDefault;
    assert(this.frameBytesMax > requestHeaderBytesMin, "frameBytesMax too small");
  }

  get host(): string {
    return this.options.host ?? "127.0.0.1";
  }

  get port(): number {
    assert(this.listener !== undefined, "proxy not started");
    return this.listener.port;
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  get connections(): number {
    return this.connectionCount;
  }

  setTarget(target: { host: string; port: number }): void {
    assert(target.port > 0, "target port must be known");
    this.target = target;
  }

  /** Removes and returns everything recorded so far. */
  take(): RecordedRequest[] {
    return this.requests.splice(0, this.requests.length);
  }

  start(): this {
    assert(this.listener === undefined, "proxy already started");
    this.listener = Bun.listen<ClientState>({
      hostname: this.host,
      port: this.options.port ?? 0,
      socket: {
        open: (client) => this.onClientOpen(client),
        data: (client, bytes) => this.onClientData(client, bytes),
        drain: (client) => this.onClientDrain(client),
        close: (client) => this.closePair(client.data),
        error: (client) => this.closePair(client.data),
      },
    });
    return this;
  }

  private onClientOpen(client: Socket<ClientState>): void {
    this.connectionCount += 1;
    const state: ClientState = {
      connection: this.connectionCount,
      frameCount: 0,
      cutter: new FrameCutter(this.frameBytesMax),
      toBroker: new WriteQueue(),
      toClient: new WriteQueue(),
      upstream: null,
      closed: false,
    };
    client.data = state;
    this.sockets.add(client);
    const target = this.target;
    if (!target) {
      // Nothing to forward to yet: refuse rather than hold a half-open connection.
      client.end();
      return;
    }
    Bun.connect<UpstreamState>({
      hostname: target.host,
      port: target.port,
      data: { client },
      socket: {
        open: (upstream) => {
          this.sockets.add(upstream);
          if (state.closed) {
            upstream.end();
            return;
          }
          state.upstream = upstream;
          state.toBroker.flush(upstream);
        },
        data: (upstream, bytes) => {
          // Copy: the buffer Bun hands us is reused after this callback returns.
          state.toClient.push(new Uint8Array(bytes));
          state.toClient.flush(client);
          if (state.toClient.queuedBytes > this.queuedBytesMax) upstream.pause();
        },
        drain: (upstream) => {
          if (state.toBroker.flush(upstream)) client.resume();
        },
        close: () => this.closePair(state),
        error: () => this.closePair(state),
      },
    }).catch(() => this.closePair(state));
  }

  private onClientData(client: Socket<ClientState>, bytes: Uint8Array): void {
    const state = client.data;
    const copy = new Uint8Array(bytes);
    state.toBroker.push(copy);
    if (state.upstream) state.toBroker.flush(state.upstream);
    if (state.toBroker.queuedBytes > this.queuedBytesMax) client.pause();
    const wasBroken = state.cutter.broken;
    state.cutter.push(copy, (frame) => this.record(state, frame));
    if (!wasBroken && state.cutter.broken) this.unparsed.push({ connection: state.connection, reason: state.cutter.broken });
  }

  private onClientDrain(client: Socket<ClientState>): void {
    const state = client.data;
    if (state.toClient.flush(client)) state.upstream?.resume();
  }

  private record(state: ClientState, frame: Uint8Array): void {
    const header = peekRequestHeader(frame);
    const indexInConnection = state.frameCount++;
    if (!header) {
      this.unparsed.push({ connection: state.connection, reason: `frame ${indexInConnection} too short for a request header` });
      return;
    }
    this.requests.push({ connection: state.connection, indexInConnection, ...header, frame });
  }

  private closePair(state: ClientState): void {
    if (state.closed) return;
    state.closed = true;
    // Push out what the kernel will still take (a client's last request, the broker's last
    // answer), then close both sides.
    for (const socket of this.sockets) {
      const data = socket.data as ClientState | UpstreamState;
      const isUpstream = "client" in data;
      const owner = isUpstream ? data.client.data : data;
      if (owner !== state) continue;
      if (isUpstream) state.toBroker.flush(socket);
      else state.toClient.flush(socket);
      this.sockets.delete(socket);
      socket.end();
    }
  }

  async close(): Promise<void> {
    this.listener?.stop(true);
    for (const socket of this.sockets) socket.end();
    this.sockets.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export function startRecordingProxy(options: RecordingProxyOptions = {}): RecordingProxy {
  return new RecordingProxy(options).start();
}
