// Who waits for a partition log to grow past an offset (long-polling fetches, the replica layer):
// woken by the append that moves the log end offset past it, or when the log closes.

const noop = () => {};
const resolved = Promise.resolve();

interface AppendWaiter {
  offset: bigint;
  resolve(): void;
}

export class AppendWaiters {
  private readonly waiters = new Set<AppendWaiter>();

  /** Calls `wake` once the log end offset passes `offset` (now, if it already has); returns a cancel. */
  onAppend(offset: bigint, logEndOffset: bigint, closed: boolean, wake: () => void): () => void {
    if (logEndOffset > offset || closed) {
      wake();
      return noop;
    }
    const waiter: AppendWaiter = {
      offset,
      resolve: () => {
        this.waiters.delete(waiter);
        wake();
      },
    };
    this.waiters.add(waiter);
    return () => void this.waiters.delete(waiter);
  }

  waitForAppend(offset: bigint, logEndOffset: bigint, closed: boolean, signal: AbortSignal): Promise<void> {
    if (logEndOffset > offset || signal.aborted || closed) return resolved;
    return new Promise((resolve) => {
      const onAbort = () => {
        cancel();
        resolve();
      };
      const cancel = this.onAppend(offset, logEndOffset, closed, () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  get size(): number {
    return this.waiters.size;
  }

  /** The log end offset moved to `logEndOffset`. */
  notify(logEndOffset: bigint): void {
    if (this.waiters.size === 0) return;
    for (const waiter of [...this.waiters]) if (logEndOffset > waiter.offset) waiter.resolve();
  }

  /** The log closed: every waiter wakes. */
  wakeAll(): void {
    for (const waiter of [...this.waiters]) waiter.resolve();
  }
}
