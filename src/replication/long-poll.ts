// The long poll of a consumer's Fetch (Kafka's delayed fetch): park until one of the partitions'
// high watermarks moves past where it was — its last stable offset, for read_committed — the
// deadline passes, or the request is cancelled.
//
// One plain callback per partition (Partition.onHighWatermark), all cancelled on the way out, and
// one abort listener in all: with 1,000 partitions a promise and an AbortSignal listener per
// partition cost milliseconds per wake (removing a listener is O(listeners)), enough to starve
// producers. After the first wake the rest of the current turn of the event loop runs before the
// caller reads again (setImmediate), so the other batches of the same Produce request are in the
// response too — as Kafka completes a delayed fetch after the whole produce — instead of one
// 1,000-partition response per appended batch.

import type { Partition } from "./partition.ts";
import { READ_COMMITTED } from "./partition.ts";

export async function waitForData(partitions: readonly Partition[], waitMs: number, signal: AbortSignal, isolation = 0): Promise<void> {
  if (waitMs <= 0 || signal.aborted) return;
  const cancels: (() => void)[] = [];
  let woken = false;
  let moved = false;
  let resolveWait: (() => void) | null = null;
  const wake = () => {
    woken = true;
    resolveWait?.();
  };
  const onMove = () => {
    moved = true;
    wake();
  };
  const timer = setTimeout(wake, waitMs);
  signal.addEventListener("abort", wake, { once: true });
  try {
    for (const partition of partitions) {
      cancels.push(isolation === READ_COMMITTED ? partition.onLastStableOffset(partition.lastStableOffset, onMove) : partition.onHighWatermark(partition.highWatermark, onMove));
      if (woken) return;
    }
    await new Promise<void>((resolve) => {
      resolveWait = resolve;
    });
    if (moved && !signal.aborted) await new Promise<void>((resolve) => setImmediate(resolve));
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", wake);
    for (const cancel of cancels) cancel();
  }
}
