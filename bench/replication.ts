// `bun run bench replication` (or `bun bench/replication.ts`): issue 9's replication benchmark, every figure of one run on one
// machine. Broker processes on loopback (test/cluster/harness.ts: each node `bun src/main.ts` with
// its Kafka and internal listeners; a "one-node" cluster is one voter, the same code path):
//
//   throughput  1 KiB records through Runnel's own client Producer (linger 5 ms, 16 KiB batches,
//               3 partitions): one node acks=1 (the baseline), three nodes RF=3 acks=1 and acks=all;
//   latency     open loop at half of the RF=3 acks=all throughput: each record is due at
//               start + i / rate and its latency counts from then (no coordinated omission);
//               p50 / p99 / p99.9 of acks=all on three nodes next to acks=all and acks=1 on one;
//   failover    kill -9 of a partition leader → the first acks=all record acknowledged on that
//               partition (detection is the heartbeat connection closing: fenced at once), and
//               SIGTERM (controlled shutdown) of a leader → the same, plus how long the shutdown took.
//
// The scenario (bench/scenarios/replication.ts) writes bench/results/replication.md and .json. The
// machine has 2 CPUs shared with other work: the load average is recorded; ratios within the run
// are what to read. SIGTERM's figure counts from the signal: records are sent while the broker
// shuts down. Settings (environment): BENCH_RATE (records/s of the latency runs instead of half
// the max), BENCH_RECORDS (records per throughput run, default 20000), BENCH_LATENCY_MS (default
// 5000), BENCH_FAILOVERS (repetitions, default 3), BENCH_RUNS (throughput runs, default 3).

import { KafkaClient, Producer } from "../src/client/index.ts";
import { CreateTopicsApi } from "../src/protocol/generated/create-topics.ts";
import { startCluster, type TestCluster } from "../test/cluster/harness.ts";
import { machineInfo } from "./lib/machine.ts";

export interface ReplicationBenchSettings {
  /** Records per throughput run. */
  records: number;
  /** Length of each open-loop latency run. */
  latencyMs: number;
  /** Repetitions of each failover measurement. */
  failovers: number;
  /** Interleaved repetitions of each throughput measurement. */
  runs: number;
  /** Offered rate of the latency runs; 0: half of the RF=3 acks=all linger-0 throughput. */
  rate: number;
}

export const defaultReplicationSettings: ReplicationBenchSettings = { records: 20_000, latencyMs: 5_000, failovers: 3, runs: 3, rate: 0 };

/** The settings from BENCH_RECORDS, BENCH_LATENCY_MS, BENCH_FAILOVERS, BENCH_RUNS, BENCH_RATE. */
export function replicationSettingsFromEnvironment(env: Record<string, string | undefined>, base = defaultReplicationSettings): ReplicationBenchSettings {
  const number = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);
  return {
    records: number("BENCH_RECORDS", base.records),
    latencyMs: number("BENCH_LATENCY_MS", base.latencyMs),
    failovers: number("BENCH_FAILOVERS", base.failovers),
    runs: number("BENCH_RUNS", base.runs),
    rate: number("BENCH_RATE", base.rate),
  };
}

/** Unacknowledged records at most in a throughput run. */
const windowRecords = 4096;
const value = "x".repeat(1024);
const partitions = 3;

async function createTopic(cluster: TestCluster, name: string, replicationFactor: number): Promise<void> {
  const response = await cluster.ask(cluster.liveNodes()[0]!.id, (connection) => connection.request(CreateTopicsApi, {
    topics: [{ name, numPartitions: partitions, replicationFactor, assignments: [], configs: [{ name: "min.insync.replicas", value: String(Math.min(2, replicationFactor)) }] }],
    timeoutMs: 10_000, validateOnly: false,
  }, { version: 7, timeoutMs: 20_000 }));
  if (response.topics[0]!.errorCode !== 0) throw new Error(`CreateTopics ${name}: error ${response.topics[0]!.errorCode}`);
  await cluster.waitFor(`${name} led everywhere`, async () => {
    const topic = (await cluster.metadata(cluster.liveNodes()[0]!.id)).topics.find((entry) => entry.name === name);
    return topic && topic.partitions.every((partition) => partition.leaderId >= 0 && partition.isrNodes.length === replicationFactor) ? true : undefined;
  });
}

