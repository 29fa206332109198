// `bun bench/elastic.ts`: issue 13's benchmark — produce latency while the cluster rebalances under
// a replication throttle, against the steady state of the same run. Broker processes on loopback
// (test/cluster/harness.ts), every node with leader./follower.replication.throttled.rate set:
//
//   prefill     BENCH_PREFILL_MB of 1 KiB records into a 6-partition RF=3 topic (so moves copy data);
//   steady      open loop at BENCH_RATE records/s (acks=all, linger 0) for BENCH_LATENCY_MS on three
//               brokers: each record is due at start + i / rate and its latency counts from then;
//   join        a fourth broker joins (controller.quorum.bootstrap.servers); once it is up the same
//               open loop runs until the replicas are balanced (the balancer's throttled moves);
//   decommission `broker.decommissioning` on the fourth broker; the open loop runs until it is drained;
//   steady again, on three brokers, to bracket the moves.
//
// Prints and writes bench/results/elastic.md and .json: p50/p99/max in each phase, the ratios of
// the moves' p99 to the steady p99 (target ≤ 2), bytes moved and the effective copy rate.
// The machine has 2 CPUs shared with other work: the load average is recorded.
// Environment: BENCH_RATE (default 300), BENCH_LATENCY_MS (default 5000), BENCH_PREFILL_MB
// (default 24), BENCH_THROTTLE_BYTES (default 2000000 bytes/s, both directions).

import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describeLogDirs, KafkaClient, Producer, setDecommissioning } from "../src/client/index.ts";
import { CreateTopicsApi } from "../src/protocol/generated/create-topics.ts";
import { waitBalanced } from "../test/cluster/balance-tools.ts";
import { startCluster, type TestCluster } from "../test/cluster/harness.ts";
import { machineInfo, machineMarkdown } from "./lib/machine.ts";

const rate = Number(process.env.BENCH_RATE ?? 300);
const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 5_000);
const prefillMb = Number(process.env.BENCH_PREFILL_MB ?? 24);
const throttle = Number(process.env.BENCH_THROTTLE_BYTES ?? 2_000_000);
const topic = "elastic-bench";
const partitions = 6;
const value = "x".repeat(1024);

interface Phase {
  name: string;
  count: number;
  p50: number;
  p99: number;
  max: number;
  durationMs: number;
}

function client(cluster: TestCluster): KafkaClient {
  return new KafkaClient({ bootstrap: cluster.bootstrap, clientId: "bench-elastic", retryBackoffMs: 20, retryBackoffMaxMs: 100 });
}

