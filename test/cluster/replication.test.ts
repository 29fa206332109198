// Partition replication across three real broker processes (docs/replication.md §5, issue 9's
// proof 2): a replication-factor-3 topic with min.insync.replicas=2 takes acks=all idempotent
// records from confluent-kafka-python (test/cluster/clients/chaos_producer.py, one JSON line per
// attempt) while the test kill -9s the leader of a partition (a follower holding every committed
// record takes over; the producer carries on; the killed node returns and truncates to the new
// leader's log), SIGSTOPs a follower longer than the ISR lag limit and fencing (it leaves the ISR,
// acks=all keeps working, it rejoins after SIGCONT), and cuts a follower off with the fault proxy.
// Afterwards the Jepsen-style checker (src/testing/queue-checker.ts) reads everything back — through
// the leaders, and from every replica's files once the processes are stopped — and must find no
// acknowledged record lost, none duplicated, no two values at one offset on any replica.
// Figures (failover time after kill -9, time to leave and rejoin the ISR) are printed, not asserted.
// CHAOS_ROUNDS=n repeats the fault rounds (default 1) for a longer soak.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { KafkaClient, Producer } from "../../src/client/index.ts";
import { loadBrokerConfig, topicDefaults } from "../../src/config/index.ts";
import { native } from "../../src/native/index.ts";
import { CreateTopicsApi } from "../../src/protocol/generated/create-topics.ts";
import { decodeRecords, splitBatches } from "../../src/protocol/record-batch.ts";
import { openPartitionLog, realFs } from "../../src/storage/index.ts";
import { spawnLines, type LineProcess } from "../../src/testing/processes.ts";
import { checkQueue, summarize, type ReadRecord } from "../../src/testing/queue-checker.ts";
import { parseAttempts, readThroughLeaders } from "./queue-tools.ts";
import { createLogger, setLogLevel } from "../../src/util/logger.ts";
import { startCluster, type TestCluster } from "./harness.ts";

const topic = "chaos";
const partitions = 3;
const rounds = Math.max(1, Number(process.env.CHAOS_ROUNDS ?? 1));
const python = "/usr/bin/python3";
const producerScript = resolve(import.meta.dir, "clients/chaos_producer.py");
const haveConfluent = existsSync(python) && Bun.spawnSync([python, "-c", "import confluent_kafka"]).exitCode === 0;

interface PartitionView {
  leader: number;
  isr: number[];
}

async function partitionViews(cluster: TestCluster, via: number): Promise<PartitionView[]> {
  const metadata = await cluster.metadata(via);
  const found = metadata.topics.find((entry) => entry.name === topic);
  if (!found) return [];
  return [...found.partitions].sort((left, right) => left.partitionIndex - right.partitionIndex)
    .map((partition) => ({ leader: partition.leaderId, isr: [...partition.isrNodes].sort() }));
}

/** The view of a live node (any), retried until `accept` likes it. */
function waitForView(cluster: TestCluster, what: string, accept: (views: PartitionView[]) => boolean, timeoutMs = 30_000): Promise<PartitionView[]> {
  return cluster.waitFor(what, async () => {
    const via = cluster.liveNodes()[0]!.id;
    const views = await partitionViews(cluster, via);
    return views.length === partitions && accept(views) ? views : undefined;
  }, timeoutMs);
}

/** Every record in every replica's files (the processes stopped). */
async function readReplicaFiles(cluster: TestCluster): Promise<{ reads: ReadRecord[]; ends: Map<string, bigint> }> {
  const config = topicDefaults(loadBrokerConfig({}).values);
  const reads: ReadRecord[] = [];
  const ends = new Map<string, bigint>();
  for (const node of cluster.nodes) {
    for (let partition = 0; partition < partitions; partition++) {
      const log = await openPartitionLog({ dataDir: node.dataDir, topic, partition, config, native, fs: realFs, logger: createLogger("reader") });
      try {
        ends.set(`${node.id}/${partition}`, log.logEndOffset);
        const read = log.read(log.logStartOffset, 256 * 1024 * 1024, log.logEndOffset);
        try {
          for (const chunk of read.chunks) {
            for (const batch of splitBatches(chunk)) {
              for (const record of decodeRecords(batch)) reads.push({ partition, offset: record.offset, value: new TextDecoder().decode(record.value!) });
            }
          }
        } finally {
          read.release();
        }
      } finally {
        await log.close();
      }
    }
  }
  return { reads, ends };
}

