// One Kafka client connection: framing, in-order responses, our own write queue, backpressure.
//
//   socket bytes ─▶ input chunks ─▶ frames (int32 size + request) ─▶ dispatcher ─▶ slot (FIFO)
//   slots complete in any order ─▶ flushed strictly in request order ─▶ write queue ─▶ socket
//
// Limits (each checked before the memory is spent):
//   - a frame's declared size is checked against socket.request.max.bytes before anything is
//     allocated, and the frame's bytes are only assembled once they have all arrived (a client
//     that announces 100 MiB and sends 10 bytes costs us 10 bytes); an oversized or negative size
//     closes this connection;
//   - at most queued.max.requests requests in flight per connection, and at most
//     connectionWriteQueueBytesMax bytes of responses waiting for the socket: beyond either, this
//     connection's reads are paused (socket.pause()) until it drains. Other connections never wait;
//   - queued.max.request.bytes across all connections (request-memory.ts): a request's declared
//     size is reserved when its size prefix arrives and given back when it is answered; while the
//     budget is spent, a connection about to start a new request pauses until memory comes back.
// Bun's socket.write() takes what the kernel accepts and returns the count; the rest stays in our
// queue until `drain`. Response pieces may be views of storage (Fetch): their `onDone` callbacks
// (releasing the mappings) run once the bytes are written, or when the connection dies.

import type { Socket } from "bun";
import { assert } from "../util/assert.ts";
import type { Logger } from "../util/logger.ts";
import { CloseConnection } from "./handler.ts";
import { pooledFrameBytesMin, type FramePool } from "./frame-pool.ts";
import type { RequestMemoryPool } from "./request-memory.ts";
import { plaintextSession, type Session } from "./session.ts";

/** A response ready to be written: pieces in order, and what to run once they are written. */
export interface OutboundResponse {
  chunks: Uint8Array[];
}

export interface ConnectionInfo {
  readonly id: number;
  readonly remoteAddress: string;
  /** Aborted when the connection closes. */
  readonly signal: AbortSignal;
  /** Listener, principal and SASL state (session.ts). */
  readonly session: Session;
}

/** What the dispatcher answers for one frame. */
export type DispatchOutcome =
  | { kind: "close"; reason: string }
  | { kind: "respond"; response: OutboundResponse | null | Promise<OutboundResponse | null>; onDone: (() => void)[] };

export type FrameDispatcher = (frame: Uint8Array, connection: ConnectionInfo) => DispatchOutcome;

export interface ConnectionLimits {
  requestBytesMax: number;
  inFlightRequestsMax: number;
  writeQueueBytesMax: number;
  /** queued.max.request.bytes, shared by every connection of the listener. */
  requestMemory: RequestMemoryPool;
  /** Reused buffers for large Produce frames that span chunks (frame-pool.ts); none: always fresh. */
  framePool?: FramePool;
}

/** Bytes of responses queued for one socket above which its reads pause. */
export const connectionWriteQueueBytesMax = 16 * 1024 * 1024;
const produceApiKey = 0;
/** Small pieces are copied together into one write of at most this many bytes. */
const coalesceBytesMax = 64 * 1024;
const coalescePieceBytesMax = 16 * 1024;

interface Slot {
  ready: boolean;
  response: OutboundResponse | null;
  onDone: (() => void)[];
  /** Bytes of queued.max.request.bytes this request holds until it is answered. */
  reservedBytes: number;
}

interface QueuedWrite {
  bytes: Uint8Array;
  offset: number;
  onDone: (() => void)[];
}

