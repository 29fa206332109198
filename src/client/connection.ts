// One TCP connection to one Kafka broker: framing, correlation ids, many requests in flight
// (pipelining), ApiVersions negotiation, per-request timeouts, an own write queue, close.
//
//   const connection = await KafkaConnection.connect({ host, port, clientId: "runnel-cli" });
//   const metadata = await connection.request(MetadataApi, { topics: null });   // highest common version
//   const fetched = await connection.request(FetchApi, { replicaId: 2, ... }, { version: 12 });
//
// Kafka answers the requests of one connection in the order they were sent; responses are still
// matched by correlation id (a mismatch is a broken broker, and closes the connection). A request
// that times out closes the connection, as Kafka's Java client does: every later answer on it is
// stuck behind the missing one. Bun's socket.write takes only what the kernel accepts (BUN-NOTES),
// so unsent bytes wait in this connection's queue, in order, until `drain`.
//
// Any API object with the generated shape (src/protocol/api.ts) can be sent, including ones the
// broker's handler table does not know: header versions come from the API object itself.

import type { Socket } from "bun";
import type { Api } from "../protocol/api.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { ApiVersionsApi } from "../protocol/generated/api-versions.ts";
import { RequestHeaderCodec, ResponseHeaderCodec } from "../protocol/generated/headers.ts";
import { type Init, Reader, Writer } from "../protocol/primitives.ts";
import { assert } from "../util/assert.ts";
import { ConnectionError, RequestTimeoutError } from "./errors.ts";
import { FrameReader } from "./frame-reader.ts";
import { authenticate, type ClientSecurity } from "./security.ts";

export interface ConnectionOptions {
  host: string;
  port: number;
  /** Sent in every request header (brokers log it). Default "runnel". */
  clientId?: string;
  /** Default 10 s. */
  connectTimeoutMs?: number;
  /** Default timeout of a request without its own (Kafka's request.timeout.ms default, 30 s). */
  requestTimeoutMs?: number;
  /** Send ApiVersions first and pick versions from the answer (default true). */
  negotiateVersions?: boolean;
  /** Largest response frame accepted (default 256 MiB): a bad size prefix closes the connection. */
  responseBytesMax?: number;
  /** Reported in ApiVersions v3+. */
  softwareName?: string;
  softwareVersion?: string;
  /** TLS and SASL (security.ts); default: PLAINTEXT. */
  security?: ClientSecurity;
}

export interface RequestOptions {
  /** The API version to use; default: the highest both sides support. */
  version?: number;
  /** Default: the connection's requestTimeoutMs. */
  timeoutMs?: number;
  /** The request header's client id for this request only (a broker acting for someone else: an HTTP consumer instance's group requests); default: the connection's. */
  clientId?: string;
}

export interface VersionRange {
  minVersion: number;
  maxVersion: number;
}

// biome-ignore lint: pending requests of every API share one table.
type AnyApi = Api<any, any>;

interface Pending {
  readonly correlationId: number;
  readonly api: AnyApi | null;
  readonly version: number;
  /** For sendEncoded: the response header version the caller expects. */
  readonly responseHeaderVersion: number;
  readonly deadline: number;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface QueuedWrite {
  bytes: Uint8Array;
  /** Called once these bytes are all handed to the kernel, or with the error that dropped them. */
  onWritten?: (error?: Error) => void;
}

const defaultResponseBytesMax = 256 * 1024 * 1024;

export function requestHeaderVersionOf(api: AnyApi, version: number): number {
  return version >= api.flexibleMinVersion ? 2 : 1;
}

/** ApiVersions responses always use header v0, so a client can read an UNSUPPORTED_VERSION answer. */
export function responseHeaderVersionOf(api: AnyApi, version: number): number {
  if (api.apiKey === ApiVersionsApi.apiKey) return 0;
  return version >= api.flexibleMinVersion ? 1 : 0;
}

export class KafkaConnection {
  readonly host: string;
  readonly port: number;
  readonly clientId: string;
  private socket: Socket<undefined> | null = null;
  private readonly frames: FrameReader;
  private readonly pending = new Map<number, Pending>();
  private readonly queue: QueuedWrite[] = [];
  private queuedBytes = 0;
  private nextId = 1;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerDeadline = Infinity;
  private closeError: Error | null = null;
  private readonly closeListeners: ((error: Error) => void)[] = [];
  private drainWaiters: (() => void)[] = [];
  private brokerVersions: ReadonlyMap<number, VersionRange> | null = null;
  readonly requestTimeoutMs: number;
  /** Response bytes received, frames included. */
  bytesIn = 0;

