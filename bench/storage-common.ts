// Shared pieces of the storage benchmarks (bench/storage-append.ts, storage-durable.ts,
// storage-read.ts, storage-recovery.ts): sizes from the environment, the workload (1 KiB records in
// 16 KiB RecordBatch v2 batches), the raw-file baselines measured in the same run, and printing.
//
// Sizes: RUNNEL_BENCH_STORAGE_MIB (default 256) or RUNNEL_BENCH_FULL=1 (1024 MiB, the issue's
// figure). Scratch files go under RUNNEL_BENCH_DIR (default the OS temp dir) and are removed.

import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { native } from "../src/native/index.ts";
import { buildBatch, useCrc32c } from "../src/testing/record-batches.ts";
import { machineInfo } from "./lib/machine.ts";

// Builders use the same CRC as the broker (native when loaded), so building the pool is quick.
useCrc32c((data) => native.crc32c(data));

export const mebibyte = 1024 * 1024;
export const recordValueBytes = 1000; // ~1 KiB per record with its framing
export const recordsPerBatch = 16; // ~16 KiB per batch

export function benchBytes(defaultMiB = 256): number {
  if (process.env.RUNNEL_BENCH_FULL === "1") return 1024 * mebibyte;
  const mib = Number(process.env.RUNNEL_BENCH_STORAGE_MIB ?? defaultMiB);
  if (!Number.isFinite(mib) || mib <= 0) throw new Error(`RUNNEL_BENCH_STORAGE_MIB must be a positive number, got ${process.env.RUNNEL_BENCH_STORAGE_MIB}`);
  return Math.round(mib * mebibyte);
}

export function scratchDirectory(name: string): string {
  return mkdtempSync(join(process.env.RUNNEL_BENCH_DIR ?? tmpdir(), `runnel-bench-${name}-`));
}

export function removeScratch(directory: string): void {
  rmSync(directory, { recursive: true, force: true });
}

/** `count` distinct batches of 16 × 1 KiB records (appends stamp offsets into them in place). */
export function batchPool(count = 64, seed = 7): Uint8Array[] {
  const pool: Uint8Array[] = [];
  for (let index = 0; index < count; index++) {
    pool.push(buildBatch({ batchNumber: index, seed, recordCount: recordsPerBatch, valueBytes: recordValueBytes }));
  }
  return pool;
}

export interface Timing {
  bytes: number;
  seconds: number;
}

export function rate(timing: Timing): number {
  return timing.bytes / timing.seconds;
}

/**
 * The baseline: the same batch bytes written one after another to a fresh file with write(2),
 * optionally followed by one fdatasync (what `dd conv=fdatasync` measures).
 */
export function rawSequentialWrite(path: string, pool: Uint8Array[], totalBytes: number, sync: boolean): Timing {
  const fd = openSync(path, "w");
  let written = 0;
  let index = 0;
  const started = performance.now();
  try {
    while (written < totalBytes) {
      const batch = pool[index++ % pool.length]!;
      let done = 0;
      while (done < batch.length) done += writeSync(fd, batch, done, batch.length - done);
      written += batch.length;
    }
    if (sync) fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { bytes: written, seconds: (performance.now() - started) / 1000 };
}

export function megabytes(bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1e6).toFixed(0)} MB/s`;
}

export function header(title: string, totalBytes: number): void {
  const machine = machineInfo();
  console.log(`# ${title}`);
  console.log(
    `${machine.date} · ${machine.cpus} CPUs ${machine.model} · ${machine.memoryGiB} GiB · Linux ${machine.kernel} · Bun ${machine.bun} · load ${machine.loadAverage} · native helper: ${native.name} · ${(totalBytes / mebibyte).toFixed(0)} MiB per run`,
  );
}

/** Prints a figure line and a machine-readable JSON line (for collecting results). */
export function report(name: string, figures: Record<string, number | string>): void {
  const text = Object.entries(figures)
    .map(([key, value]) => `${key}=${typeof value === "number" ? (Number.isInteger(value) ? value : value.toFixed(3)) : value}`)
    .join("  ");
  console.log(`${name}: ${text}`);
  console.log(`JSON ${JSON.stringify({ bench: name, native: native.name, ...figures })}`);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
