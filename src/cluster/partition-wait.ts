// The long-poll wait of a fetch, shared by the Kafka Fetch handler and the HTTP API's partition
// reads and live streams: park until any of the partitions grows, the deadline passes, or the
// request is abandoned. Woken by the appends themselves (PartitionLog.onAppend), never by a timer
// poll. The replication layer will move this behind its partition replica (waiting on the high
// watermark rather than the log end); callers keep calling this one function.

import type { PartitionLog } from "../storage/types.ts";

/**
 * Park until any partition grows past what it had, the deadline passes, or the connection closes.
 * One plain callback per partition (onAppend), all cancelled on the way out, and one abort
 * listener in all: with 1,000 partitions a promise and an AbortSignal listener per partition cost
 * milliseconds per wake (removing a listener is O(listeners)), enough to starve producers.
 * After the first wake the rest of the current turn of the event loop runs before the partitions
 * are read again (setImmediate), so the other batches of the same Produce request are in the
 * response too — as Kafka completes a delayed fetch after the whole produce — instead of one
 * 1,000-partition response per appended batch.
 */
export async function waitForData(logs: PartitionLog[], waitMs: number, signal: AbortSignal): Promise<void> {
  if (waitMs <= 0 || signal.aborted) return;
  const cancels: (() => void)[] = [];
  let woken = false;
  let appended = false;
  let resolveWait: (() => void) | null = null;
  const wake = () => {
    woken = true;
    resolveWait?.();
  };
  const onAppend = () => {
    appended = true;
    wake();
  };
  const timer = setTimeout(wake, waitMs);
  signal.addEventListener("abort", wake, { once: true });
  try {
    for (const log of logs) {
      cancels.push(log.onAppend(log.logEndOffset, onAppend));
      if (woken) return;
    }
    await new Promise<void>((resolve) => {
      resolveWait = resolve;
    });
    if (appended && !signal.aborted) await new Promise<void>((resolve) => setImmediate(resolve));
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", wake);
    for (const cancel of cancels) cancel();
  }
}