  private constructor(private readonly options: ConnectionOptions) {
    this.host = options.host;
    this.port = options.port;
    this.clientId = options.clientId ?? "runnel";
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.frames = new FrameReader((frame) => this.onFrame(frame), options.responseBytesMax ?? defaultResponseBytesMax);
  }

  /** Opens the connection and (unless told not to) negotiates API versions. */
  static async connect(options: ConnectionOptions): Promise<KafkaConnection> {
    const connection = new KafkaConnection(options);
    await connection.open(options.connectTimeoutMs ?? 10_000);
    try {
      if (options.negotiateVersions !== false) await connection.negotiate();
      // Without negotiation (a peer node of the same version) SASL goes at the codecs' versions.
      if (options.security?.sasl) await authenticate(connection, options.security.sasl);
    } catch (error) {
      connection.close(error as Error);
      throw error;
    }
    return connection;
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  get isClosed(): boolean {
    return this.closeError !== null;
  }

  /** Requests sent (or queued) and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Bytes waiting in this connection's write queue (the kernel did not take them yet). */
  get queued(): number {
    return this.queuedBytes;
  }

  /** The broker's version range per API key (null when negotiation was skipped). */
  get versions(): ReadonlyMap<number, VersionRange> | null {
    return this.brokerVersions;
  }

  /** Calls `listener` once, when the connection closes for any reason. */
  onClose(listener: (error: Error) => void): void {
    if (this.closeError) listener(this.closeError);
    else this.closeListeners.push(listener);
  }

  /**
   * The highest version of `api` both this client's codec and the broker support, optionally
   * within [floor, ceiling] (an operation that needs a field of newer versions, or cannot handle
   * newer ones). Throws KafkaError(UNSUPPORTED_VERSION) when there is none.
   */
  versionFor(api: AnyApi, floor = api.minVersion, ceiling = api.maxVersion): number {
    let min = Math.max(api.minVersion, floor);
    let max = Math.min(api.maxVersion, ceiling);
    const broker = this.brokerVersions?.get(api.apiKey);
    if (this.brokerVersions !== null && broker === undefined) {
      throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, `${this.address} does not support ${api.name}`);
    }
    if (broker) {
      min = Math.max(min, broker.minVersion);
      max = Math.min(max, broker.maxVersion);
    }
    if (max < min) {
      throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION,
        `${api.name}: no common version (client ${Math.max(api.minVersion, floor)}-${Math.min(api.maxVersion, ceiling)}, broker ${broker?.minVersion}-${broker?.maxVersion})`);
    }
    return max;
  }

  /** True when the broker advertises `api` (always true before/without negotiation). */
  supports(api: AnyApi): boolean {
    return this.brokerVersions === null || this.brokerVersions.has(api.apiKey);
  }

