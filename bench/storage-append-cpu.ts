// CPU cost of the append path alone: 1 KiB records in 16 KiB batches appended to a partition log
// whose file writes are discarded (pwrite and fallocate are no-ops), so what is timed is what the
// log adds over write(2): validation (CRC-32C, record walk), producer and roll checks, stamping,
// indexing, the promise per append. Reports process CPU time per append (user + system, from
// process.cpuUsage) as well as wall time: CPU time is far less disturbed by other processes on a
// shared machine than the MB/s of storage-append.ts, so before/after comparisons use it.
//
//   bun bench/storage-append-cpu.ts       RUNNEL_BENCH_APPENDS=100000 (per round), RUNNEL_BENCH_ROUNDS=7

import { openPartitionLog, realFs, type StorageFs } from "../src/storage/index.ts";
import { testTopicConfig } from "../src/testing/log-harness.ts";
import { setLogLevel } from "../src/util/logger.ts";
import { batchPool, header, median, removeScratch, report, scratchDirectory } from "./storage-common.ts";

setLogLevel("warn");

const appends = Number(process.env.RUNNEL_BENCH_APPENDS ?? 100_000);
const rounds = Number(process.env.RUNNEL_BENCH_ROUNDS ?? 7);
if (!Number.isSafeInteger(appends) || appends <= 0) throw new Error(`RUNNEL_BENCH_APPENDS must be a positive integer, got ${process.env.RUNNEL_BENCH_APPENDS}`);
if (!Number.isSafeInteger(rounds) || rounds <= 0) throw new Error(`RUNNEL_BENCH_ROUNDS must be a positive integer, got ${process.env.RUNNEL_BENCH_ROUNDS}`);

const discardingFs: StorageFs = { ...realFs, pwrite: (_fd, data) => data.length, allocate: () => {} };
const pool = batchPool();
header(`storage-append-cpu: ${appends} appends of 16 KiB batches per round, writes discarded`, appends * pool[0]!.length);
const cpuMicros: number[] = [];
const wallMicros: number[] = [];
for (let round = 0; round < rounds; round++) {
  const directory = scratchDirectory("append-cpu");
  try {
    const log = await openPartitionLog({ dataDir: directory, topic: "bench", partition: 0, config: testTopicConfig(), fs: discardingFs });
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    for (let index = 0; index < appends; index++) await log.append(pool[index % pool.length]!);
    const wall = (performance.now() - started) * 1000;
    const cpu = process.cpuUsage(cpuBefore);
    await log.close();
    cpuMicros.push((cpu.user + cpu.system) / appends);
    wallMicros.push(wall / appends);
  } finally {
    removeScratch(directory);
  }
  console.log(`round ${round + 1}: cpu ${cpuMicros.at(-1)!.toFixed(2)} µs/append, wall ${wallMicros.at(-1)!.toFixed(2)} µs/append`);
}
report("storage-append-cpu", {
  cpuMicrosPerAppend: median(cpuMicros),
  cpuMicrosPerAppendMin: Math.min(...cpuMicros),
  wallMicrosPerAppend: median(wallMicros),
  appends,
  rounds,
});
