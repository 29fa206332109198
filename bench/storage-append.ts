// Append throughput into the page cache: 1 KiB records in 16 KiB batches appended to a partition
// log (validate, CRC-32C, stamp, write, index) against a raw sequential write(2) of the same bytes
// to a plain file, in the same run, alternating so that both see the same machine state.
// Target (issue 2): log / raw >= 0.7.
//
//   bun bench/storage-append.ts            (256 MiB per run; RUNNEL_BENCH_FULL=1 for 1 GiB)
//   RUNNEL_BENCH_ROUNDS=3 (default)        alternating raw/log rounds; medians are reported

import { join } from "node:path";
import { openPartitionLog } from "../src/storage/index.ts";
import { testTopicConfig } from "../src/testing/log-harness.ts";
import { setLogLevel } from "../src/util/logger.ts";
import { batchPool, benchBytes, header, median, megabytes, rate, rawSequentialWrite, removeScratch, report, scratchDirectory, type Timing } from "./storage-common.ts";

setLogLevel("warn");

export async function appendToLog(directory: string, pool: Uint8Array[], totalBytes: number): Promise<Timing> {
  const log = await openPartitionLog({ dataDir: directory, topic: "bench", partition: 0, config: testTopicConfig() });
  let written = 0;
  let index = 0;
  const started = performance.now();
  while (written < totalBytes) {
    const batch = pool[index++ % pool.length]!;
    await log.append(batch);
    written += batch.length;
  }
  const seconds = (performance.now() - started) / 1000;
  await log.close();
  return { bytes: written, seconds };
}

if (import.meta.main) {
  const totalBytes = benchBytes();
  const rounds = Number(process.env.RUNNEL_BENCH_ROUNDS ?? 3);
  header("storage-append: 1 KiB records in 16 KiB batches, page cache", totalBytes);
  const pool = batchPool();
  const raw: number[] = [];
  const logged: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const directory = scratchDirectory("append");
    try {
      raw.push(rate(rawSequentialWrite(join(directory, "raw.bin"), pool, totalBytes, false)));
      removeScratch(join(directory, "raw.bin"));
      logged.push(rate(await appendToLog(directory, pool, totalBytes)));
    } finally {
      removeScratch(directory);
    }
    console.log(`round ${round + 1}: raw ${megabytes(raw.at(-1)!)}, log ${megabytes(logged.at(-1)!)}`);
  }
  const rawRate = median(raw);
  const logRate = median(logged);
  report("storage-append", {
    rawMBps: rawRate / 1e6,
    logMBps: logRate / 1e6,
    ratio: logRate / rawRate,
    target: 0.7,
    batchesPerSecond: logRate / pool[0]!.length,
    rounds,
  });
}
