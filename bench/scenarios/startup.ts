// Scenario "startup": how long from exec until the broker accepts a Kafka connection, next to the
// floor (a compiled Bun program that loads an embedded .so and listens: bench/floors/startup-floor.ts),
// runs interleaved so both see the same machine load; the single binary's size; and a large data
// directory left by kill -9 (every partition needs a recovery scan): exec → accepting, and exec →
// every partition served (Metadata shows a leader for each), since recovery runs after the
// listener opens.

import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { KafkaClient } from "../../src/client/client.ts";
import { KafkaConnection } from "../../src/client/connection.ts";
import { createTopics } from "../../src/client/admin-topics.ts";
import { Producer } from "../../src/client/producer.ts";
import { MetadataApi } from "../../src/protocol/generated/metadata.ts";
import { benchTmpDir, repoRoot } from "../kafka/broker.ts";
import { formatNumber, table } from "../lib/markdown.ts";
import { Report } from "../lib/report.ts";
import type { Scenario } from "./common.ts";

const targetMs = 50;

async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/** Resolves once something accepts on the port; ms since `started`. */
async function acceptedAfter(port: number, started: number, child: { exitCode: number | null }): Promise<number> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the program exited (${child.exitCode}) before accepting`);
    try {
      const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      const elapsed = performance.now() - started;
      socket.end();
      return elapsed;
    } catch {
      // not listening yet
    }
  }
}

function compile(entry: string, outfile: string): void {
  const result = Bun.spawnSync([process.execPath, "build", "--compile", "--bytecode", "--format=esm", entry, "--outfile", outfile], { cwd: repoRoot, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`compiling ${entry} failed: ${result.stderr.toString().slice(-1000)}`);
}

interface Program {
  label: string;
  command(port: number, dataDir: string): string[];
  samples: number[];
}

async function startOnce(program: Program, workDir: string): Promise<number> {
  const port = await freePort();
  const dataDir = join(workDir, `data-${port}`);
  const started = performance.now();
  const child = Bun.spawn(program.command(port, dataDir), { stdout: "ignore", stderr: "ignore", env: { ...process.env, RUNNEL_LOG_LEVEL: "warn" } });
  try {
    return await acceptedAfter(port, started, child);
  } finally {
    child.kill("SIGKILL");
    await child.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function percentileOf(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

const ms = (value: number) => formatNumber(value, 1);

/** A data directory with `partitions` partitions holding a few records each, left by kill -9. */
async function largeDataDir(runnel: string, workDir: string, partitions: number): Promise<string> {
  const dataDir = join(workDir, "large");
  const port = await freePort();
  const child = Bun.spawn([runnel, "start", "--data-dir", dataDir, "--kafka-port", String(port), "--http-port", "0"], { stdout: "ignore", stderr: "ignore", env: { ...process.env, RUNNEL_LOG_LEVEL: "warn" } });
  try {
    await acceptedAfter(port, performance.now(), child);
    const client = new KafkaClient({ bootstrap: `127.0.0.1:${port}`, clientId: "bench-startup" });
    await createTopics(client, [{ name: "large", partitions }]);
    const producer = new Producer(client, { acks: 1, lingerMs: 20 });
    await Promise.all(Array.from({ length: partitions * 4 }, (_, index) => producer.send({ topic: "large", partition: index % partitions, value: "x".repeat(200) })));
    await producer.close();
    await client.close();
  } finally {
    child.kill("SIGKILL");
    await child.exited;
  }
  return dataDir;
}

/** exec → accepting, and exec → Metadata shows a leader for every partition of "large". */
async function recoverOnce(runnel: string, dataDir: string, partitions: number): Promise<{ acceptMs: number; servedMs: number }> {
  const port = await freePort();
  const started = performance.now();
  const child = Bun.spawn([runnel, "start", "--data-dir", dataDir, "--kafka-port", String(port), "--http-port", "0"], { stdout: "ignore", stderr: "ignore", env: { ...process.env, RUNNEL_LOG_LEVEL: "warn" } });
  try {
    const acceptMs = await acceptedAfter(port, started, child);
    const connection = await KafkaConnection.connect({ host: "127.0.0.1", port, clientId: "bench-startup" });
    try {
      for (;;) {
        const metadata = await connection.request(MetadataApi, { topics: [{ name: "large" }], allowAutoTopicCreation: false });
        const served = metadata.topics[0]?.partitions.filter((partition) => partition.leaderId >= 0).length ?? 0;
        if (served === partitions) return { acceptMs, servedMs: performance.now() - started };
        await Bun.sleep(5);
      }
    } finally {
      connection.close();
    }
  } finally {
    child.kill("SIGKILL"); // stays unclean: the next start recovers every partition again
    await child.exited;
  }
}

export const startupScenario: Scenario = {
  name: "startup",
  title: "Start-up: exec to accepting Kafka connections, and the single binary",
  description: "exec → accepting a connection for dist/runnel (empty data dir) next to a compiled Bun + embedded .so floor; binary size; a large data dir after kill -9",
  async run(context) {
    const report = new Report("startup", this.title, context.params);
    const workDir = benchTmpDir("startup");
    try {
      const built = Bun.spawnSync([process.execPath, "run", "build"], { cwd: repoRoot, stdout: "pipe", stderr: "pipe" });
      if (built.exitCode !== 0) throw new Error(`bun run build failed: ${built.stderr.toString().slice(-1000)}`);
      const runnel = join(repoRoot, "dist/runnel");
      const floor = join(workDir, "startup-floor");
      compile("bench/floors/startup-floor.ts", floor);
      const programs: Program[] = [
        { label: "floor: compiled Bun, embedded .so loaded, listening", command: (port) => [floor, String(port)], samples: [] },
        { label: "dist/runnel start, empty data dir", command: (port, dataDir) => [runnel, "start", "--data-dir", dataDir, "--kafka-port", String(port), "--http-port", "0"], samples: [] },
        { label: "bun src/main.ts (not compiled), empty data dir", command: (port, dataDir) => [process.execPath, join(repoRoot, "src/main.ts"), "--data-dir", dataDir, "--kafka-port", String(port), "--http-port", "0"], samples: [] },
      ];
      for (let round = 0; round < context.params.startupRuns; round++) {
        for (const program of programs) program.samples.push(await startOnce(program, workDir));
      }
      const floorMedian = percentileOf(programs[0]!.samples, 0.5);
      report.section(
        `Exec → accepting a TCP connection (${context.params.startupRuns} starts each, interleaved)`,
        table(["program", "median ms", "p90 ms", "min ms", "max ms", "median ÷ floor", `target ≤ ${targetMs} ms`], programs.map((program) => {
          const median = percentileOf(program.samples, 0.5);
          return [program.label, ms(median), ms(percentileOf(program.samples, 0.9)), ms(Math.min(...program.samples)), ms(Math.max(...program.samples)), `${formatNumber(median / floorMedian, 1)}×`, program === programs[1] ? (median <= targetMs ? "✓" : "✗") : ""];
        })) + "\nA start is timed from just before the spawn call to the first accepted connect(); a fresh empty data directory each time (the node writes meta.properties, the offsets topic is created after the listener opens).\n",
      );
      const sizes = [["dist/runnel (broker, CLI, client, bench; native helper embedded)", statSync(runnel).size], ["floor binary", statSync(floor).size]] as const;
      report.section("Binary size", table(["binary", "MiB", "bytes"], sizes.map(([label, bytes]) => [label, formatNumber(bytes / 2 ** 20, 1), formatNumber(bytes)])));
      const large = await largeDataDir(runnel, workDir, context.params.startupPartitions);
      const recoveries = [];
      for (let round = 0; round < Math.min(5, context.params.startupRuns); round++) recoveries.push(await recoverOnce(runnel, large, context.params.startupPartitions));
      report.section(
        `A data directory of ${formatNumber(context.params.startupPartitions)} partitions after kill -9 (${recoveries.length} starts)`,
        table(["measure", "median ms", "min ms", "max ms"], [
          ["exec → accepting connections", ms(percentileOf(recoveries.map((entry) => entry.acceptMs), 0.5)), ms(Math.min(...recoveries.map((entry) => entry.acceptMs))), ms(Math.max(...recoveries.map((entry) => entry.acceptMs)))],
          ["exec → every partition served (recovered, has a leader)", ms(percentileOf(recoveries.map((entry) => entry.servedMs), 0.5)), ms(Math.min(...recoveries.map((entry) => entry.servedMs))), ms(Math.max(...recoveries.map((entry) => entry.servedMs)))],
        ]) + "\nEvery start follows a kill -9, so each partition's active segment is rescanned. Partitions not recovered yet answer LEADER_NOT_AVAILABLE in Metadata and NOT_LEADER_OR_FOLLOWER to Produce/Fetch (retriable); group requests answer COORDINATOR_NOT_AVAILABLE until all have recovered.\n",
      );
      const runnelMedian = percentileOf(programs[1]!.samples, 0.5);
      report.figure("startup", { programs: programs.map(({ label, samples }) => ({ label, samples })), sizes: Object.fromEntries(sizes), recoveries });
      context.headlines.push(`start-up: dist/runnel ${ms(runnelMedian)} ms exec → accepting (floor ${ms(floorMedian)} ms, ${formatNumber(runnelMedian / floorMedian, 1)}×); binary ${formatNumber(statSync(runnel).size / 2 ** 20, 1)} MiB`);
      return report;
    } finally {
      if (existsSync(workDir)) rmSync(workDir, { recursive: true, force: true });
      mkdirSync(join(repoRoot, "bench/results/tmp"), { recursive: true });
    }
  },
};
