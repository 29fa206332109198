// A full disk: appends fail with KAFKA_STORAGE_ERROR, the process keeps running (no SIGBUS from a
// mapping), nothing written earlier is lost, and appends succeed again once space is freed.
//
// Two ways to fill the disk:
//  - a real one: an 8 MiB tmpfs mounted for the test (needs root / CAP_SYS_ADMIN; skipped with the
//    reason printed otherwise);
//  - an injected one: the fault-injecting file layer fails pwrite/allocate with ENOSPC, and
//    datasync with EIO (works anywhere).

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { native } from "../../src/native/index.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { realFs } from "../../src/storage/index.ts";
import { FaultFs, type FsOperation } from "../../src/testing/fault-fs.ts";
import { openTestLog, verifyAgainstWorkload, workloadBatch, type Acknowledgement, type TestLog, type WorkloadShape } from "../../src/testing/log-harness.ts";
import { setLogLevel } from "../../src/util/logger.ts";

// Failed syncs and refused appends are logged as errors by design here: keep quiet unless asked.
if (process.env.RUNNEL_LOG_LEVEL === undefined) setLogLevel("silent");

const shape: WorkloadShape = { recordCount: 16, valueBytes: 1000, seed: 21 };
const directories: string[] = [];

// Mounted when the file is loaded, so that the real full-disk test can be skipped (and shown as
// skipped) where it cannot be mounted: that needs root (CAP_SYS_ADMIN).
const mountPoint: string | null = (() => {
  const directory = mkdtempSync(join(tmpdir(), "runnel-full-disk-"));
  directories.push(directory);
  const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", directory], { stderr: "pipe" });
  if (mounted.exitCode === 0) return directory;
  console.warn(`real full-disk test skipped: cannot mount an 8 MiB tmpfs (${mounted.stderr.toString().trim() || `exit ${mounted.exitCode}`}); it needs root`);
  return null;
})();