function client(cluster: TestCluster): KafkaClient {
  return new KafkaClient({ bootstrap: cluster.bootstrap, clientId: "bench-replication", retryBackoffMs: 20, retryBackoffMaxMs: 100 });
}

/**
 * Records per second with `recordsPerRun` records kept flowing (at most `windowRecords`
 * unacknowledged). The window is a counter with one waiter, not Promise.race over the records in
 * flight: a race attaches a reaction to each of the 4,096 pending promises every time the loop
 * waits, and that cost (seconds of the bench process's CPU per run, on the same 2 CPUs as the
 * brokers) grew with the acknowledgement latency — it was measured as part of the brokers' figures.
 */
async function throughput(cluster: TestCluster, topic: string, acks: 1 | -1, settings: ReplicationBenchSettings, lingerMs = 5): Promise<number> {
  const kafka = client(cluster);
  const producer = new Producer(kafka, { acks, lingerMs, batchBytesMax: 16 * 1024 });
  try {
    await producer.send({ topic, partition: 0, value }); // warm: metadata, connections
    const started = performance.now();
    let outstanding = 0;
    let failure: unknown = null;
    let wake: (() => void) | null = null;
    const settled = () => {
      outstanding -= 1;
      const waiter = wake;
      wake = null;
      waiter?.();
    };
    const waitForRoom = async (limit: number): Promise<void> => {
      while (outstanding > limit) await new Promise<void>((resolve) => (wake = resolve));
    };
    for (let index = 0; index < settings.records; index++) {
      outstanding += 1;
      producer.send({ topic, partition: index % partitions, value }).then(settled, (error) => {
        failure ??= error;
        settled();
      });
      if (outstanding >= windowRecords) await waitForRoom(windowRecords - 1);
    }
    if (outstanding > 0) await waitForRoom(0);
    if (failure) throw failure;
    return settings.records / ((performance.now() - started) / 1000);
  } finally {
    await producer.close();
    await kafka.close();
  }
}

interface Latency {
  rate: number;
  p50: number;
  p99: number;
  p999: number;
  count: number;
}

/** Open loop at `rate` records/s for latencyMs: latency from each record's due time. */
async function openLoopLatency(cluster: TestCluster, topic: string, acks: 1 | -1, rate: number, latencyMs: number): Promise<Latency> {
  const kafka = client(cluster);
  const producer = new Producer(kafka, { acks, lingerMs: 0 });
  try {
    await producer.send({ topic, partition: 0, value });
    const latencies: number[] = [];
    const pending: Promise<void>[] = [];
    const started = performance.now();
    const total = Math.max(1, Math.floor((rate * latencyMs) / 1000));
    for (let index = 0; index < total; index++) {
      const due = started + (index * 1000) / rate;
      // Never early: a timer may fire a little before its time.
      while (performance.now() < due) await Bun.sleep(Math.max(0, due - performance.now()));
      pending.push(producer.send({ topic, partition: index % partitions, value }).then(() => void latencies.push(performance.now() - due)));
    }
    await Promise.all(pending);
    latencies.sort((left, right) => left - right);
    const at = (quantile: number) => latencies[Math.min(latencies.length - 1, Math.floor(quantile * latencies.length))]!;
    return { rate, p50: at(0.5), p99: at(0.99), p999: at(0.999), count: latencies.length };
  } finally {
    await producer.close();
    await kafka.close();
  }
}

