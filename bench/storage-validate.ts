// The cost of validating a produced batch on the append path, per batch: 16 × 1 KiB records in one
// uncompressed 16 KiB RecordBatch v2 (the storage benches' workload). Three figures, each the
// median of several rounds:
//   - validate: validateIncomingBatches as append runs it (header, CRC-32C, record walk)
//   - walk:     the record walk alone (walkRecords over the records section)
// plus the whole append (validate, stamp, pwrite into the page cache, index) for scale.
//
//   bun bench/storage-validate.ts     RUNNEL_BENCH_BATCHES=200000 (default) batches per round

import { native } from "../src/native/index.ts";
import { validateIncomingBatches } from "../src/protocol/record-batch.ts";
import { openPartitionLog } from "../src/storage/index.ts";
import { walkRecords } from "../src/protocol/record-batch.ts";
import { testTopicConfig } from "../src/testing/log-harness.ts";
import { setLogLevel } from "../src/util/logger.ts";
import { batchPool, median, removeScratch, scratchDirectory } from "./storage-common.ts";

setLogLevel("warn");

const batches = Number(process.env.RUNNEL_BENCH_BATCHES ?? 200_000);
const rounds = 5;
const limits = { maxMessageBytes: 1024 * 1024 };
const pool = batchPool(64);

function nsPerBatch(run: () => void): number {
  const started = Bun.nanoseconds();
  run();
  return (Bun.nanoseconds() - started) / batches;
}

function measure(name: string, run: () => void): number {
  run(); // warm up
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) samples.push(nsPerBatch(run));
  const result = median(samples);
  console.log(`${name.padEnd(12)} ${result.toFixed(0).padStart(7)} ns/batch`);
  return result;
}

let sink = 0;
measure("validate", () => {
  for (let index = 0; index < batches; index++) sink += validateIncomingBatches(native, pool[index & 63]!, limits).length;
});
measure("walk", () => {
  for (let index = 0; index < batches; index++) {
    const batch = pool[index & 63]!;
    if (walkRecords(batch, 61, batch.length, 16) === null) sink++;
  }
});

const directory = scratchDirectory("validate");
try {
  const log = await openPartitionLog({ dataDir: directory, topic: "bench", partition: 0, config: testTopicConfig() });
  const appendBatches = Math.min(batches, 20_000); // 20,000 × 16 KiB = 320 MiB of page cache
  const started = Bun.nanoseconds();
  for (let index = 0; index < appendBatches; index++) await log.append(pool[index & 63]!);
  console.log(`${"append".padEnd(12)} ${((Bun.nanoseconds() - started) / appendBatches).toFixed(0).padStart(7)} ns/batch (${appendBatches} batches, one round)`);
  await log.close();
} finally {
  removeScratch(directory);
}
if (sink < 0) console.log(sink);
