// Physical floor 2: sequential disk writes on the filesystem that holds the broker's data —
// bandwidth into the page cache (no sync), with one final fdatasync (the device's streaming
// bandwidth), and the "group commit" pattern a durable broker uses: append a chunk, fdatasync,
// repeat.

import { closeSync, fdatasyncSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { assert } from "../../src/util/assert.ts";
import { LatencyHistogram } from "../lib/histogram.ts";
import type { LatencySummary } from "../lib/histogram.ts";
import { nowMs } from "../lib/open-loop.ts";

export interface DiskFloor {
  bytes: number;
  chunkBytes: number;
  noSyncBytesPerSecond: number;
  finalSyncBytesPerSecond: number;
  groupCommitChunkBytes: number;
  groupCommitBytesPerSecond: number;
  groupCommitSync: LatencySummary;
}

function writeFile(path: string, totalBytes: number, chunk: Uint8Array, finalSync: boolean): number {
  const fd = openSync(path, "w");
  try {
    const started = nowMs();
    for (let written = 0; written < totalBytes; ) {
      const length = Math.min(chunk.length, totalBytes - written);
      written += writeSync(fd, chunk, 0, length);
    }
    if (finalSync) fdatasyncSync(fd);
    return (nowMs() - started) / 1000;
  } finally {
    closeSync(fd);
  }
}

export function diskFloor(directory: string, totalBytes: number, groupCommitMs: number, chunkBytes = 1024 * 1024, groupCommitChunkBytes = 64 * 1024): DiskFloor {
  assert(totalBytes > 0 && chunkBytes > 0, "disk floor needs a size");
  mkdirSync(directory, { recursive: true });
  const chunk = new Uint8Array(chunkBytes);
  for (let index = 0; index < chunk.length; index++) chunk[index] = (index * 2654435761) >>> 24;
  const path = join(directory, "disk-floor.bin");
  try {
    const noSyncSeconds = writeFile(path, totalBytes, chunk, false);
    rmSync(path);
    const syncSeconds = writeFile(path, totalBytes, chunk, true);
    rmSync(path);
    // Group commit: chunk + fdatasync for a fixed time.
    const fd = openSync(path, "w");
    const histogram = new LatencyHistogram();
    const small = chunk.subarray(0, groupCommitChunkBytes);
    let bytes = 0;
    const started = nowMs();
    try {
      while (nowMs() - started < groupCommitMs) {
        const before = nowMs();
        bytes += writeSync(fd, small, 0, small.length);
        fdatasyncSync(fd);
        histogram.recordMs(nowMs() - before);
      }
    } finally {
      closeSync(fd);
    }
    const groupSeconds = (nowMs() - started) / 1000;
    return {
      bytes: totalBytes,
      chunkBytes,
      noSyncBytesPerSecond: totalBytes / noSyncSeconds,
      finalSyncBytesPerSecond: totalBytes / syncSeconds,
      groupCommitChunkBytes,
      groupCommitBytesPerSecond: bytes / groupSeconds,
      groupCommitSync: histogram.summary(),
    };
  } finally {
    rmSync(path, { force: true });
  }
}
