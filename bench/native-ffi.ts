// Native helper micro-benchmark: what a bun:ffi call costs, and CRC-32C throughput of the C library
// (SSE4.2 instruction and table paths) against the pure-TypeScript fallback.
//
//   bun bench/native-ffi.ts [--calls N] [--megabytes M] [--rounds R]
//
// --calls      calls per round for the per-call figures (default 1,000,000)
// --megabytes  bytes hashed per round for each throughput figure (default 64)
// --rounds     rounds per figure; the best round is reported (default 5)
//
// Figures are the best of R rounds (least disturbed by the other processes on this 2-core machine).
// Nothing here asserts on speed.

import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildNative } from "../scripts/build-native.ts";
import { fallback } from "../src/native/fallback.ts";
import { builtLibraryPath, loadNativeLibrary, type NativeLibrary } from "../src/native/ffi.ts";

function option(name: string, fallbackValue: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallbackValue;
  const value = Number(process.argv[at + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}

const callsPerRound = option("calls", 1_000_000);
const bytesPerRound = option("megabytes", 64) * 1024 * 1024;
const rounds = option("rounds", 5);

if (["gcc", "cc", "clang"].some((name) => Bun.which(name) !== null)) buildNative({ ifStale: true });
let library: NativeLibrary | null = null;
try {
  library = loadNativeLibrary(builtLibraryPath);
} catch (error) {
  console.log(`native library unavailable (${(error as Error).message}); fallback figures only`);
}

let sink = 0; // results feed this so the JIT cannot drop the calls

function nanosecondsPerCall(call: () => number): number {
  let best = Infinity;
  for (let round = 0; round < rounds; round++) {
    const start = Bun.nanoseconds();
    for (let i = 0; i < callsPerRound; i++) sink ^= call();
    best = Math.min(best, (Bun.nanoseconds() - start) / callsPerRound);
  }
  return best;
}

function megabytesPerSecond(crc: (data: Uint8Array, crc?: number) => number, data: Uint8Array): number {
  const iterations = Math.max(1, Math.round(bytesPerRound / data.length));
  let best = Infinity;
  for (let round = 0; round < rounds; round++) {
    const start = Bun.nanoseconds();
    for (let i = 0; i < iterations; i++) sink ^= crc(data);
    best = Math.min(best, Bun.nanoseconds() - start);
  }
  return (iterations * data.length) / 1e6 / (best / 1e9);
}

function randomData(length: number): Uint8Array {
  const data = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    crypto.getRandomValues(data.subarray(offset, Math.min(length, offset + 65536)));
  }
  return data;
}

const format = (value: number, digits = 1) => value.toFixed(digits).padStart(10);

console.log(`bun ${Bun.version}, ${rounds} rounds, best shown; ${callsPerRound} calls/round, ${bytesPerRound >> 20} MiB/round`);
if (library) console.log(`native: ${library.libraryPath} (CRC-32C ${library.crcHardware ? "SSE4.2 crc32 instruction" : "table"})`);

console.log("\nper call (ns)");
const tiny = randomData(16);
if (library) {
  const native = library;
  console.log(`  ffi no-op call                    ${format(nanosecondsPerCall(() => native.noop(7)))}`);
  console.log(`  native crc32c(16 B)               ${format(nanosecondsPerCall(() => native.crc32c(tiny)))}`);
}
console.log(`  fallback crc32c(16 B)             ${format(nanosecondsPerCall(() => fallback.crc32c(tiny)))}`);

const index = new Uint8Array(4096 * 8);
const indexView = new DataView(index.buffer);
for (let slot = 0; slot < 4096; slot++) indexView.setInt32(slot * 8, slot * 37);
let probe = 0;
const nextTarget = () => (probe = (probe + 7919) % (4096 * 37));
if (library) {
  const native = library;
  console.log(`  native offsetIndexLookup(4096)    ${format(nanosecondsPerCall(() => native.offsetIndexLookup(index, 4096, nextTarget())))}`);
}
console.log(`  fallback offsetIndexLookup(4096)  ${format(nanosecondsPerCall(() => fallback.offsetIndexLookup(index, 4096, nextTarget())))}`);

console.log("\nCRC-32C throughput (MB/s)            16 KiB       1 MiB");
const small = randomData(16 * 1024);
const large = randomData(1024 * 1024);
const row = (label: string, crc: (data: Uint8Array, crc?: number) => number) =>
  console.log(`  ${label.padEnd(32)}${format(megabytesPerSecond(crc, small), 0)}  ${format(megabytesPerSecond(crc, large), 0)}`);
if (library) {
  const native = library;
  row(`native (${native.crcHardware ? "SSE4.2" : "table"})`, (data, crc) => native.crc32c(data, crc));
  row("native table (slicing-by-8)", (data, crc) => native.crc32cTable(data, crc));
}
row("fallback TypeScript (slicing-by-8)", fallback.crc32c);

if (library) {
  // Mapping costs, on a 1 MiB file in the temp directory (page faults of the first touch included).
  const native = library;
  const directory = mkdtempSync(join(tmpdir(), "runnel-bench-native-"));
  const fd = openSync(join(directory, "segment"), "w+");
  try {
    const mapBytes = 1024 * 1024;
    native.fallocate(fd, 0, mapBytes, false);
    const mapCalls = Math.max(1, Math.min(2000, callsPerRound / 500));
    let best = Infinity;
    for (let round = 0; round < rounds; round++) {
      const start = Bun.nanoseconds();
      for (let i = 0; i < mapCalls; i++) {
        const region = native.map(fd, mapBytes, true);
        sink ^= region.bytes[i & 1023]!;
        native.unmap(region);
      }
      best = Math.min(best, (Bun.nanoseconds() - start) / mapCalls);
    }
    console.log(`
map + touch one page + unmap, 1 MiB file (µs)  ${format(best / 1000, 2)}`);
    const region = native.map(fd, mapBytes, true);
    best = Infinity;
    for (let round = 0; round < rounds; round++) {
      region.bytes.fill(round + 1, 0, 64 * 1024);
      const start = Bun.nanoseconds();
      native.msync(region, 0, 64 * 1024);
      best = Math.min(best, Bun.nanoseconds() - start);
    }
    console.log(`msync of 64 KiB just written (µs)              ${format(best / 1000, 2)}`);
    native.unmap(region);
  } finally {
    closeSync(fd);
    rmSync(directory, { recursive: true, force: true });
  }
}

if (sink === 0.5) console.log(""); // keeps `sink` observable