export class Connection implements ConnectionInfo {
  readonly id: number;
  readonly remoteAddress: string;
  private readonly abort = new AbortController();
  private readonly input: Uint8Array[] = [];
  private inputBytes = 0;
  private readonly slots: Slot[] = [];
  private readonly writes: QueuedWrite[] = [];
  private writeBytes = 0;
  private paused = false;
  private closed = false;
  private pumping = false;
  private writeOutScheduled = false;
  /** Set when a bad frame arrived: earlier requests are still answered, then the socket closes. */
  private closingReason: string | null = null;
  /** Bytes reserved for the request being received (its declared size), 0 before its size is known. */
  private frameReservedBytes = 0;
  /** Cancels the wait for request memory, while this connection waits for it. */
  private cancelMemoryWait: (() => void) | null = null;
  private inFlightHighWater = 0;
  /** While muted (quota throttling), the time reads resume (performance.now()), else 0. */
  private mutedUntil = 0;
  private muteTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set by the listener right after construction (a plaintext one until then). */
  session: Session = plaintextSession();
  /** The frame nextFrame just assembled in a pooled buffer, until handleFrame ties it to its request. */
  private pooledFrame: Uint8Array | null = null;

  constructor(
    private readonly socket: Socket<Connection>,
    id: number,
    private readonly dispatch: FrameDispatcher,
    private readonly limits: ConnectionLimits,
    private readonly log: Logger,
    private readonly onClosed: (connection: Connection) => void,
  ) {
    this.id = id;
    this.remoteAddress = `${socket.remoteAddress}`;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Whether reads are paused (a limit is reached: in-flight requests, queued responses, memory). */
  get isPaused(): boolean {
    return this.paused;
  }

  /** Requests dispatched and not yet written out (queued.max.requests bounds it). */
  get requestsInFlight(): number {
    return this.slots.length;
  }

  /** Responses ready but held behind an earlier request that is not answered yet (strict order). */
  get heldResponses(): number {
    let held = 0;
    for (const slot of this.slots) if (slot.ready) held++;
    return held;
  }

  /** Most requests in flight at once over this connection's life (tests of queued.max.requests). */
  get requestsInFlightHighWater(): number {
    return this.inFlightHighWater;
  }

  /** Whether the connection waits for queued.max.request.bytes to start its next request. */
  get waitingForMemory(): boolean {
    return this.cancelMemoryWait !== null;
  }

  /** Bun `data` event. A frame inside one chunk is a view of it; a frame across chunks is copied. */
  onData(data: Uint8Array): void {
    if (this.closed || this.closingReason !== null) return;
    this.input.push(data);
    this.inputBytes += data.length;
    this.pump();
  }

  /** Bun `drain` event: the kernel takes bytes again. */
  onDrain(): void {
    this.writeOut();
  }

  /** Cut and dispatch frames while the limits allow. */
  private pump(): void {
    if (this.pumping) return; // re-entered from a synchronous completion; the outer loop continues
    this.pumping = true;
    try {
      while (!this.closed && this.closingReason === null) {
        if (this.mutedUntil > 0 || this.slots.length >= this.limits.inFlightRequestsMax || this.writeBytes >= this.limits.writeQueueBytesMax) {
          this.pause();
          return;
        }
        const frame = this.nextFrame();
        if (frame === null) break;
        this.handleFrame(frame);
      }
      if (!this.closed && this.closingReason === null) {
        if (this.cancelMemoryWait !== null) this.pause();
        else this.resume();
      }
    } finally {
      this.pumping = false;
    }
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
  }

  /** The big-endian int32 at the front of the input (inputBytes ≥ 4), read byte by byte: no view or copy. */
  private peekSize(): number {
    const head = this.input[0]!;
    if (head.length >= 4) return (head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!;
    let size = 0;
    let filled = 0;
    for (let index = 0; filled < 4; index++) {
      const chunk = this.input[index]!;
      for (let at = 0; at < chunk.length && filled < 4; at++, filled++) size = (size << 8) | chunk[at]!;
    }
    return size | 0;
  }

  /** The API key of the frame at the front of the input (6 bytes are there: a whole frame is). */
  private peekApiKey(): number {
    let key = 0;
    let index = 0;
    for (let chunk = 0; index < 6; chunk++) {
      const bytes = this.input[chunk]!;
      for (let at = 0; at < bytes.length && index < 6; at++, index++) if (index >= 4) key = (key << 8) | bytes[at]!;
    }
    return (key << 16) >> 16;
  }

  /** The next complete frame (without its size prefix), or null when more bytes are needed. */
  private nextFrame(): Uint8Array | null {
    if (this.inputBytes < 4) return null;
    const size = this.peekSize();
    if (size <= 0 || size > this.limits.requestBytesMax) {
      this.closeAfterPending(`frame size ${size} outside 1..${this.limits.requestBytesMax} (socket.request.max.bytes)`);
      return null;
    }
    if (this.frameReservedBytes === 0 && !this.reserveFrame(size)) return null;
    if (this.inputBytes < 4 + size) return null;
    const head = this.input[0]!;
    if (head.length >= 4 + size) {
      // The whole frame is inside one received chunk: use it in place. Bun hands every `data`
      // event a fresh buffer (checked: it never reuses one), so the view stays valid. A plain
      // Uint8Array, not the Buffer Bun gives: Buffer#slice returns a view where every
      // Uint8Array#slice downstream expects a copy.
      const frame = new Uint8Array(head.buffer, head.byteOffset + 4, size);
      this.consume(4 + size, null);
      return frame;
    }
    // Produce (API key 0) frames are assembled in a reused buffer (frame-pool.ts): given back once
    // the request is answered.
    const pool = this.limits.framePool;
    const pooled = pool !== undefined && size >= pooledFrameBytesMin && this.peekApiKey() === produceApiKey;
    const frame = pooled ? pool.take(size) : new Uint8Array(size);
    this.consume(4, null);
    this.consume(size, frame);
    if (pooled) this.pooledFrame = frame;
    return frame;
  }

  /**
   * Reserve a new request's declared size from queued.max.request.bytes. When the budget is spent,
   * wait (reads pause in pump) and retry once memory is given back.
   */
  private reserveFrame(size: number): boolean {
    if (this.cancelMemoryWait !== null) return false;
    if (this.limits.requestMemory.tryReserve(size)) {
      this.frameReservedBytes = size;
      return true;
    }
    this.cancelMemoryWait = this.limits.requestMemory.waitForMemory(() => {
      this.cancelMemoryWait = null;
      if (!this.closed && !this.pumping) this.pump();
    });
    return false;
  }

  /** Give a request's reservation back (once). */
  private releaseReservation(slot: Slot): void {
    if (slot.reservedBytes === 0) return;
    this.limits.requestMemory.release(slot.reservedBytes);
    slot.reservedBytes = 0;
  }

  /** Remove `count` bytes from the input, copying them into `into` when given. */
  private consume(count: number, into: Uint8Array | null): void {
    let copied = 0;
    while (copied < count) {
      const chunk = this.input[0]!;
      const take = Math.min(count - copied, chunk.length);
      if (into) into.set(take === chunk.length ? chunk : chunk.subarray(0, take), copied);
      copied += take;
      if (take === chunk.length) this.input.shift();
      else this.input[0] = chunk.subarray(take);
    }
    this.inputBytes -= count;
    assert(this.inputBytes >= 0, "input accounting went negative");
  }

  private handleFrame(frame: Uint8Array): void {
    const reservedBytes = this.frameReservedBytes;
    this.frameReservedBytes = 0;
    const pooledFrame = this.pooledFrame;
    this.pooledFrame = null;
    let outcome: DispatchOutcome;
    try {
      outcome = this.dispatch(frame, this);
    } catch (error) {
      // Not given back: nothing says what the failed dispatch still holds of it.
      if (pooledFrame !== null) this.limits.framePool!.forget();
      this.limits.requestMemory.release(reservedBytes);
      this.log.error("dispatcher failed", { connection: this.id, error: String(error) });
      this.closeAfterPending("dispatcher failed");
      return;
    }
    if (outcome.kind === "close") {
      // Refused before any handler ran (header, version, hook) or by a synchronous throw: no
      // append can be under way (the Produce handler is async, its failures are rejections).
      if (pooledFrame !== null) this.limits.framePool!.give(pooledFrame);
      this.limits.requestMemory.release(reservedBytes);
      this.closeAfterPending(outcome.reason);
      return;
    }
    const onDone = outcome.onDone;
    // The slot's callbacks run once its response is written, or once the handler settled when the
    // connection closed first (complete()): never while the handler may still read the frame.
    if (pooledFrame !== null) onDone.push(() => this.limits.framePool!.give(pooledFrame));
    const slot: Slot = { ready: false, response: null, onDone, reservedBytes };
    this.slots.push(slot);
    assert(this.slots.length <= this.limits.inFlightRequestsMax, "more requests in flight than queued.max.requests");
    if (this.slots.length > this.inFlightHighWater) this.inFlightHighWater = this.slots.length;
    const response = outcome.response;
    if (response instanceof Promise) {
      response.then(
        (value) => this.complete(slot, value),
        (error) => {
          if (error instanceof CloseConnection) {
            this.complete(slot, null);
            this.close(error.message);
            return;
          }
          this.log.error("request failed; closing the connection", { connection: this.id, error: String(error) });
          this.complete(slot, null);
          this.close("request failed");
        },
      );
    } else {
      this.complete(slot, response);
    }
  }

  private complete(slot: Slot, response: OutboundResponse | null): void {
    assert(!slot.ready, "a request completed twice");
    slot.ready = true;
    slot.response = response;
    this.releaseReservation(slot);
    if (this.closed) {
      runAll(slot.onDone);
      slot.onDone = [];
      return;
    }
    // Move every ready slot at the head of the FIFO into the write queue, in request order.
    while (this.slots.length > 0 && this.slots[0]!.ready) {
      const head = this.slots.shift()!;
      const chunks = head.response?.chunks ?? [];
      if (chunks.length === 0) {
        runAll(head.onDone);
        continue;
      }
      for (let index = 0; index < chunks.length; index++) {
        const last = index === chunks.length - 1;
        this.writes.push({ bytes: chunks[index]!, offset: 0, onDone: last ? head.onDone : noCallbacks });
        this.writeBytes += chunks[index]!.length;
      }
    }
    this.scheduleWriteOut();
    if (!this.pumping) this.pump();
  }

  /**
   * Write the queue once the current microtasks have run instead of at once: responses that
   * complete together (the requests of one received chunk, whose appends resolve in the same
   * microtask round) then leave in one coalesced write, one syscall and one wake-up of the client
   * instead of one per response. Order is unchanged (the queue is FIFO) and no timer is involved,
   * so no response waits for a later event-loop turn.
   */
  private scheduleWriteOut(): void {
    if (this.writeOutScheduled) return;
    this.writeOutScheduled = true;
    queueMicrotask(this.scheduledWriteOut);
  }

  private readonly scheduledWriteOut = (): void => {
    this.writeOutScheduled = false;
    this.writeOut();
  };

  /** Write queued pieces until the kernel stops taking them. */
  private writeOut(): void {
    while (!this.closed && this.writes.length > 0) {
      this.coalesceHead();
      const head = this.writes[0]!;
      const remaining = head.bytes.length - head.offset;
      const written = this.socket.write(head.bytes, head.offset, remaining);
      if (written > 0) {
        assert(written <= remaining, () => `socket took ${written} bytes of ${remaining}`);
        head.offset += written;
        this.writeBytes -= written;
        assert(this.writeBytes >= 0, "write queue accounting went negative");
      }
      if (written < remaining) return; // wait for drain
      this.writes.shift();
      runAll(head.onDone);
    }
    if (this.closingReason !== null) {
      if (!this.closed && this.slots.length === 0 && this.writes.length === 0) this.close(this.closingReason);
      return;
    }
    if (!this.closed && this.paused && !this.pumping) this.pump();
  }

  /**
   * A frame this connection cannot go on from (bad size, undecodable header, unknown API key):
   * read nothing more, answer the requests that came before it in order (as Kafka does, which reads
   * one request at a time), then close.
   */
  private closeAfterPending(reason: string): void {
    if (this.closed || this.closingReason !== null) return;
    this.closingReason = reason;
    this.pause();
    this.input.length = 0;
    this.inputBytes = 0;
    this.dropFrameReservation();
    this.writeOut();
  }

  /** Copy consecutive small pieces at the head into one buffer: one syscall instead of many. */
  private coalesceHead(): void {
    if (this.writes.length < 2) return;
    const first = this.writes[0]!;
    if (first.offset !== 0 || first.bytes.length > coalescePieceBytesMax) return;
    let count = 0;
    let total = 0;
    for (const entry of this.writes) {
      if (entry.offset !== 0 || entry.bytes.length > coalescePieceBytesMax) break;
      if (total + entry.bytes.length > coalesceBytesMax) break;
      total += entry.bytes.length;
      count++;
    }
    if (count < 2) return;
    const merged = new Uint8Array(total);
    const onDone: (() => void)[] = [];
    let offset = 0;
    for (const entry of this.writes.splice(0, count)) {
      merged.set(entry.bytes, offset);
      offset += entry.bytes.length;
      onDone.push(...entry.onDone);
    }
    this.writes.unshift({ bytes: merged, offset: 0, onDone });
  }

  /** Forget the request being received (the connection will not read it): its memory goes back. */
  private dropFrameReservation(): void {
    this.cancelMemoryWait?.();
    this.cancelMemoryWait = null;
    if (this.frameReservedBytes > 0) this.limits.requestMemory.release(this.frameReservedBytes);
    this.frameReservedBytes = 0;
  }

  /**
   * Close this connection (idempotent): abort waits, release queued views, end the socket. Logged
   * at DEBUG: a client (or an attacker) that sends bad frames or disconnects must not be able to
   * flood the log; the listener counts and reports refusals itself.
   */
  close(reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    if (reason) this.log.debug("closing connection", { connection: this.id, remote: this.remoteAddress, reason });
    this.dropFrameReservation();
    clearTimeout(this.muteTimer);
    this.abort.abort();
    for (const write of this.writes.splice(0)) runAll(write.onDone);
    this.writeBytes = 0;
    for (const slot of this.slots) {
      if (slot.ready) runAll(slot.onDone);
      // Pending slots run their callbacks when they complete (see complete()).
    }
    this.slots.length = 0;
    this.input.length = 0;
    this.inputBytes = 0;
    this.socket.end();
    this.onClosed(this);
  }

  /**
   * Graceful shutdown: read no further request, end long polls at once (they answer with what they
   * have), answer every request already read, in order, then close.
   */
  shutdown(): void {
    if (this.closed) return;
    this.closeAfterPending("the broker is shutting down");
    if (!this.closed) this.abort.abort();
  }

  /**
   * Quota throttling (KIP-219): read nothing more from this client for `ms` (a later, longer mute
   * extends it); its responses keep going out.
   */
  mute(ms: number): void {
    if (this.closed || ms <= 0) return;
    const until = performance.now() + ms;
    if (until <= this.mutedUntil) return;
    this.mutedUntil = until;
    clearTimeout(this.muteTimer);
    this.pause();
    this.muteTimer = setTimeout(() => {
      this.mutedUntil = 0;
      this.muteTimer = undefined;
      if (!this.closed && !this.pumping) this.pump();
    }, ms);
  }

  /**
   * Answer what was already read, then close (an authentication failure: the failed response goes
   * out first, then the connection closes).
   */
  closeWhenAnswered(reason: string): void {
    this.closeAfterPending(reason);
  }

  /** Bun `close` event (peer closed or error). */
  onSocketClosed(): void {
    this.close();
  }
}

/** Shared empty callback list of the non-final pieces of a response (never pushed to). */
const noCallbacks: (() => void)[] = [];

function runAll(callbacks: (() => void)[]): void {
  for (const callback of callbacks) {
    try {
      callback();
    } catch {
      // A release callback must never take the connection down; storage asserts on its own.
    }
  }
}
