// `bun run bench replication` (or `bun bench/replication.ts`): issue 9's replication benchmark, every figure of one run on one
// machine. Broker processes on loopback (test/cluster/harness.ts: each node `bun src/main.ts` with
// its Kafka and internal listeners; a "one-node" cluster is one voter, the same code path):
//
//   throughput  1 KiB records through Runnel's own client Producer (linger 5 ms, 16 KiB batches,
//               3 partitions): one node acks=1 (the baseline), three nodes RF=3 acks=1 and acks=all;
//               and pipelined (the bench's Kafka-protocol producer, 8 requests in flight to a broker
//               leading all 3 partitions): one node acks=1 against RF=3 acks=1 and acks=all;
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
// 5000), BENCH_FAILOVERS (repetitions, default 3), BENCH_RUNS (throughput runs, default 3),
// BENCH_PROFILE_DIR (every broker under `bun --cpu-prof --cpu-prof-md`, profiles written there;
// e.g. BENCH_FAILOVERS=0 BENCH_LATENCY_MS=1000 for a profile of the throughput runs mostly).

import { KafkaClient, Producer } from "../src/client/index.ts";
import { CreateTopicsApi } from "../src/protocol/generated/create-topics.ts";
import { startCluster, type TestCluster } from "../test/cluster/harness.ts";
import { machineInfo } from "./lib/machine.ts";
import { loadCrc32c, type Crc32c } from "./kafka/crc32c.ts";
import { BenchProducer } from "./kafka/producer.ts";

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
  /** BENCH_PROFILE_DIR: each broker runs under `bun --cpu-prof --cpu-prof-md` writing there (stopped with SIGTERM so it does). */
  profileDir?: string;
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
    profileDir: env.BENCH_PROFILE_DIR || base.profileDir,
  };
}

/** Unacknowledged records at most in a throughput run. */
const windowRecords = 4096;
const value = "x".repeat(1024);
const partitions = 3;

