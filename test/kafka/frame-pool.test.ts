// The pool of large Produce frame buffers: sizes by class, reuse, the cap on free bytes.
import { expect, test } from "bun:test";
import { FramePool, pooledFrameBytesMin } from "../../src/kafka/frame-pool.ts";

test("frames get a buffer of their power-of-two class, reused once given back, within the cap", () => {
  const pool = new FramePool(3 * pooledFrameBytesMin);
  const first = pool.take(pooledFrameBytesMin + 1);
  expect(first.length).toBe(pooledFrameBytesMin + 1);
  expect(first.buffer.byteLength).toBe(2 * pooledFrameBytesMin);
  const second = pool.take(pooledFrameBytesMin);
  expect(second.buffer.byteLength).toBe(pooledFrameBytesMin);
  expect(pool.outstanding).toBe(2);
  pool.give(first);
  expect(pool.freeBytes).toBe(2 * pooledFrameBytesMin);
  // Same class: the same memory comes back.
  const again = pool.take(2 * pooledFrameBytesMin - 5);
  expect(again.buffer).toBe(first.buffer);
  expect(pool.freeBytes).toBe(0);
  pool.give(second);
  pool.give(again);
  expect(pool.freeBytes).toBe(3 * pooledFrameBytesMin);
  // Over the cap: the buffer is dropped, not kept.
  const big = pool.take(4 * pooledFrameBytesMin);
  pool.give(big);
  expect(pool.freeBytes).toBe(3 * pooledFrameBytesMin);
  expect(pool.outstanding).toBe(0);
  const lost = pool.take(10);
  pool.forget();
  expect(pool.outstanding).toBe(0);
  expect(lost.length).toBe(10);
  expect(() => pool.give(lost)).toThrow();
});