afterAll(() => {
  if (mountPoint !== null) Bun.spawnSync(["umount", "-l", mountPoint]);
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

function expectStorageError(error: unknown): void {
  expect(error).toBeInstanceOf(KafkaError);
  expect((error as KafkaError).code).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
}

/** Appends until the first failure (bounded); returns the acknowledgements and the error. */
async function appendUntilFailure(log: TestLog, firstBatch: number, limit: number) {
  const acks: Acknowledgement[] = [];
  for (let batchNumber = firstBatch; batchNumber < firstBatch + limit; batchNumber++) {
    try {
      const result = await log.append(workloadBatch(shape, batchNumber));
      acks.push({ batchNumber, baseOffset: result.baseOffset });
    } catch (error) {
      return { acks, error, failedBatch: batchNumber };
    }
  }
  return { acks, error: null, failedBatch: -1 };
}

describe(`full disk (${native.name})`, () => {
  test.skipIf(mountPoint === null)("a real full tmpfs: KAFKA_STORAGE_ERROR, no SIGBUS, earlier data intact, appends resume after space is freed", async () => {
    const directory = join(mountPoint!, "log");
    // 1.5 MiB of filler that we delete later to free space.
    const filler = join(mountPoint!, "filler");
    writeFileSync(filler, new Uint8Array(1536 * 1024));
    const config = { "segment.bytes": 1024 * 1024 };
    const log = await openTestLog({ directory, config });
    const filled = await appendUntilFailure(log, 0, 2000);
    expect(filled.error).not.toBeNull();
    expectStorageError(filled.error);
    expect(filled.acks.length).toBeGreaterThan(100); // ~6 MiB went in before the disk filled
    // The log is unchanged by the failed append and keeps refusing cleanly while the disk is full.
    const endAfterFailure = log.logEndOffset;
    expect(endAfterFailure).toBe(filled.acks.at(-1)!.baseOffset + BigInt(shape.recordCount));
    const again = await appendUntilFailure(log, filled.failedBatch, 3);
    expect(again.acks.length).toBe(0);
    expectStorageError(again.error);
    expect(log.logEndOffset).toBe(endAfterFailure);
    // Everything acknowledged reads back.
    const before = verifyAgainstWorkload(log, directory, shape, filled.acks);
    expect(before.problems).toEqual([]);
    // Free space: appends work again on the same log, and are durable.
    unlinkSync(filler);
    const resumed = await appendUntilFailure(log, filled.failedBatch, 20);
    expect(resumed.error).toBeNull();
    expect(resumed.acks[0]!.baseOffset).toBe(endAfterFailure);
    await log.flush();
    await log.close();
    const reopened = await openTestLog({ directory, config });
    try {
      const after = verifyAgainstWorkload(reopened, directory, shape, [...filled.acks, ...resumed.acks]);
      expect(after.problems).toEqual([]);
    } finally {
      await reopened.close();
    }
  });

  for (const operation of ["pwrite", "allocate", "open"] as const satisfies FsOperation[]) {
    // Without mappings (the fallback) nothing is reserved, so `allocate` is never on the append path.
    test.skipIf(operation === "allocate" && !native.canMap)(`injected ENOSPC on ${operation}: the append fails cleanly, the log is unchanged, later appends succeed`, async () => {
      const directory = mkdtempSync(join(tmpdir(), "runnel-enospc-"));
      directories.push(directory);
      let full = false;
      const fault = new FaultFs({
        root: directory,
        inner: realFs,
        inject: (op) => (full && op === operation ? "ENOSPC" : null),
      });
      // Small segments so that `open` (a roll creating files) is on the append path.
      const config = { "segment.bytes": 64 * 1024 };
      const log = await openTestLog({ directory, config, fs: fault });
      const first = await appendUntilFailure(log, 0, 30);
      expect(first.error).toBeNull();
      full = true;
      const end = log.logEndOffset;
      // Enough appends that a roll (open) or a reservation (allocate) is reached.
      const failed = await appendUntilFailure(log, 30, 200);
      full = false;
      expectStorageError(failed.error);
      const failedEnd = log.logEndOffset;
      expect(failedEnd).toBe(failed.acks.length === 0 ? end : failed.acks.at(-1)!.baseOffset + BigInt(shape.recordCount));
      const resumed = await appendUntilFailure(log, failed.failedBatch, 10);
      expect(resumed.error).toBeNull();
      expect(resumed.acks[0]!.baseOffset).toBe(failedEnd);
      await log.flush();
      const acks = [...first.acks, ...failed.acks, ...resumed.acks];
      const check = verifyAgainstWorkload(log, directory, shape, acks);
      expect(check.problems).toEqual([]);
      await log.close();
      const reopened = await openTestLog({ directory, config });
      try {
        expect(verifyAgainstWorkload(reopened, directory, shape, acks).problems).toEqual([]);
      } finally {
        await reopened.close();
      }
    });
  }

  test("injected EIO on fdatasync: `durable` rejects with KAFKA_STORAGE_ERROR, appends are refused, reopening recovers", async () => {
    const directory = mkdtempSync(join(tmpdir(), "runnel-eio-"));
    directories.push(directory);
    let failing = false;
    const fault = new FaultFs({ root: directory, inner: realFs, inject: (op) => (failing && op === "datasync" ? "EIO" : null) });
    const config = { "flush.messages": 1 };
    const log = await openTestLog({ directory, config, fs: fault });
    const acks: Acknowledgement[] = [];
    for (let batchNumber = 0; batchNumber < 10; batchNumber++) {
      const result = await log.append(workloadBatch(shape, batchNumber));
      await result.durable;
      acks.push({ batchNumber, baseOffset: result.baseOffset });
    }
    failing = true;
    const doomed = await log.append(workloadBatch(shape, 10));
    const outcome = await doomed.durable.then(() => null, (error: unknown) => error);
    expectStorageError(outcome);
    // After a failed fsync the page cache state is unknown: the log refuses appends until reopened.
    const refused = await log.append(workloadBatch(shape, 11)).then(() => null, (error: unknown) => error);
    expectStorageError(refused);
    failing = false;
    await log.close().catch(() => {});
    const reopened = await openTestLog({ directory, config });
    try {
      const check = verifyAgainstWorkload(reopened, directory, shape, acks);
      expect(check.problems).toEqual([]);
    } finally {
      await reopened.close();
    }
  });
});
