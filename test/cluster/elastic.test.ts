// The elastic cluster (docs/elastic.md, issue 13's proof): three voters grow to five brokers and
// shrink back to three while confluent-kafka-python produces acks=all with idempotence and a
// consumer group consumes. Each new broker joins through controller.quorum.bootstrap.servers and
// receives its share of replicas from the controller's balancer (new replicas catch up outside the
// ISR, join it, and only then do the old ones leave); each leaving broker is drained with
// `runnel cluster decommission N` and then stopped (SIGTERM). Afterwards the queue checker
// (src/testing/queue-checker.ts) finds nothing acknowledged lost or duplicated, order kept, through
// the leaders and through the group consumer; no delivery failed. Printed, not asserted: how long
// each join and decommission took, the bytes moved, and produce latency (max, p99) during the moves.
// ELASTIC_ROUNDS=n repeats grow-and-shrink n times (new broker ids each time) for a longer soak.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describeLogDirs, KafkaClient } from "../../src/client/index.ts";
import { CreateTopicsApi } from "../../src/protocol/generated/create-topics.ts";
import { spawnLines, type LineProcess } from "../../src/testing/processes.ts";
import { checkQueue, summarize } from "../../src/testing/queue-checker.ts";
import { show, waitBalanced } from "./balance-tools.ts";
import { startCluster, type TestCluster } from "./harness.ts";
import { consumerScript, haveConfluent, parseAttempts, parseConsumed, percentile, producerScript, python, readThroughLeaders } from "./queue-tools.ts";

const topic = "elastic";
const partitions = 6;
const rounds = Math.max(1, Number(process.env.ELASTIC_ROUNDS ?? 1));
const repoRoot = resolve(import.meta.dir, "../..");

