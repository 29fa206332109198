// Cuts size-prefixed Kafka frames (int32 size, then that many bytes) out of a TCP byte stream.
//
// Each frame is copied exactly once, into a buffer of its own size allocated when its size prefix
// has arrived. Nothing keeps a reference to the incoming chunks: Bun may reuse a socket's read
// buffer after the `data` callback returns, and decoded responses hold views (record bytes) into
// the frame for as long as the caller keeps them.

import { assert } from "../util/assert.ts";

export class FrameSizeError extends Error {
  constructor(size: number, sizeMax: number) {
    super(`response frame of ${size} bytes (the limit is ${sizeMax})`);
    this.name = "FrameSizeError";
  }
}

export class FrameReader {
  private readonly sizeBytes = new Uint8Array(4);
  private sizeFill = 0;
  private frame: Uint8Array | null = null;
  private frameFill = 0;

  constructor(
    private readonly onFrame: (frame: Uint8Array) => void,
    /** Frames above this are refused before allocating (a corrupt or hostile size prefix). */
    private readonly frameBytesMax: number,
  ) {
    assert(frameBytesMax > 0, "frameBytesMax must be positive");
  }

  /** True between frames (no partial size or body buffered). */
  get idle(): boolean {
    return this.frame === null && this.sizeFill === 0;
  }

  /** Feeds bytes; calls onFrame for every frame completed. Throws FrameSizeError on a bad size. */
  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.frame === null) {
        const take = Math.min(4 - this.sizeFill, chunk.length - offset);
        this.sizeBytes.set(chunk.subarray(offset, offset + take), this.sizeFill);
        this.sizeFill += take;
        offset += take;
        if (this.sizeFill < 4) return;
        const bytes = this.sizeBytes;
        const size = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!);
        if (size < 0 || size > this.frameBytesMax) throw new FrameSizeError(size, this.frameBytesMax);
        this.sizeFill = 0;
        this.frame = new Uint8Array(size);
        this.frameFill = 0;
      }
      const take = Math.min(this.frame.length - this.frameFill, chunk.length - offset);
      this.frame.set(chunk.subarray(offset, offset + take), this.frameFill);
      this.frameFill += take;
      offset += take;
      if (this.frameFill === this.frame.length) {
        const frame = this.frame;
        this.frame = null;
        this.onFrame(frame);
      }
    }
  }
}