async function prefill(cluster: TestCluster): Promise<void> {
  const kafka = client(cluster);
  const producer = new Producer(kafka, { acks: -1, lingerMs: 5, batchBytesMax: 64 * 1024 });
  try {
    const total = prefillMb * 1024;
    const inFlight = new Set<Promise<unknown>>();
    for (let index = 0; index < total; index++) {
      const sending = producer.send({ topic, partition: index % partitions, value }).finally(() => inFlight.delete(sending));
      inFlight.add(sending);
      if (inFlight.size >= 4096) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    await producer.close();
    await kafka.close();
  }
}

/** Open loop at `rate` until `until` resolves (or for latencyMs when it is null): latencies from each record's due time. */
async function openLoop(cluster: TestCluster, name: string, until: Promise<unknown> | null): Promise<Phase> {
  const kafka = client(cluster);
  const producer = new Producer(kafka, { acks: -1, lingerMs: 0, requestTimeoutMs: 10_000 });
  try {
    await producer.send({ topic, partition: 0, value });
    let done = false;
    const finished = (until ?? Bun.sleep(latencyMs)).then(() => void (done = true));
    const latencies: number[] = [];
    const pending: Promise<void>[] = [];
    const started = performance.now();
    for (let index = 0; !done; index++) {
      const due = started + (index * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await Promise.race([Bun.sleep(wait), finished]);
      if (done) break;
      pending.push(producer.send({ topic, partition: index % partitions, value }).then(() => void latencies.push(performance.now() - due)));
    }
    const durationMs = performance.now() - started;
    await Promise.all(pending);
    latencies.sort((left, right) => left - right);
    const at = (quantile: number) => latencies[Math.min(latencies.length - 1, Math.floor(quantile * latencies.length))] ?? 0;
    return { name, count: latencies.length, p50: at(0.5), p99: at(0.99), max: latencies[latencies.length - 1] ?? 0, durationMs };
  } finally {
    await producer.close();
    await kafka.close();
  }
}

async function bytesOn(cluster: TestCluster, id: number): Promise<bigint> {
  const kafka = new KafkaClient({ bootstrap: `127.0.0.1:${cluster.node(id).kafkaPort}`, clientId: "bench-elastic" });
  try {
    return (await describeLogDirs(kafka, id)).reduce((sum, entry) => sum + entry.bytes, 0n);
  } finally {
    await kafka.close();
  }
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const cluster = await startCluster({
    nodes: 3,
    set: {
      "offsets.topic.num.partitions": 3, "replica.rebalance.check.interval.ms": 300,
      "leader.replication.throttled.rate": throttle, "follower.replication.throttled.rate": throttle,
    },
    timeoutMs: 120_000,
  });
  try {
    const response = await cluster.ask(1, (connection) => connection.request(CreateTopicsApi, {
      topics: [{ name: topic, numPartitions: partitions, replicationFactor: 3, assignments: [], configs: [{ name: "min.insync.replicas", value: "2" }] }],
      timeoutMs: 10_000, validateOnly: false,
    }, { version: 7, timeoutMs: 20_000 }));
    if (response.topics[0]!.errorCode !== 0) throw new Error(`CreateTopics: error ${response.topics[0]!.errorCode}`);
    console.log(`prefill ${prefillMb} MiB…`);
    await prefill(cluster);
    await waitBalanced(cluster, [1, 2, 3]);
    console.log(`steady at ${rate}/s…`);
    const steady = await openLoop(cluster, "steady, 3 brokers", null);
    console.log("join (throttled moves)…");
    // The new process starts first (its start-up is CPU work of its own on a small machine); the
    // balancer begins moving replicas to it as soon as it registers.
    const joinStarted = performance.now();
    const joined = await cluster.addBroker();
    const joining = waitBalanced(cluster, [1, 2, 3, joined], 600_000);
    const joinPhase = await openLoop(cluster, "a 4th broker joined: throttled moves until balanced", joining);
    const joinMs = performance.now() - joinStarted;
    const copied = await bytesOn(cluster, joined);
    console.log("decommission (throttled moves)…");
    const drainStarted = performance.now();
    const kafka = client(cluster);
    const draining = setDecommissioning(kafka, joined, true).then(() => waitBalanced(cluster, [1, 2, 3], 600_000));
    const drain = await openLoop(cluster, "the 4th broker decommissioned: throttled moves until drained", draining);
    const drainMs = performance.now() - drainStarted;
    await kafka.close();
    await cluster.terminate(joined);
    const steadyAfter = await openLoop(cluster, "steady again, 3 brokers", null);
    const phases = [steady, joinPhase, drain, steadyAfter];
    const baseline = (steady.p99 + steadyAfter.p99) / 2;
    const load = machineInfo().loadAverage;
    const fixed = (x: number, digits = 1) => x.toFixed(digits);
    const lines = [
      "# Elastic cluster (issue 13): produce latency during a throttled rebalance",
      "",
      "Written by `bun bench/elastic.ts` (see its header for what is measured and how).",
      "",
      machineMarkdown(machine),
      `- Load average after the run: ${load}`,
      `- ${prefillMb} MiB prefilled in ${partitions} partitions (RF=3); open loop ${rate} records/s of 1 KiB, acks=all, linger 0; throttle ${throttle} bytes/s (leader and follower)`,
      "",
      "| phase | records | p50 ms | p99 ms | max ms | p99 / steady p99 |",
      "| --- | ---: | ---: | ---: | ---: | ---: |",
      ...phases.map((phase) => `| ${phase.name} | ${phase.count} | ${fixed(phase.p50)} | ${fixed(phase.p99)} | ${fixed(phase.max)} | ${fixed(phase.p99 / baseline, 2)} |`),
      "",
      `- Join: balanced ${fixed(joinMs / 1000)} s after the start; ${copied} bytes copied to the new broker (${fixed(Number(copied) / (joinMs / 1000) / 1e6, 2)} MB/s effective)`,
      `- Decommission: drained ${fixed(drainMs / 1000)} s after the mark`,
      `- Steady p99 (mean of before and after): ${fixed(baseline)} ms; target: p99 during a throttled rebalance ≤ 2× steady`,
    ];
    console.log(lines.join("\n"));
    const results = resolve(import.meta.dir, "results");
    mkdirSync(results, { recursive: true });
    writeFileSync(join(results, "elastic.md"), `${lines.join("\n")}\n`);
    writeFileSync(join(results, "elastic.json"), `${JSON.stringify({ machine, load, rate, throttle, prefillMb, phases, joinMs, drainMs, copied: String(copied) }, null, 2)}\n`);
  } finally {
    await cluster.close();
  }
}

await main();