/** Run a command to its end without blocking this process; bounded. */
async function runCommand(command: string[], timeoutMs = 120_000): Promise<{ text: string; errors: string; code: number }> {
  const child = Bun.spawn(command, { cwd: repoRoot, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const [text, errors, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { text, errors, code };
}

async function bytesOn(cluster: TestCluster, id: number): Promise<bigint> {
  const client = new KafkaClient({ bootstrap: `127.0.0.1:${cluster.node(id).kafkaPort}`, clientId: "elastic-test" });
  try {
    return (await describeLogDirs(client, id)).reduce((sum, entry) => sum + entry.bytes, 0n);
  } finally {
    await client.close();
  }
}

describe.skipIf(!haveConfluent)("a cluster grows 3 → 5 → 3 brokers under load", () => {
  let cluster: TestCluster;
  const work = mkdtempSync(join(tmpdir(), "runnel-elastic-"));
  const clients: LineProcess[] = [];
  beforeAll(async () => {
    cluster = await startCluster({
      nodes: 3,
      set: {
        "offsets.topic.num.partitions": 3, "replica.fetch.wait.max.ms": 200,
        // The balancer plans often and leadership spreads back quickly (Kafka checks every 300 s).
        "replica.rebalance.check.interval.ms": 300, "leader.imbalance.check.interval.seconds": 1,
      },
    });
    const response = await cluster.ask(1, (connection) => connection.request(CreateTopicsApi, {
      topics: [{ name: topic, numPartitions: partitions, replicationFactor: 3, assignments: [], configs: [{ name: "min.insync.replicas", value: "2" }] }],
      timeoutMs: 10_000, validateOnly: false,
    }, { version: 7, timeoutMs: 20_000 }));
    expect(response.topics[0]!.errorCode).toBe(0);
  }, 90_000);
  afterAll(async () => {
    for (const child of clients) await child.kill9().catch(() => {});
    await cluster?.close();
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  test("joins and decommissions lose nothing acknowledged, duplicate nothing, keep order", async () => {
    const produced = join(work, "attempts.jsonl");
    const consumed = join(work, "consumed.jsonl");
    const stopProducer = join(work, "stop-producer");
    const stopConsumer = join(work, "stop-consumer");
    const producer = spawnLines([python, producerScript, "--bootstrap", cluster.bootstrap, "--topic", topic, "--name", "p1", "--output", produced, "--stop-file", stopProducer, "--rate", "200"]);
    const consumer = spawnLines([python, consumerScript, "--bootstrap", cluster.bootstrap, "--topic", topic, "--group", "elastic-readers", "--output", consumed, "--stop-file", stopConsumer]);
    clients.push(producer, consumer);
    await producer.waitForLine((line) => line === "ready");
    await consumer.waitForLine((line) => line === "ready");
    const acknowledged = () => parseAttempts(produced).filter((attempt) => attempt.outcome.kind === "ok").length;
    const progress = async (more: number) => {
      const target = acknowledged() + more;
      await cluster.waitFor(`${more} more acknowledged records`, () => (acknowledged() >= target ? true : undefined), 30_000);
    };
    const figures: string[] = [];
    const moveWindows: [number, number][] = [];
    let members = [1, 2, 3];
    await waitBalanced(cluster, members);
    for (let round = 1; round <= rounds; round++) {
      for (let join = 0; join < 2; join++) {
        await progress(100);
        const startedAt = Date.now();
        const id = await cluster.addBroker();
        members = [...members, id];
        const balanced = await waitBalanced(cluster, members);
        const tookMs = Date.now() - startedAt;
        moveWindows.push([startedAt, Date.now()]);
        figures.push(`round ${round}: broker ${id} joined and got its share in ${tookMs} ms — ${await bytesOn(cluster, id)} bytes copied to it; replicas ${show(balanced.replicas)}; leaders ${show(balanced.leaders)}`);
      }
      for (const id of members.slice(3)) {
        await progress(100);
        const startedAt = Date.now();
        const bytesBefore = await bytesOn(cluster, id);
        const command = await runCommand([process.execPath, join(repoRoot, "src/main.ts"), "cluster", "decommission", String(id), "--bootstrap", `127.0.0.1:${cluster.node(1).kafkaPort}`, "--wait-ms", "90000"]);
        expect(command.errors).toBe("");
        expect(command.code).toBe(0);
        expect(command.text).toContain(`broker ${id} is drained`);
        const drainedMs = Date.now() - startedAt;
        expect(await cluster.terminate(id)).toBe(0);
        members = members.filter((member) => member !== id);
        const balanced = await waitBalanced(cluster, members);
        moveWindows.push([startedAt, Date.now()]);
        figures.push(`round ${round}: broker ${id} decommissioned in ${drainedMs} ms (${command.text.trim().split("\n").length - 2} progress lines), stopped; ${bytesBefore} bytes moved off it; replicas ${show(balanced.replicas)}; leaders ${show(balanced.leaders)}`);
      }
    }
    await progress(100);
    writeFileSync(stopProducer, "");
    expect(await producer.exited).toBe(0);
    writeFileSync(stopConsumer, "");
    expect(await consumer.exited).toBe(0);

    const attempts = parseAttempts(produced);
    const throughLeaders = await readThroughLeaders(cluster.bootstrap, topic, partitions);
    const report = checkQueue(attempts, throughLeaders);
    const group = checkQueue(attempts, parseConsumed(consumed));
    const latencies = attempts.filter((attempt) => attempt.outcome.kind === "ok").map((attempt) => attempt.latencyMs);
    console.log(figures.join("\n"));
    console.log(`produce latency: p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, max ${Math.max(...latencies)} ms over ${latencies.length} records (${moveWindows.length} moves)`);
    console.log(`through the leaders: ${summarize(report)}`);
    console.log(`through the consumer group: ${summarize(group)}`);
    expect(report.counts.acknowledged).toBeGreaterThan(400);
    expect(report.counts.failed).toBe(0);
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
    expect(group.counts.lost).toBe(0);
    expect(group.problems).toEqual([]);
    expect(existsSync(produced)).toBe(true);
  }, 240_000 * rounds);
});