async function leaderOf(cluster: TestCluster, topic: string, partition: number): Promise<number> {
  return cluster.waitFor(`leader of ${topic}-${partition}`, async () => {
    const found = (await cluster.metadata(cluster.liveNodes()[0]!.id)).topics.find((entry) => entry.name === topic);
    const leader = found?.partitions.find((entry) => entry.partitionIndex === partition)?.leaderId ?? -1;
    return leader >= 0 && cluster.liveNodes().some((node) => node.id === leader) ? leader : undefined;
  });
}

/**
 * Stop the leader of partition 0 (kill -9 or SIGTERM), then time the first acks=all record on it:
 * through a producer that was connected before (its client must notice and re-route) and through
 * a client created after the stop (the cluster's own failover), at once.
 */
async function failover(cluster: TestCluster, topic: string, how: "kill" | "terminate"): Promise<{ connectedMs: number; freshMs: number; stopMs: number; wasQuorumLeader: boolean }> {
  const kafka = client(cluster);
  const producer = new Producer(kafka, { acks: -1, lingerMs: 0, requestTimeoutMs: 5000 });
  await producer.send({ topic, partition: 0, value });
  const victim = await leaderOf(cluster, topic, 0);
  const quorumLeader = await cluster.quorumLeader();
  const started = performance.now();
  // SIGTERM: the records are sent while the broker shuts down (its leaderships move first).
  const stopping = (how === "kill" ? cluster.kill(victim) : cluster.terminate(victim).then(() => {})).then(() => performance.now() - started);
  if (how === "kill") await stopping;
  const fresh = client(cluster);
  const freshProducer = new Producer(fresh, { acks: -1, lingerMs: 0, requestTimeoutMs: 5000 });
  const [connectedMs, freshMs] = await Promise.all([
    producer.send({ topic, partition: 0, value }).then(() => performance.now() - started),
    freshProducer.send({ topic, partition: 0, value }).then(() => performance.now() - started),
  ]);
  const stopMs = await stopping;
  await Promise.all([producer.close(), freshProducer.close()]);
  await Promise.all([kafka.close(), fresh.close()]);
  await cluster.start(victim);
  await cluster.waitFor(`node ${victim} back in the ISRs`, async () => {
    const found = (await cluster.metadata(cluster.liveNodes()[0]!.id)).topics.find((entry) => entry.name === topic);
    return found?.partitions.every((partition) => partition.isrNodes.includes(victim)) ? true : undefined;
  });
  return { connectedMs, freshMs, stopMs, wasQuorumLeader: victim === quorumLeader };
}

/** `runs` interleaved repetitions of each measurement; the median of each. */
async function repeated<T extends string>(runs: number, measures: Record<T, () => Promise<number>>): Promise<Record<T, number[]>> {
  const results = Object.fromEntries(Object.keys(measures).map((key) => [key, [] as number[]])) as Record<T, number[]>;
  for (let run = 0; run < runs; run++) for (const key of Object.keys(measures) as T[]) results[key].push(await measures[key]());
  return results;
}

const median = (values: number[]) => [...values].sort((left, right) => left - right)[values.length >> 1]!;
const fixed = (value: number, digits = 1) => value.toFixed(digits);

export interface ReplicationBenchResult {
  /** The report's body (Markdown, without the machine header). */
  markdown: string;
  figures: Record<string, unknown>;
  /** One line for bench/results/summary.md. */
  headline: string;
}

