// `bun bench/stalls.ts`: which appends stall the event loop, and by how much (issue 12, target 2).
// One partition log in process (no network), 16 KiB batches of 1 KiB records appended one at a time
// (acks=1: the call returns once the batch is written), with small segments so that rolls happen;
// every append is timed and classified: the append that rolled a segment (seal, trim, index files
// written, producer snapshot, new segment created) against the others. A timer-drift probe (a 1 ms
// interval) records how late the event loop runs timers meanwhile: garbage collection and blocking
// calls show up there. Each append slower than 1 ms is attributed with the kernel's scheduler
// statistics of the thread (/proc/self/schedstat: time on a CPU, time runnable but waiting for one):
// on a CPU = our code (or garbage collection); waiting for a CPU = the machine is busy (other
// processes); the rest = blocked in the kernel (I/O, the file system's journal). Garbage collection
// is detected by the JavaScript heap shrinking across an append (bun:jsc heapSize(), 0.5 µs): a
// collection finished inside it. Prints Markdown.

import { heapSize } from "bun:jsc";
import { existsSync, readFileSync } from "node:fs";
import { openPartitionLog } from "../src/storage/index.ts";
import { testTopicConfig } from "../src/testing/log-harness.ts";
import { setLogLevel } from "../src/util/logger.ts";
import { LatencyHistogram } from "./lib/histogram.ts";
import { machineInfo, machineMarkdown } from "./lib/machine.ts";
import { formatNumber, table } from "./lib/markdown.ts";
import { batchPool, removeScratch, scratchDirectory } from "./storage-common.ts";

setLogLevel("warn");
const segmentBytes = 16 * 1024 * 1024;
const totalBytes = 512 * 1024 * 1024;
const start = machineInfo();
const directory = scratchDirectory("stalls");
const pool = batchPool();
const log = await openPartitionLog({ dataDir: directory, topic: "stalls", partition: 0, config: { ...testTopicConfig(), "segment.bytes": segmentBytes, "segment.index.bytes": 10 * 1024 * 1024 } });
const plain = new LatencyHistogram();
const rolls = new LatencyHistogram();
const drift = new LatencyHistogram();
let expected = performance.now() + 1;
const probe = setInterval(() => {
  const now = performance.now();
  drift.recordUs(Math.max(1, (now - expected) * 1000));
  expected = now + 1;
}, 1);
/** [ns on a CPU, ns waiting for a CPU] of this (the main) thread, or null without schedstat. */
const schedstatPath = "/proc/thread-self/schedstat";
const hasSchedstat = existsSync(schedstatPath);
function schedstat(): [number, number] {
  if (!hasSchedstat) return [0, 0];
  const [running, waiting] = readFileSync(schedstatPath, "utf8").split(" ");
  return [Number(running), Number(waiting)];
}
/** Appends slower than 1 ms, by kind: count, wall, on-CPU and run-queue milliseconds. */
const withCollection = new LatencyHistogram();
const slow = { plain: { count: 0, wallMs: 0, cpuMs: 0, queueMs: 0 }, roll: { count: 0, wallMs: 0, cpuMs: 0, queueMs: 0 } };
let written = 0;
let index = 0;
try {
  while (written < totalBytes) {
    const segmentsBefore = log.segmentCount;
    const batch = pool[index++ % pool.length]!;
    const schedBefore = schedstat();
    const heapBefore = heapSize();
    const began = performance.now();
    await log.append(batch);
    const us = Math.max(1, (performance.now() - began) * 1000);
    const rolled = log.segmentCount !== segmentsBefore;
    (rolled ? rolls : plain).recordUs(us);
    if (heapSize() < heapBefore) withCollection.recordUs(us);
    if (us > 1000) {
      const schedAfter = schedstat();
      const entry = rolled ? slow.roll : slow.plain;
      entry.count += 1;
      entry.wallMs += us / 1000;
      entry.cpuMs += (schedAfter[0] - schedBefore[0]) / 1e6;
      entry.queueMs += (schedAfter[1] - schedBefore[1]) / 1e6;
    }
    written += batch.length;
    // Let timers run between appends, as a broker's event loop would between requests.
    if (index % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
} finally {
  clearInterval(probe);
  await log.close();
  removeScratch(directory);
}
const row = (label: string, histogram: LatencyHistogram) => {
  const summary = histogram.summary();
  return [label, formatNumber(histogram.count), ...[summary.p50Us, summary.p99Us, summary.p999Us, summary.maxUs].map((value) => formatNumber(value))];
};
console.log(machineMarkdown(start).trimEnd() + `; load average at end ${machineInfo().loadAverage}`);
console.log(`- ${totalBytes / 2 ** 20} MiB in 16 KiB batches into one log, segment.bytes ${segmentBytes / 2 ** 20} MiB (a roll every ~${segmentBytes / 16384} appends)\n`);
console.log(table(["what", "count", "p50 µs", "p99 µs", "p99.9 µs", "max µs"], [
  row("append (no roll)", plain),
  row("append that rolled the segment", rolls),
  row("append during which a garbage collection finished (heap shrank)", withCollection),
  row("1 ms timer lateness (event loop stalls)", drift),
]));
if (hasSchedstat) {
  const share = (part: number, whole: number) => (whole > 0 ? `${formatNumber(part, 1)} (${Math.round((100 * part) / whole)} %)` : "—");
  const slowRow = (label: string, entry: typeof slow.plain) => [
    label, formatNumber(entry.count), formatNumber(entry.wallMs, 1), share(entry.cpuMs, entry.wallMs), share(entry.queueMs, entry.wallMs),
    share(Math.max(0, entry.wallMs - entry.cpuMs - entry.queueMs), entry.wallMs),
  ];
  console.log("\nAppends slower than 1 ms, where their time went (/proc/thread-self/schedstat):\n");
  console.log(table(["what", "count > 1 ms", "wall ms", "on a CPU ms", "waiting for a CPU ms", "blocked in the kernel ms"], [
    slowRow("append (no roll)", slow.plain),
    slowRow("append that rolled the segment", slow.roll),
  ]));
}
process.exit(0);
