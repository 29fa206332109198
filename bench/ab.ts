// `bun bench/ab.ts <before-tree> [after-tree] [--records=N] [--rounds=N] [--requests=N]`: the same
// kcat produce, kcat consume and one-in-flight Produce against two broker builds started side by
// side, rounds interleaved (before, after, before, after …), so that both see the same machine load.
// Prints median (min–max) per build and the after/before ratio, as Markdown for bench/results.
// The before tree is a checkout (e.g. `git worktree`-free: `git archive <commit> | tar -x -C dir`,
// then copy node_modules and native/build into it).

import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { benchTmpRoot, createTopic, type RunningBroker } from "./kafka/broker.ts";
import { loadCrc32c } from "./kafka/crc32c.ts";
import { produceFrame } from "./kafka/wire.ts";
import { machineInfo, machineMarkdown } from "./lib/machine.ts";
import { formatNumber, formatRatio, formatSpread, table } from "./lib/markdown.ts";
import { spawnChild } from "./lib/process.ts";
import { spread } from "./lib/stats.ts";
import { kafkaAnswerComplete, kcatConsume, kcatProduce, oneInFlight, writeRecordsFile } from "./scenarios/peers.ts";
import { trialName } from "./systems/types.ts";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => Number(args.find((arg) => arg.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const trees = args.filter((arg) => !arg.startsWith("--"));
if (trees.length < 1) {
  console.error("usage: bun bench/ab.ts <before-tree> [after-tree (default: this tree)] [--records=200000] [--rounds=5] [--requests=20000]");
  process.exit(2);
}
const before = resolve(trees[0]!);
const after = resolve(trees[1] ?? join(import.meta.dir, ".."));
const records = flag("records", 200_000);
const rounds = flag("rounds", 5);
const requests = flag("requests", 20_000);
const recordBytes = 1024;

async function startTree(tree: string, label: string): Promise<RunningBroker & { stop(): Promise<void> }> {
  const dataDir = join(benchTmpRoot, `ab-${label}-${process.pid}`);
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const child = await spawnChild({
    cmd: [process.execPath, join(tree, "src/main.ts"), "--data-dir", dataDir, "--kafka-port", "0", "--http-port", "0", "--host", "127.0.0.1"],
    cwd: tree,
    ready: /runnel ready: kafka on ([\d.]+):(\d+)/,
    readyTimeoutMs: 30_000,
  });
  return {
    host: child.match[1]!, port: Number(child.match[2]), pid: child.pid, dataDir,
    async stop() {
      await child.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** CPU time (user + system) the process has used, in ms (Linux /proc). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

const { crc32c } = await loadCrc32c();
const builds = [
  { label: "before", broker: await startTree(before, "before"), produce: [] as number[], consume: [] as number[], produceCpu: [] as number[], consumeCpu: [] as number[], p50: [] as number[], p99: [] as number[], p999: [] as number[] },
  { label: "after", broker: await startTree(after, "after"), produce: [] as number[], consume: [] as number[], produceCpu: [] as number[], consumeCpu: [] as number[], p50: [] as number[], p99: [] as number[], p999: [] as number[] },
];
const scratch = join(benchTmpRoot, `ab-${process.pid}`);
mkdirSync(scratch, { recursive: true });
const file = join(scratch, "records.txt");
writeRecordsFile(file, records, recordBytes);
const loadAtStart = machineInfo();
try {
  for (let round = 0; round < rounds; round++) {
    for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
      const bootstrap = `${build.broker.host}:${build.broker.port}`;
      const topic = trialName("ab", build.label);
      await createTopic(build.broker, topic, 1);
      const pid = build.broker.pid!;
      const cpu0 = cpuMs(pid);
      const produced = await kcatProduce(bootstrap, topic, file);
      const cpu1 = cpuMs(pid);
      const consumed = await kcatConsume(bootstrap, topic);
      const cpu2 = cpuMs(pid);
      const megabytes = (records * recordBytes) / 1e6;
      build.produceCpu.push((cpu1 - cpu0) / megabytes);
      build.consumeCpu.push((cpu2 - cpu1) / megabytes);
      if (consumed.records !== records) throw new Error(`${build.label}: consumed ${consumed.records} of ${records}`);
      build.produce.push((records * recordBytes) / produced.seconds / 1e6);
      build.consume.push((records * recordBytes) / consumed.seconds / 1e6);
      const latencyTopic = trialName("ab-latency", build.label);
      await createTopic(build.broker, latencyTopic, 1);
      const payload = crypto.getRandomValues(new Uint8Array(recordBytes));
      const frame = produceFrame(3, 1, "ab", 1, 30_000, latencyTopic, 0, { valueBytes: recordBytes, firstIndex: 0, count: 1, timestampMs: Date.now(), compression: "none" }, payload, crc32c);
      const histogram = await oneInFlight(build.broker.host, build.broker.port, frame, kafkaAnswerComplete, requests, Math.ceil(requests / 10));
      build.p50.push(histogram.percentileUs(50));
      build.p99.push(histogram.percentileUs(99));
      build.p999.push(histogram.percentileUs(99.9));
      console.error(`round ${round + 1} ${build.label}: produce ${build.produce.at(-1)!.toFixed(1)} MB/s (${build.produceCpu.at(-1)!.toFixed(2)} CPU ms/MB), consume ${build.consume.at(-1)!.toFixed(1)} MB/s, one in flight p50 ${build.p50.at(-1)} µs p99 ${build.p99.at(-1)} µs p99.9 ${build.p999.at(-1)} µs`);
    }
  }
} finally {
  for (const build of builds) await build.broker.stop();
  rmSync(scratch, { recursive: true, force: true });
}
const [b, a] = builds as [typeof builds[0], typeof builds[0]];
const cell = (values: number[], digits = 1) => formatSpread(spread(values), (value) => formatNumber(value, digits));
const perRound = (x: number[], y: number[]) => formatSpread(spread(x.map((value, index) => value / y[index]!)), formatRatio);
console.log(machineMarkdown(loadAtStart).trimEnd() + `; load average at end ${machineInfo().loadAverage}`);
console.log(`- ${rounds} rounds interleaved, ${records.toLocaleString("en")} × 1 KiB records per kcat run (partition 0, \`-X linger.ms=5\`; consume with \`-X fetch.wait.max.ms=5\`), ${requests.toLocaleString("en")} one-in-flight Produce v3 acks=1 requests per round\n`);
console.log(table(["figure", "before", "after", "after / before (per round)"], [
  ["kcat produce MB/s", cell(b.produce), cell(a.produce), perRound(a.produce, b.produce)],
  ["broker CPU ms per MB produced", cell(b.produceCpu, 2), cell(a.produceCpu, 2), perRound(a.produceCpu, b.produceCpu)],
  ["kcat consume MB/s", cell(b.consume), cell(a.consume), perRound(a.consume, b.consume)],
  ["broker CPU ms per MB consumed", cell(b.consumeCpu, 2), cell(a.consumeCpu, 2), perRound(a.consumeCpu, b.consumeCpu)],
  ["one in flight p50 µs", cell(b.p50, 0), cell(a.p50, 0), perRound(a.p50, b.p50)],
  ["one in flight p99 µs", cell(b.p99, 0), cell(a.p99, 0), perRound(a.p99, b.p99)],
  ["one in flight p99.9 µs", cell(b.p999, 0), cell(a.p999, 0), perRound(a.p999, b.p999)],
]));
process.exit(0);