/** Time until an acks=all record to `partition` is acknowledged (our client: retries, refreshes metadata). */
async function timeToProduce(bootstrap: string, partition: number): Promise<number> {
  const started = performance.now();
  const client = new KafkaClient({ bootstrap, clientId: "failover-probe", retryBackoffMs: 20, retryBackoffMaxMs: 100, requestTimeoutMs: 5000 });
  const producer = new Producer(client, { acks: -1, lingerMs: 0, deliveryTimeoutMs: 30_000, requestTimeoutMs: 5000 });
  try {
    await producer.send({ topic: "probe", partition, value: `probe-${Date.now()}` });
    return performance.now() - started;
  } finally {
    await producer.close();
    await client.close();
  }
}

async function createTopic(cluster: TestCluster, name: string): Promise<void> {
  const response = await cluster.ask(1, (connection) => connection.request(CreateTopicsApi, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 3, assignments: [], configs: [{ name: "min.insync.replicas", value: "2" }] }],
    timeoutMs: 10_000, validateOnly: false,
  }, { version: 7, timeoutMs: 20_000 }));
  expect(response.topics[0]!.errorCode).toBe(0);
}

describe.skipIf(!haveConfluent)("replication across three broker processes under faults", () => {
  let cluster: TestCluster;
  const work = mkdtempSync(join(tmpdir(), "runnel-chaos-"));
  let producer: LineProcess | null = null;
  beforeAll(async () => {
    cluster = await startCluster({
      nodes: 3, proxies: true,
      // The ISR lag limit below the test's pauses; fetch waits well below it (Kafka's rule).
      set: { "offsets.topic.num.partitions": 3, "replica.lag.time.max.ms": 2000, "replica.fetch.wait.max.ms": 200 },
    });
    await createTopic(cluster, topic);
    await createTopic(cluster, "probe");
    await waitForView(cluster, "every partition led with a full ISR", (views) => views.every((view) => view.leader > 0 && view.isr.length === 3));
  }, 90_000);
  afterAll(async () => {
    if (producer) await producer.kill9().catch(() => {});
    await cluster?.close();
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  test("kill -9 of a leader, SIGSTOP of a follower, a cut follower: nothing acknowledged is lost, replicas agree", async () => {
    const output = join(work, "attempts.jsonl");
    const stopFile = join(work, "stop");
    producer = spawnLines([python, producerScript, "--bootstrap", cluster.bootstrap, "--topic", topic, "--name", "p1", "--output", output, "--stop-file", stopFile, "--rate", "300"]);
    await producer.waitForLine((line) => line === "ready");
    const acknowledged = () => parseAttempts(output).filter((attempt) => attempt.outcome.kind === "ok").length;
    const progress = async (more: number) => {
      const target = acknowledged() + more;
      await cluster.waitFor(`${more} more acknowledged records`, () => (acknowledged() >= target ? true : undefined), 30_000);
    };
    const figures: string[] = [];
    for (let round = 1; round <= rounds; round++) {
      await progress(100);
      // 1. kill -9 the leader of partition 0; a follower with every committed record leads.
      const before = await waitForView(cluster, "partition 0 led", (views) => views[0]!.leader > 0);
      const victim = before[0]!.leader;
      // A victim that also leads the metadata quorum fails over slower: a Raft election first, then
      // the new controller fences it only after broker.session.timeout.ms (fresh sessions).
      const quorumLeader = await cluster.quorumLeader();
      const killedAt = performance.now();
      await cluster.kill(victim);
      const failoverMs = await timeToProduce(cluster.bootstrap, 0);
      const after = await waitForView(cluster, "a new leader of partition 0", (views) => views[0]!.leader > 0 && views[0]!.leader !== victim);
      figures.push(`round ${round}: kill -9 of leader ${victim}${victim === quorumLeader ? " (also the quorum leader)" : ""} → acks=all produce on partition 0 after ${Math.round(failoverMs)} ms (new leader ${after[0]!.leader}, ISR ${after[0]!.isr.join(",")})`);
      await progress(100);
      // The old leader returns, truncates where its log diverged, catches up and rejoins every ISR.
      await cluster.restart(victim);
      await waitForView(cluster, `node ${victim} back in every ISR`, (views) => views.every((view) => view.isr.includes(victim)));
      figures.push(`round ${round}: node ${victim} back in every ISR ${Math.round(performance.now() - killedAt)} ms after the kill`);

      // 2. SIGSTOP a follower of partition 1 longer than the lag limit: it leaves the ISR, acks=all
      //    goes on (min.insync.replicas=2), and after SIGCONT it catches up and rejoins.
      const views = await waitForView(cluster, "partition 1 led", (current) => current[1]!.leader > 0);
      const follower = views[1]!.isr.find((id) => id !== views[1]!.leader)!;
      const pausedAt = performance.now();
      cluster.pause(follower);
      await waitForView(cluster, `node ${follower} out of partition 1's ISR`, (current) => !current[1]!.isr.includes(follower));
      const leftMs = performance.now() - pausedAt;
      await progress(100);
      cluster.resume(follower);
      await waitForView(cluster, `node ${follower} back in every ISR`, (current) => current.every((view) => view.isr.includes(follower)));
      figures.push(`round ${round}: SIGSTOP of follower ${follower}: out of the ISR after ${Math.round(leftMs)} ms; back in every ISR ${Math.round(performance.now() - pausedAt)} ms after the stop`);

      // 3. Cut a follower of partition 2 off from its leader (both directions, the fault proxy).
      const cutViews = await waitForView(cluster, "partition 2 led", (current) => current[2]!.leader > 0);
      const leader2 = cutViews[2]!.leader;
      const cut = cutViews[2]!.isr.find((id) => id !== leader2)!;
      const cutAt = performance.now();
      cluster.network!.block(cut, leader2);
      cluster.network!.block(leader2, cut);
      await progress(100);
      cluster.network!.heal();
      await waitForView(cluster, `node ${cut} in every ISR after the cut healed`, (current) => current.every((view) => view.isr.length === 3));
      figures.push(`round ${round}: node ${cut} cut off from leader ${leader2} for 100 acknowledged records: every ISR full again ${Math.round(performance.now() - cutAt)} ms after the cut`);
    }
    writeFileSync(stopFile, "");
    await producer.exited;
    producer = null;
    await waitForView(cluster, "every ISR full", (views) => views.every((view) => view.isr.length === 3));

    const attempts = parseAttempts(output);
    const throughLeaders = await readThroughLeaders(cluster.bootstrap, topic, partitions);
    const report = checkQueue(attempts, throughLeaders);
    console.log(figures.join("\n"));
    console.log(`through the leaders: ${summarize(report)}`);
    expect(report.counts.acknowledged).toBeGreaterThan(300);
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);

    // Every replica's files, the processes stopped: one history per partition on all three.
    for (const node of cluster.nodes) await cluster.kill(node.id);
    // Opening the files after kill -9 cuts the zeroed reserved tails of the active segments (logged).
    setLogLevel("error");
    const files = await readReplicaFiles(cluster).finally(() => setLogLevel("warn"));
    const replicas = checkQueue(attempts, [...throughLeaders, ...files.reads]);
    console.log(`every replica's files: ${summarize(replicas)}`);
    expect(replicas.counts.conflicting).toBe(0);
    expect(replicas.problems).toEqual([]);
    for (let partition = 0; partition < partitions; partition++) {
      const ends = cluster.nodes.map((node) => files.ends.get(`${node.id}/${partition}`));
      expect(new Set(ends).size).toBe(1);
    }
  }, 120_000 + rounds * 60_000);
});