/** Every measurement of this file, one run; `log` gets progress lines. */
export async function measureReplication(settings: ReplicationBenchSettings, log: (line: string) => void = console.log): Promise<ReplicationBenchResult> {
  const set = { "offsets.topic.num.partitions": 3 };
  log("  one node and three nodes…");
  const single = await startCluster({ nodes: 1, set });
  let cluster: TestCluster | null = null;
  try {
    cluster = await startCluster({ nodes: 3, set });
    const three = cluster;
    await createTopic(single, "bench1", 1);
    await createTopic(three, "bench3", 3);
    // Interleaved, so that the machine's other load spreads over every setup alike.
    const runs = await repeated(settings.runs, {
      oneAcks1: () => throughput(single, "bench1", 1, settings),
      oneAcksAll: () => throughput(single, "bench1", -1, settings),
      threeAcks1: () => throughput(three, "bench3", 1, settings),
      threeAcksAll: () => throughput(three, "bench3", -1, settings),
      threeAcksAllLinger0: () => throughput(three, "bench3", -1, settings, 0),
    });
    const oneAcks1 = median(runs.oneAcks1);
    const oneAcksAll = median(runs.oneAcksAll);
    const threeAcks1 = median(runs.threeAcks1);
    const threeAcksAll = median(runs.threeAcksAll);
    // Latency runs send with linger 0: half of what RF=3 acks=all sustains with linger 0.
    const rate = settings.rate > 0 ? settings.rate : Math.max(100, Math.floor(median(runs.threeAcksAllLinger0) / 2));
    log(`  latency at ${rate}/s…`);
    const latencyAll3 = await openLoopLatency(three, "bench3", -1, rate, settings.latencyMs);
    const latencyAll1 = await openLoopLatency(single, "bench1", -1, rate, settings.latencyMs);
    const latencyOne1 = await openLoopLatency(single, "bench1", 1, rate, settings.latencyMs);
    await single.close();
    log("  failovers…");
    const kills = [];
    const terms = [];
    for (let run = 0; run < settings.failovers; run++) kills.push(await failover(three, "bench3", "kill"));
    for (let run = 0; run < settings.failovers; run++) terms.push(await failover(three, "bench3", "terminate"));
    const loadAfter = machineInfo().loadAverage;
    const figures = { settings, runs, oneAcks1, oneAcksAll, threeAcks1, threeAcksAll, latencyAll3, latencyAll1, latencyOne1, kills, terms, loadAfter };
    const all = (values: number[]) => values.map((entry) => fixed(entry, 0)).join(", ");
    const killMedian = kills.length > 0 ? fixed(median(kills.map((entry) => entry.freshMs)), 0) : "–";
    const termMedian = terms.length > 0 ? fixed(median(terms.map((entry) => entry.freshMs)), 0) : "–";
    const lines = [
      `- Load average after the run: ${loadAfter}`,
      `- ${settings.records} records of 1 KiB per throughput run, Runnel's client Producer (linger 5 ms, 16 KiB batches, at most ${windowRecords} records unacknowledged), ${partitions} partitions; latency open loop for ${settings.latencyMs} ms`,
      "",
      "## Throughput",
      "",
      `Median of ${settings.runs} interleaved runs (all runs in brackets).`,
      "",
      "| setup | records/s | ratio to one node acks=1 |",
      "| --- | ---: | ---: |",
      `| one node, acks=1 (baseline) | ${fixed(oneAcks1, 0)} [${all(runs.oneAcks1)}] | 1.00 |`,
      `| one node, acks=all (fdatasync) | ${fixed(oneAcksAll, 0)} [${all(runs.oneAcksAll)}] | ${fixed(oneAcksAll / oneAcks1, 2)} |`,
      `| three nodes RF=3, acks=1 | ${fixed(threeAcks1, 0)} [${all(runs.threeAcks1)}] | ${fixed(threeAcks1 / oneAcks1, 2)} |`,
      `| three nodes RF=3, acks=all | ${fixed(threeAcksAll, 0)} [${all(runs.threeAcksAll)}] | ${fixed(threeAcksAll / oneAcks1, 2)} |`,
      `| three nodes RF=3, acks=all, linger 0 | ${fixed(median(runs.threeAcksAllLinger0), 0)} [${all(runs.threeAcksAllLinger0)}] | ${fixed(median(runs.threeAcksAllLinger0) / oneAcks1, 2)} |`,
      "",
      `## Latency at ${rate} records/s (${settings.rate > 0 ? "BENCH_RATE" : "half of RF=3 acks=all throughput with linger 0"}), open loop, linger 0, ms`,
      "",
      "| setup | p50 | p99 | p99.9 | records |",
      "| --- | ---: | ---: | ---: | ---: |",
      `| three nodes RF=3, acks=all | ${fixed(latencyAll3.p50, 2)} | ${fixed(latencyAll3.p99, 2)} | ${fixed(latencyAll3.p999, 2)} | ${latencyAll3.count} |`,
      `| one node, acks=all | ${fixed(latencyAll1.p50, 2)} | ${fixed(latencyAll1.p99, 2)} | ${fixed(latencyAll1.p999, 2)} | ${latencyAll1.count} |`,
      `| one node, acks=1 | ${fixed(latencyOne1.p50, 2)} | ${fixed(latencyOne1.p99, 2)} | ${fixed(latencyOne1.p999, 2)} | ${latencyOne1.count} |`,
      "",
      `## Failover (${settings.failovers} runs each, default timeouts: broker.session.timeout.ms 1500, fenced at once when the heartbeat connection closes)`,
      "",
      "Time from the stop to the first acks=all record acknowledged on the stopped leader's partition:",
      "through a client created after the stop (the cluster's failover) and through a producer connected",
      "before it (plus its client noticing and re-routing). Median [all runs].",
      "",
      "| event | fresh client, ms | connected producer, ms | stopping took, ms |",
      "| --- | --- | --- | --- |",
      `| kill -9 of the leader | ${killMedian} [${all(kills.map((entry) => entry.freshMs))}] | ${kills.length > 0 ? fixed(median(kills.map((entry) => entry.connectedMs)), 0) : "–"} [${all(kills.map((entry) => entry.connectedMs))}] | ${all(kills.map((entry) => entry.stopMs))} |`,
      `| (of which the victim also led the metadata quorum) | ${kills.map((entry) => (entry.wasQuorumLeader ? "yes" : "no")).join(", ")} | | |`,
      `| SIGTERM (controlled shutdown) of the leader | ${termMedian} [${all(terms.map((entry) => entry.freshMs))}] | ${terms.length > 0 ? fixed(median(terms.map((entry) => entry.connectedMs)), 0) : "–"} [${all(terms.map((entry) => entry.connectedMs))}] | ${all(terms.map((entry) => entry.stopMs))} |`,
      "",
    ];
    const headline = `replication: RF=3 acks=all ${fixed(threeAcksAll / oneAcks1, 2)}× one node acks=1 (target 0.5×); acks=all p99 ${fixed(latencyAll3.p99, 1)} ms at ${rate}/s (target 5 ms); kill -9 failover ${killMedian} ms, controlled shutdown ${termMedian} ms (load after ${loadAfter})`;
    return { markdown: lines.join("\n"), figures, headline };
  } finally {
    await cluster?.close();
    await single.close();
  }
}

