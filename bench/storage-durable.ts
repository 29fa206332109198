// Durable appends with group commit: 8 concurrent appenders, each appending a 16 KiB batch and
// awaiting its `durable` promise before the next (flush.messages=1: every append asks for a sync;
// one fdatasync covers every batch appended since the last one). Baseline in the same run: the
// same bytes written sequentially to a file followed by one fdatasync (what `dd conv=fdatasync`
// measures). Target (issue 2): log / baseline >= 0.5.
//
//   bun bench/storage-durable.ts      (128 MiB per run by default; RUNNEL_BENCH_STORAGE_MIB, RUNNEL_BENCH_FULL=1)
//   RUNNEL_BENCH_APPENDERS=8 (default), RUNNEL_BENCH_ROUNDS=3 (default)

import { join } from "node:path";
import { openPartitionLog, realFs, type StorageFs } from "../src/storage/index.ts";
import { testTopicConfig } from "../src/testing/log-harness.ts";
import { setLogLevel } from "../src/util/logger.ts";
import { batchPool, benchBytes, header, median, megabytes, rate, rawSequentialWrite, removeScratch, report, scratchDirectory, type Timing } from "./storage-common.ts";

setLogLevel("warn");

interface DurableTiming extends Timing {
  appends: number;
  latenciesMs: number[];
  /** fdatasync calls made by the log, and the time they took (group commit efficiency). */
  syncs: number;
  syncSeconds: number;
}

async function durableAppends(directory: string, totalBytes: number, appenders: number): Promise<DurableTiming> {
  let syncs = 0;
  let syncSeconds = 0;
  const countingFs: StorageFs = {
    ...realFs,
    datasync: async (fd) => {
      const started = performance.now();
      await realFs.datasync(fd);
      syncs++;
      syncSeconds += (performance.now() - started) / 1000;
    },
  };
  const log = await openPartitionLog({
    dataDir: directory,
    topic: "bench",
    partition: 0,
    config: testTopicConfig({ "flush.messages": 1 }),
    fs: countingFs,
  });
  // Each appender owns its batches: an append stamps offsets into the buffer it was given.
  const pools = Array.from({ length: appenders }, (_, index) => batchPool(8, 100 + index));
  let claimed = 0;
  let appends = 0;
  const latenciesMs: number[] = [];
  const started = performance.now();
  const appender = async (id: number) => {
    const pool = pools[id]!;
    for (let index = 0; ; index++) {
      const batch = pool[index % pool.length]!;
      if (claimed >= totalBytes) return;
      claimed += batch.length;
      const sent = performance.now();
      const result = await log.append(batch);
      await result.durable;
      latenciesMs.push(performance.now() - sent);
      appends++;
    }
  };
  await Promise.all(Array.from({ length: appenders }, (_, id) => appender(id)));
  const seconds = (performance.now() - started) / 1000;
  await log.close();
  return { bytes: claimed, seconds, appends, latenciesMs, syncs, syncSeconds };
}

if (import.meta.main) {
  const totalBytes = benchBytes(128);
  const appenders = Number(process.env.RUNNEL_BENCH_APPENDERS ?? 8);
  const rounds = Number(process.env.RUNNEL_BENCH_ROUNDS ?? 3);
  header(`storage-durable: ${appenders} appenders awaiting durability (group commit) vs write + one fdatasync`, totalBytes);
  const pool = batchPool();
  const raw: number[] = [];
  const logged: number[] = [];
  const syncsPerSecond: number[] = [];
  const batchesPerSync: number[] = [];
  const syncMs: number[] = [];
  let latencies: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const directory = scratchDirectory("durable");
    try {
      raw.push(rate(rawSequentialWrite(join(directory, "raw.bin"), pool, totalBytes, true)));
      removeScratch(join(directory, "raw.bin"));
      const timing = await durableAppends(directory, totalBytes, appenders);
      logged.push(rate(timing));
      latencies = timing.latenciesMs;
      syncsPerSecond.push(timing.appends / timing.seconds);
      batchesPerSync.push(timing.appends / Math.max(1, timing.syncs));
      syncMs.push(timing.syncSeconds * 1000 / Math.max(1, timing.syncs));
    } finally {
      removeScratch(directory);
    }
    console.log(`round ${round + 1}: write+fdatasync ${megabytes(raw.at(-1)!)}, durable appends ${megabytes(logged.at(-1)!)}`);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const percentile = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
  report("storage-durable", {
    baselineMBps: median(raw) / 1e6,
    durableMBps: median(logged) / 1e6,
    ratio: median(logged) / median(raw),
    target: 0.5,
    durableAppendsPerSecond: median(syncsPerSecond),
    batchesPerSync: median(batchesPerSync),
    syncMsMean: median(syncMs),
    latencyP50Ms: percentile(50),
    latencyP99Ms: percentile(99),
    appenders,
    rounds,
  });
}
