// queued.max.request.bytes (Kafka's key): one budget of bytes for requests being received or
// handled, across every connection. A connection reserves a request's declared size as soon as the
// size prefix has arrived and gives it back when the request is answered; while the budget is spent,
// connections that want to start a new request stop reading (socket.pause()) and are woken in
// arrival order when memory comes back. Without it each connection could hold up to
// socket.request.max.bytes (100 MiB), and ~200 slow senders could exhaust the machine's memory.
//
// As Kafka's (non-strict) memory pool: a reservation is granted while any memory is left, so one
// request larger than what remains (or than the whole budget) still goes through when it is alone:
// the most held at once is the budget plus one request. -1 means no limit (Kafka's default; Runnel's
// default is 256 MiB, see config/schema.ts). A connection that holds a reservation keeps reading its
// request: only the start of a new request waits, so the budget can never deadlock.

import { assert } from "../util/assert.ts";

export class RequestMemoryPool {
  private usedBytes = 0;
  private readonly waiters = new Set<() => void>();

  constructor(readonly capacityBytes: number) {
    assert(capacityBytes === -1 || capacityBytes > 0, "queued.max.request.bytes is -1 or positive");
  }

  get used(): number {
    return this.usedBytes;
  }

  /** Connections waiting for memory right now. */
  get waiting(): number {
    return this.waiters.size;
  }

  get exhausted(): boolean {
    return this.capacityBytes !== -1 && this.usedBytes >= this.capacityBytes;
  }

  /** Reserve `bytes` when any memory is left; false when the budget is spent (wait, then retry). */
  tryReserve(bytes: number): boolean {
    assert(bytes >= 0, "reserve a non-negative size");
    if (this.exhausted) return false;
    this.usedBytes += bytes;
    return true;
  }

  release(bytes: number): void {
    assert(bytes >= 0 && bytes <= this.usedBytes, "release what was reserved");
    this.usedBytes -= bytes;
    // Wake waiters in arrival order while memory is left; each retries its reservation.
    for (const wake of this.waiters) {
      if (this.exhausted) break;
      this.waiters.delete(wake);
      wake();
    }
  }

  /** Call `wake` once memory is available again; returns a cancel function. */
  waitForMemory(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => void this.waiters.delete(wake);
  }
}