/**
 * The quick check's replication figure (bench/scenarios/quick.ts): RF=3 acks=all throughput over
 * one-node acks=1 throughput, per interleaved run (the median of the per-run ratios).
 */
export async function measureReplicationRatio(records: number, runs: number): Promise<{ ratio: number; oneAcks1: number[]; threeAcksAll: number[] }> {
  const set = { "offsets.topic.num.partitions": 1 };
  const single = await startCluster({ nodes: 1, set });
  let three: TestCluster | null = null;
  try {
    three = await startCluster({ nodes: 3, set });
    await createTopic(single, "bench1", 1);
    await createTopic(three, "bench3", 3);
    const settings = { ...defaultReplicationSettings, records };
    const cluster = three;
    const measured = await repeated(runs, {
      oneAcks1: () => throughput(single, "bench1", 1, settings),
      threeAcksAll: () => throughput(cluster, "bench3", -1, settings),
    });
    return { ratio: median(measured.threeAcksAll.map((value, index) => value / measured.oneAcks1[index]!)), ...measured };
  } finally {
    await three?.close();
    await single.close();
  }
}

// `bun bench/replication.ts` is `bun run bench replication` (bench/scenarios/replication.ts).
if (import.meta.main) {
  const { main } = await import("./index.ts");
  process.exit(await main(["replication", ...process.argv.slice(2)]));
}
