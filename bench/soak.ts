// `bun bench/soak.ts [--minutes=10] [--rate=10000]`: issue 12 target 5 — the broker's memory over a
// long produce + consume run at a fixed offered rate (1 KiB records, the bench's producer and an
// end-to-end consumer process), sampled every 10 s from /proc (RSS, anonymous, file-backed, and
// the data files mapped). The topic keeps at most 512 MiB (retention.bytes, 64 MiB segments) so
// that the disk does not fill. Prints Markdown for bench/results: the samples, and anonymous RSS
// at the end against the first sample after warm-up (flat = within 10 %).

import { processMemory, type ProcessMemory } from "./kafka/broker.ts";
import { loadCrc32c } from "./kafka/crc32c.ts";
import { machineInfo, machineMarkdown } from "./lib/machine.ts";
import { formatNumber, table } from "./lib/markdown.ts";
import { defaultParams } from "./lib/params.ts";
import { openLoopRun } from "./lib/runner.ts";
import { startRunnel } from "./systems/kafka.ts";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => Number(args.find((arg) => arg.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const minutes = flag("minutes", 10);
const rate = flag("rate", 10_000);
const warmupMs = Math.min(60_000, minutes * 60_000 / 4);

const { crc32c } = await loadCrc32c();
const start = machineInfo();
const params = { ...defaultParams, consumers: 1 };
const runnel = await startRunnel({
  name: "Runnel", params, crc32c,
  settings: { "log.retention.check.interval.ms": "10000" },
  topicConfigs: { "retention.bytes": String(512 * 1024 * 1024), "segment.bytes": String(64 * 1024 * 1024) },
});
const samples: { atS: number; memory: ProcessMemory }[] = [];
const began = Date.now();
const sampler = setInterval(() => {
  const memory = runnel.memory?.();
  if (memory) samples.push({ atS: Math.round((Date.now() - began) / 1000), memory });
}, 10_000);
let result;
try {
  result = await openLoopRun(runnel, "soak", { rate, durationMs: minutes * 60_000 - warmupMs, warmupMs, endToEnd: true }, params);
} finally {
  clearInterval(sampler);
  await runnel.stop();
}
const mib = (bytes: number) => formatNumber(bytes / 2 ** 20, 1);
const afterWarmup = samples.find((sample) => sample.atS * 1000 >= warmupMs) ?? samples[0]!;
const last = samples.at(-1)!;
const anonRatio = last.memory.rssAnonBytes / afterWarmup.memory.rssAnonBytes;
const medianOf = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
const measured = samples.filter((sample) => sample.atS * 1000 >= warmupMs);
const half = Math.floor(measured.length / 2);
const halvesRatio = medianOf(measured.slice(half).map((sample) => sample.memory.rssAnonBytes)) / medianOf(measured.slice(0, Math.max(1, half)).map((sample) => sample.memory.rssAnonBytes));
console.log(machineMarkdown(start).trimEnd() + `; load average at end ${machineInfo().loadAverage}`);
console.log(`- ${minutes} min at ${rate.toLocaleString("en")} records/s offered (1 KiB, acks=1), one end-to-end consumer process; achieved ${formatNumber(result.achievedRate)} records/s, produce p50 ${(result.produce.p50Us / 1000).toFixed(2)} ms, p99 ${(result.produce.p99Us / 1000).toFixed(2)} ms, p99.9 ${(result.produce.p999Us / 1000).toFixed(2)} ms; end-to-end p99 ${result.endToEnd ? (result.endToEnd.p99Us / 1000).toFixed(2) : "n/a"} ms${result.endToEndError ? ` (consumer: ${result.endToEndError})` : ""}`);
console.log(`- anonymous RSS at the end / after the warm-up: **${anonRatio.toFixed(2)}×** (target: within 10 %, i.e. ≤ 1.10×); median of the second half of the samples / median of the first half: **${halvesRatio.toFixed(2)}×** (garbage collection makes single samples swing); total RSS ${mib(afterWarmup.memory.rssBytes)} → ${mib(last.memory.rssBytes)} MiB (file-backed pages are page cache of the mapped segments)\n`);
console.log(table(["t (s)", "RSS MiB", "anonymous MiB", "file-backed MiB", "data files mapped (count, MiB virtual / resident)"],
  samples.filter((_, index) => index % 3 === 0 || index === samples.length - 1).map((sample) => [
    String(sample.atS), mib(sample.memory.rssBytes), mib(sample.memory.rssAnonBytes), mib(sample.memory.rssFileBytes),
    `${sample.memory.dataMappings}, ${mib(sample.memory.dataMappedBytes)} / ${mib(sample.memory.dataMappedResidentBytes)}`,
  ])));
process.exit(0);