  /** Sends one request; resolves with the decoded response body. */
  request<Request, Response>(api: Api<Request, Response>, body: Init<Request>, options: RequestOptions = {}): Promise<Response> {
    try {
      const version = options.version ?? this.versionFor(api);
      const correlationId = this.nextCorrelationId();
      const chunks = this.encode(api, version, correlationId, body, options.clientId);
      return this.track<Response>(chunks, {
        correlationId, api, version,
        responseHeaderVersion: responseHeaderVersionOf(api, version),
        timeoutMs: options.timeoutMs,
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Sends a request that gets no response (Produce with acks=0); resolves once its bytes are handed
   * to the kernel, so a caller can bound what it queues.
   */
  send<Request>(api: Api<Request, unknown>, body: Init<Request>, options: RequestOptions = {}): Promise<void> {
    try {
      this.checkOpen();
      const version = options.version ?? this.versionFor(api);
      const chunks = this.encode(api, version, this.nextCorrelationId(), body);
      return new Promise<void>((resolve, reject) => this.write(chunks, (error) => (error ? reject(error) : resolve())));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A fresh correlation id, for frames a caller encodes itself (sendEncoded). */
  nextCorrelationId(): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 0x7fffffff ? 1 : this.nextId + 1;
    return id;
  }

  /**
   * Sends a frame the caller encoded completely (int32 size, a request header carrying
   * `correlationId`, the body): load generators that build their frames by hand. Resolves with the
   * response body (after the response header of `responseHeaderVersion`), or with an empty array
   * once written when `expectResponse` is false.
   */
  sendEncoded(
    frame: Uint8Array,
    correlationId: number,
    options: { responseHeaderVersion?: number; expectResponse?: boolean; timeoutMs?: number } = {},
  ): Promise<Uint8Array> {
    try {
      this.checkOpen();
      if (options.expectResponse === false) {
        return new Promise<Uint8Array>((resolve, reject) => this.write([frame], (error) => (error ? reject(error) : resolve(new Uint8Array(0)))));
      }
      return this.track<Uint8Array>([frame], {
        correlationId, api: null, version: -1,
        responseHeaderVersion: options.responseHeaderVersion ?? 0,
        timeoutMs: options.timeoutMs,
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Resolves once the write queue holds at most `bytesMax` bytes (or the connection closed). */
  async waitQueueBelow(bytesMax: number): Promise<void> {
    while (this.queuedBytes > bytesMax && this.closeError === null) {
      await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    }
  }

  /** Closes the connection; every unanswered request fails with `reason`. */
  close(reason: Error = new ConnectionError(`connection to ${this.address} closed by the client`)): void {
    if (this.closeError) return;
    const socket = this.socket;
    const unsent = this.queue.length > 0;
    this.shutdown(reason);
    if (!socket) return;
    // Bytes still queued would be lost by end() anyway; their senders were told (shutdown).
    if (unsent) socket.terminate();
    else socket.end();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // ------------------------------------------------------------------------------ internals

  private async open(connectTimeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connecting = Bun.connect<undefined>({
      hostname: this.host,
      port: this.port,
      ...(this.options.security?.tls ? { tls: { ...this.options.security.tls, serverName: this.host } } : {}),
      socket: {
        data: (_socket, chunk) => this.onData(chunk),
        drain: () => this.flush(),
        end: () => this.onSocketGone(new ConnectionError(`${this.address} closed the connection`)),
        close: () => this.onSocketGone(new ConnectionError(`connection to ${this.address} closed`)),
        error: (_socket, error) => this.onSocketGone(new ConnectionError(`connection to ${this.address}: ${error.message}`)),
      },
    });
    const timeout = new Promise<never>((_, reject) => {
      // A timeout, not a refusal: the peer may be alive behind a stalled network (peers.probe tells them apart).
      timer = setTimeout(() => reject(new RequestTimeoutError(`connecting to ${this.address} timed out after ${connectTimeoutMs} ms`)), connectTimeoutMs);
    });
    try {
      this.socket = await Promise.race([connecting, timeout]);
    } catch (error) {
      // A connect that completes after the timeout must not leak its socket.
      void connecting.then((socket) => socket.terminate(), () => {});
      if (error instanceof ConnectionError) throw error;
      throw new ConnectionError(`cannot connect to ${this.address}: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    this.socket.setNoDelay(true);
  }

  /** ApiVersions at the newest version we know; an older broker answers v0 with its range of it. */
  private async negotiate(): Promise<void> {
    const body = {
      clientSoftwareName: this.options.softwareName ?? "runnel-client",
      clientSoftwareVersion: this.options.softwareVersion ?? "0.1.0",
    };
    let version: number = ApiVersionsApi.maxVersion;
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await this.request(ApiVersionsApi, body, { version });
      if (response.errorCode === ErrorCode.UNSUPPORTED_VERSION) {
        const theirs = response.apiKeys.find((entry) => entry.apiKey === ApiVersionsApi.apiKey);
        const next = Math.min(theirs?.maxVersion ?? 0, ApiVersionsApi.maxVersion);
        if (next >= version) break;
        version = next;
        continue;
      }
      if (response.errorCode !== ErrorCode.NONE) throw new KafkaError(response.errorCode, `ApiVersions from ${this.address}`);
      this.brokerVersions = new Map(response.apiKeys.map((entry) => [entry.apiKey, { minVersion: entry.minVersion, maxVersion: entry.maxVersion }]));
      return;
    }
    throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, `${this.address}: no ApiVersions version in common`);
  }

  private encode(api: AnyApi, version: number, correlationId: number, body: unknown, clientId = this.clientId): Uint8Array[] {
    if (version < api.minVersion || version > api.maxVersion) {
      throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, `${api.name} v${version}: the codec knows ${api.minVersion}-${api.maxVersion}`);
    }
    const writer = new Writer(256);
    const sizeAt = writer.reserveInt32();
    RequestHeaderCodec.encode(writer, requestHeaderVersionOf(api, version), {
      requestApiKey: api.apiKey, requestApiVersion: version, correlationId, clientId,
    });
    api.encodeRequest(writer, version, body as Init<unknown>);
    writer.patchInt32(sizeAt, writer.length - 4);
    return writer.finishChunks();
  }

  private track<Response>(
    chunks: Uint8Array[],
    request: { correlationId: number; api: AnyApi | null; version: number; responseHeaderVersion: number; timeoutMs?: number },
  ): Promise<Response> {
    this.checkOpen();
    assert(!this.pending.has(request.correlationId), "correlation id reused while in flight");
    const timeoutMs = request.timeoutMs ?? this.requestTimeoutMs;
    const deadline = performance.now() + timeoutMs;
    const promise = new Promise<Response>((resolve, reject) => {
      this.pending.set(request.correlationId, {
        correlationId: request.correlationId,
        api: request.api,
        version: request.version,
        responseHeaderVersion: request.responseHeaderVersion,
        deadline,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
    });
    this.armTimer(deadline);
    this.write(chunks);
    return promise;
  }

  private checkOpen(): void {
    if (this.closeError) throw this.closeError;
    assert(this.socket !== null, "request before the connection opened");
  }

  private write(chunks: Uint8Array[], onWritten?: (error?: Error) => void): void {
    for (let index = 0; index < chunks.length; index++) {
      const bytes = chunks[index]!;
      this.queue.push({ bytes, onWritten: index === chunks.length - 1 ? onWritten : undefined });
      this.queuedBytes += bytes.length;
    }
    this.flush();
  }

  private flush(): void {
    const socket = this.socket;
    if (!socket || this.closeError) return;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const written = head.bytes.length === 0 ? 0 : socket.write(head.bytes, 0, head.bytes.length);
      if (written < 0) return; // closed: the close handler fails what is pending
      this.queuedBytes -= written;
      if (written < head.bytes.length) {
        head.bytes = head.bytes.subarray(written);
        return; // the kernel is full; `drain` calls flush again
      }
      this.queue.shift();
      head.onWritten?.();
    }
    const waiters = this.drainWaiters;
    if (waiters.length > 0) {
      this.drainWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  private onData(chunk: Uint8Array): void {
    this.bytesIn += chunk.length;
    try {
      this.frames.push(chunk);
    } catch (error) {
      this.close(new ConnectionError(`${this.address}: ${(error as Error).message}`));
    }
  }

  private onFrame(frame: Uint8Array): void {
    if (frame.length < 4) {
      this.close(new ConnectionError(`${this.address} sent a ${frame.length}-byte frame`));
      return;
    }
    const correlationId = ((frame[0]! << 24) | (frame[1]! << 16) | (frame[2]! << 8) | frame[3]!);
    const waiting = this.pending.get(correlationId);
    if (!waiting) {
      this.close(new ConnectionError(`${this.address} answered correlation id ${correlationId}, which no request carries`));
      return;
    }
    this.pending.delete(correlationId);
    if (this.pending.size === 0) this.disarmTimer();
    try {
      const reader = new Reader(frame);
      ResponseHeaderCodec.decode(reader, waiting.responseHeaderVersion);
      waiting.resolve(waiting.api === null ? frame.subarray(reader.position) : this.decodeBody(waiting.api, waiting.version, reader));
    } catch (error) {
      waiting.reject(error as Error);
    }
  }

  private decodeBody(api: AnyApi, version: number, reader: Reader): unknown {
    // A broker that does not know our ApiVersions version answers in v0 with UNSUPPORTED_VERSION.
    if (api.apiKey === ApiVersionsApi.apiKey && version > 0 && reader.remaining >= 2) {
      const code = (reader.bytes[reader.position]! << 8) | reader.bytes[reader.position + 1]!;
      if (code === ErrorCode.UNSUPPORTED_VERSION) return api.decodeResponse(reader, 0);
    }
    return api.decodeResponse(reader, version);
  }

  private armTimer(deadline: number): void {
    if (deadline >= this.timerDeadline) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDeadline = deadline;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, deadline - performance.now()) + 1);
  }

  private disarmTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerDeadline = Infinity;
  }

  private onTimer(): void {
    this.timer = null;
    this.timerDeadline = Infinity;
    const now = performance.now();
    let earliest = Infinity;
    for (const waiting of this.pending.values()) {
      if (waiting.deadline <= now) {
        const what = waiting.api ? `${waiting.api.name} v${waiting.version}` : "request";
        this.close(new RequestTimeoutError(`${what} to ${this.address}: no response within its timeout`));
        return;
      }
      earliest = Math.min(earliest, waiting.deadline);
    }
    if (earliest < Infinity) this.armTimer(earliest);
  }

  private onSocketGone(error: Error): void {
    if (this.closeError) return;
    this.shutdown(error);
    this.socket?.terminate();
  }

  /** Marks the connection closed and fails everything waiting on it. */
  private shutdown(error: Error): void {
    assert(this.closeError === null, "shutdown twice");
    this.closeError = error;
    this.disarmTimer();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const waiting of pending) waiting.reject(error);
    const unsent = this.queue.splice(0);
    this.queuedBytes = 0;
    for (const write of unsent) write.onWritten?.(error);
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
    for (const listener of this.closeListeners.splice(0)) listener(error);
  }
}
