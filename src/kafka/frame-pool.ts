// Reused buffers for large Produce frames that arrive across several socket chunks (the usual case
// for librdkafka's ~1 MB produce requests: Bun delivers ~400 KB chunks). Such a frame has to be
// assembled in one buffer for the decoder and the storage; a fresh `new Uint8Array(size)` per frame
// costs a page fault per 4 KiB on first touch — in this VM, profiled, the reassembly copy
// (`Uint8Array#set` from Connection.consume) took a third of the broker's samples under kcat's
// produce, mostly faulting in fresh pages. A buffer taken from here is already faulted in.
//
// Only Produce frames come from the pool: their bytes are written to the log (pwrite copies them)
// before the request is answered, and nothing keeps a view of them afterwards, so the connection
// gives the buffer back when the request's response is done (its onDone). Other requests' decoded
// fields may be views of the frame kept for longer (group metadata, for example): never pooled.
//
// Buffers are kept by power-of-two size class, at most `bytesMax` in total; a frame that finds no
// free buffer of its class gets a new one (which joins the pool when given back, if it fits).

import { assert } from "../util/assert.ts";

/** Frames below this are not pooled (they rarely span chunks, and small allocations are cheap). */
export const pooledFrameBytesMin = 64 * 1024;

export class FramePool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private pooledBytes = 0;
  /** Buffers handed out and not yet given back (tests, stats). */
  outstanding = 0;

  constructor(private readonly bytesMax: number) {
    assert(bytesMax >= 0, "frame pool size must be >= 0");
  }

  /** A view of `size` bytes over a pooled buffer (contents undefined: the caller overwrites them). */
  take(size: number): Uint8Array {
    assert(size > 0, "a frame has at least one byte");
    const capacity = sizeClassOf(size);
    const reused = this.free.get(capacity)?.pop();
    if (reused !== undefined) this.pooledBytes -= capacity;
    const buffer = reused ?? new ArrayBuffer(capacity);
    this.outstanding++;
    return new Uint8Array(buffer, 0, size);
  }

  /** Gives a frame from take() back; its bytes must not be used any more. */
  give(frame: Uint8Array): void {
    this.outstanding--;
    assert(this.outstanding >= 0, "a frame given back twice");
    const buffer = frame.buffer as ArrayBuffer;
    if (this.pooledBytes + buffer.byteLength > this.bytesMax) return;
    let list = this.free.get(buffer.byteLength);
    if (list === undefined) this.free.set(buffer.byteLength, (list = []));
    list.push(buffer);
    this.pooledBytes += buffer.byteLength;
  }

  /** A frame from take() that will not be given back (left to the garbage collector). */
  forget(): void {
    this.outstanding--;
    assert(this.outstanding >= 0, "a frame forgotten twice");
  }

  /** Bytes held by free buffers. */
  get freeBytes(): number {
    return this.pooledBytes;
  }
}

function sizeClassOf(size: number): number {
  let capacity = pooledFrameBytesMin;
  while (capacity < size) capacity *= 2;
  return capacity;
}
