// A segment roll does no blocking file-system work on the event loop beyond creating the new
// segment (issue 12: the trim of the sealed segment's reserved tail and its index files used to run
// synchronously inside the append that rolled — 2–86 ms stalls under load). The work now runs in
// the thread pool and the log's next sync awaits it; these tests check what must still hold:
// nothing blocking in the rolling append, the sealed file cut to its batches once the sync is done,
// index files written, truncation and close right after a roll correct, with and without mappings.

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fallback } from "../../src/native/fallback.ts";
import { native as defaultNative } from "../../src/native/index.ts";
import type { NativeApi } from "../../src/native/types.ts";
import { createRealFs, type StorageFs } from "../../src/storage/fs.ts";
import { openPartitionLog } from "../../src/storage/index.ts";
import { PartitionProducerState } from "../../src/storage/producer-state.ts";
import { openTestLog, testTopicConfig } from "../../src/testing/log-harness.ts";
import { simpleBatch, splitBatches, concat } from "./batches.ts";

/** The real file layer, recording the blocking calls made while `recording` is set. */
function recordingFs(): { fs: StorageFs; calls: string[]; recording: { on: boolean } } {
  const inner = createRealFs();
  const calls: string[] = [];
  const recording = { on: false };
  const fs: StorageFs = {
    ...inner,
    open(path, mode) {
      if (recording.on) calls.push(`open ${path.split("/").at(-1)}`);
      return inner.open(path, mode);
    },
    ftruncate(fd, size) {
      if (recording.on) calls.push(`ftruncate ${size}`);
      inner.ftruncate(fd, size);
    },
  };
  return { fs, calls, recording };
}

const natives: NativeApi[] = defaultNative.canMap ? [defaultNative, fallback] : [fallback];

for (const native of natives) {
  describe(`segment roll off the event loop (${native.name})`, () => {
    let directory: string;
    beforeEach(() => {
      directory = mkdtempSync(join(tmpdir(), "runnel-roll-"));
    });
    afterEach(() => {
      rmSync(directory, { recursive: true, force: true });
    });
    const config = { "segment.bytes": 64 * 1024, "flush.messages": Number.MAX_SAFE_INTEGER, "flush.ms": Number.MAX_SAFE_INTEGER };
    const batch = (index: number) => simpleBatch(native, 4, { prefix: `b${index}-`, valueBytes: 1000 });

    test("the rolling append only creates the new segment; the sealed file is cut and indexed by the sync", async () => {
      const { fs, calls, recording } = recordingFs();
      const log = await openTestLog({ directory, fs, native, config });
      try {
        let index = 0;
        while (log.segmentCount === 1) {
          recording.on = true;
          await log.append(batch(index++));
          recording.on = false;
          if (log.segmentCount === 1) calls.length = 0;
        }
        // The append that rolled: one open (the new .log), no index file, no ftruncate.
        expect(calls).toEqual([`open ${readdirSync(directory).filter((name) => name.endsWith(".log")).sort().at(-1)}`]);
        await log.flush();
        const sealed = readdirSync(directory).filter((name) => name.endsWith(".log")).sort()[0]!;
        const stem = sealed.slice(0, -".log".length);
        const sealedBytes = splitBatches(concat(Array.from({ length: index - 1 }, (_, i) => batch(i)))).reduce((sum, entry) => sum + entry.bytes.length, 0);
        expect(statSync(join(directory, sealed)).size).toBe(sealedBytes);
        expect(existsSync(join(directory, `${stem}.index`))).toBe(true);
        expect(existsSync(join(directory, `${stem}.timeindex`))).toBe(true);
      } finally {
        await log.close();
      }
    });

    test("with idempotent producers the rolling append still only creates the new segment; the snapshot follows with the sync", async () => {
      const { fs, calls, recording } = recordingFs();
      const log = await openPartitionLog({ dataDir: directory, topic: "idempotent", partition: 0, config: testTopicConfig(config), native, fs, producerState: new PartitionProducerState() });
      try {
        let sequence = 0;
        const idempotent = () => simpleBatch(native, 4, { producerId: 9n, producerEpoch: 0, baseSequence: 4 * sequence++, valueBytes: 1000 });
        while (log.segmentCount === 1) {
          recording.on = true;
          await log.append(idempotent());
          recording.on = false;
          if (log.segmentCount === 1) calls.length = 0;
        }
        // One open (the new .log): no snapshot file, no readdir-and-unlink of old snapshots.
        expect(calls.length).toBe(1);
        expect(calls[0]).toEndWith(".log");
        await log.flush();
        const partitionDirectory = join(directory, "idempotent-0");
        const snapshotNames = readdirSync(partitionDirectory).filter((name) => name.endsWith(".snapshot"));
        expect(snapshotNames).toEqual([`${String(log.logEndOffset - 4n).padStart(20, "0")}.snapshot`]);
      } finally {
        await log.close();
      }
    });

    test("truncation into the sealed segment right after the roll keeps the log correct", async () => {
      const log = await openTestLog({ directory, native, config });
      let index = 0;
      while (log.segmentCount === 1) await log.append(batch(index++));
      // No await between the roll and the truncation: the background trim may still run.
      const truncated = log.truncateTo(4n);
      await truncated;
      expect(log.logEndOffset).toBe(4n);
      expect(log.segmentCount).toBe(1);
      const appended = await log.append(batch(100));
      expect(appended.baseOffset).toBe(4n);
      await log.close();
      const reopened = await openTestLog({ directory, native, config });
      try {
        expect(reopened.logEndOffset).toBe(8n);
        const read = reopened.read(4n, 1 << 20);
        expect(splitBatches(concat(read.chunks))[0]!.baseOffset).toBe(4n);
        read.release();
      } finally {
        await reopened.close();
      }
    });

    test("close right after many rolls leaves every sealed file cut to its batches", async () => {
      const log = await openTestLog({ directory, native, config });
      for (let index = 0; index < 200; index++) await log.append(batch(index));
      const segments = log.segmentCount;
      expect(segments).toBeGreaterThan(5);
      await log.close();
      const reopened = await openTestLog({ directory, native, config });
      try {
        expect(reopened.logEndOffset).toBe(800n);
        expect(reopened.segmentCount).toBe(segments);
        // Every batch is back and every .log ends at its last batch (no zero tail).
        // (A zero tail would split into 12-byte "batches" of length field 0.)
        for (const name of readdirSync(directory).filter((entry) => entry.endsWith(".log"))) {
          const contents = readFileSync(join(directory, name));
          const batches = splitBatches(contents);
          expect(batches.length).toBeGreaterThan(0);
          expect(batches.reduce((sum, entry) => sum + entry.bytes.length, 0)).toBe(contents.length);
          expect(batches.every((entry) => entry.bytes.length > 61)).toBe(true);
          expect(batches[0]!.baseOffset).toBe(BigInt(name.slice(0, 20)));
        }
      } finally {
        await reopened.close();
      }
    });
  });
}