/** `leader`: every partition's replicas start with it (it leads them all); else the placement's. */
async function createTopic(cluster: TestCluster, name: string, replicationFactor: number, leader?: number): Promise<void> {
  const nodeIds = cluster.liveNodes().map((node) => node.id);
  const assignments = leader === undefined ? [] : Array.from({ length: partitions }, (_, partitionIndex) => ({
    partitionIndex, brokerIds: [leader, ...nodeIds.filter((id) => id !== leader)].slice(0, replicationFactor),
  }));
  const response = await cluster.ask(cluster.liveNodes()[0]!.id, (connection) => connection.request(CreateTopicsApi, {
    topics: [{
      name, numPartitions: leader === undefined ? partitions : -1, replicationFactor: leader === undefined ? replicationFactor : -1, assignments,
      configs: [{ name: "min.insync.replicas", value: String(Math.min(2, replicationFactor)) }],
    }],
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

/**
 * Records per second of the bench's pipelined Kafka-protocol producer (bench/kafka/producer.ts:
 * 16-record batches, 8 Produce requests in flight on one connection, batches spread over the
 * partitions) flooding `leader`, which leads every partition of `topic`, for `durationMs` after a
 * 1 s warm-up. Unlike the client Producer (one batch in flight per partition), it keeps the
 * broker busy while acks=all waits for the followers: the brokers' capacity rather than the
 * client's pipeline depth.
 */
async function pipelinedFlood(cluster: TestCluster, leader: number, topic: string, acks: 1 | -1, durationMs: number, crc32c: Crc32c): Promise<number> {
  const node = cluster.liveNodes().find((entry) => entry.id === leader)!;
  const producer = await BenchProducer.open({
    host: "127.0.0.1", port: node.kafkaPort, topic, partitions, connections: 1, valueBytes: 1024, batchRecords: 16, lingerMs: 0,
    acks, compression: "none", produceVersion: 7, inFlightMax: 8, mode: "kafka", crc32c,
  });
  try {
    return (await producer.flood(durationMs, 1000)).recordsPerSecond;
  } finally {
    producer.close();
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

/** Close a cluster; a profiled one gets SIGTERM first (a broker writes its profile when it exits on its own). */
async function stop(cluster: TestCluster, settings: ReplicationBenchSettings): Promise<void> {
  if (settings.profileDir) for (const node of cluster.liveNodes()) await cluster.terminate(node.id).catch(() => {});
  await cluster.close();
}

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
  const bunArgs = settings.profileDir ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${settings.profileDir}`] : [];
  log("  one node and three nodes…");
  const single = await startCluster({ nodes: 1, set, bunArgs });
  let cluster: TestCluster | null = null;
  try {
    cluster = await startCluster({ nodes: 3, set, bunArgs });
    const three = cluster;
    await createTopic(single, "bench1", 1);
    await createTopic(three, "bench3", 3);
    // For the pipelined flood: every partition led by one broker, reached over one connection.
    const floodLeader = three.liveNodes()[0]!.id;
    await createTopic(single, "flood1", 1, single.liveNodes()[0]!.id);
    await createTopic(three, "flood3", 3, floodLeader);
    const { crc32c } = await loadCrc32c();
    const floodMs = Math.max(1000, Math.min(3000, settings.latencyMs));
    // Interleaved, so that the machine's other load spreads over every setup alike.
    const runs = await repeated(settings.runs, {
      floodOneAcks1: () => pipelinedFlood(single, single.liveNodes()[0]!.id, "flood1", 1, floodMs, crc32c),
      floodThreeAcks1: () => pipelinedFlood(three, floodLeader, "flood3", 1, floodMs, crc32c),
      floodThreeAcksAll: () => pipelinedFlood(three, floodLeader, "flood3", -1, floodMs, crc32c),
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
    const floodOneAcks1 = median(runs.floodOneAcks1);
    const floodThreeAcksAll = median(runs.floodThreeAcksAll);
    // Latency runs send with linger 0: half of what RF=3 acks=all sustains with linger 0.
    const rate = settings.rate > 0 ? settings.rate : Math.max(100, Math.floor(median(runs.threeAcksAllLinger0) / 2));
    log(`  latency at ${rate}/s…`);
    const latencyAll3 = await openLoopLatency(three, "bench3", -1, rate, settings.latencyMs);
    const latencyAll1 = await openLoopLatency(single, "bench1", -1, rate, settings.latencyMs);
    const latencyOne1 = await openLoopLatency(single, "bench1", 1, rate, settings.latencyMs);
    await stop(single, settings);
    log("  failovers…");
    const kills = [];
    const terms = [];
    for (let run = 0; run < settings.failovers; run++) kills.push(await failover(three, "bench3", "kill"));
    for (let run = 0; run < settings.failovers; run++) terms.push(await failover(three, "bench3", "terminate"));
    const loadAfter = machineInfo().loadAverage;
    const figures = { settings, runs, oneAcks1, oneAcksAll, threeAcks1, threeAcksAll, floodOneAcks1, floodThreeAcksAll, latencyAll3, latencyAll1, latencyOne1, kills, terms, loadAfter };
    const all = (values: number[]) => values.map((entry) => fixed(entry, 0)).join(", ");
    const killMedian = kills.length > 0 ? fixed(median(kills.map((entry) => entry.freshMs)), 0) : "–";
    const termMedian = terms.length > 0 ? fixed(median(terms.map((entry) => entry.freshMs)), 0) : "–";
    const lines = [
      `- Load average after the run: ${loadAfter}`,
      `- Records of 1 KiB through Runnel's client Producer (linger 5 ms, 16 KiB batches, at most ${windowRecords} records unacknowledged), ${partitions} partitions; latency open loop for ${settings.latencyMs} ms`,
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
      `The client Producer keeps one batch in flight per partition, so the rows above are bounded by ${partitions} batches per acks round trip.`,
      `Pipelined: the bench's Kafka-protocol producer, 8 Produce requests (16-record batches) in flight on one connection to a broker that`,
      `leads all ${partitions} partitions, ${floodMs} ms after 1 s of warm-up; median of ${settings.runs} interleaved runs, ratio of medians.`,
      "",
      "| setup, pipelined | records/s | ratio to one node acks=1, pipelined |",
      "| --- | ---: | ---: |",
      `| one node, acks=1 (baseline) | ${fixed(floodOneAcks1, 0)} [${all(runs.floodOneAcks1)}] | 1.00 |`,
      `| three nodes RF=3, acks=1 | ${fixed(median(runs.floodThreeAcks1), 0)} [${all(runs.floodThreeAcks1)}] | ${fixed(median(runs.floodThreeAcks1) / floodOneAcks1, 2)} |`,
      `| three nodes RF=3, acks=all | ${fixed(floodThreeAcksAll, 0)} [${all(runs.floodThreeAcksAll)}] | ${fixed(floodThreeAcksAll / floodOneAcks1, 2)} |`,
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
    const headline = `replication: RF=3 acks=all ${fixed(threeAcksAll / oneAcks1, 2)}× one node acks=1 with the client Producer, ${fixed(floodThreeAcksAll / floodOneAcks1, 2)}× pipelined (target 0.5×); acks=all p99 ${fixed(latencyAll3.p99, 1)} ms at ${rate}/s (target 5 ms); kill -9 failover ${killMedian} ms, controlled shutdown ${termMedian} ms (load after ${loadAfter})`;
    if (settings.profileDir) log(`  profiles of the brokers in ${settings.profileDir}`);
    return { markdown: lines.join("\n"), figures, headline };
  } finally {
    // A profiled broker writes its profile when it exits on its own: SIGTERM first, then close.
    if (cluster) await stop(cluster, settings);
    await stop(single, settings);
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
