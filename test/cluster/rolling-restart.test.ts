// A rolling restart of a three-broker cluster under load (issue 9, controlled shutdown): while a
// confluent-kafka-python producer sends acks=all idempotent records (clients/chaos_producer.py,
// one line per attempt) to a replication-factor-3 topic with min.insync.replicas=2, each broker in
// turn gets SIGTERM — Kafka's controlled shutdown moves its leaderships and fences it before it
// stops — and is restarted once it has exited; the next one goes once every ISR is full again.
// The producer must see no error at all (librdkafka retries the retriable ones internally, so any
// delivery error it reports is non-retriable or a timeout), and the checker must find every
// acknowledged record, once, in order.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CreateTopicsApi } from "../../src/protocol/generated/create-topics.ts";
import { spawnLines, type LineProcess } from "../../src/testing/processes.ts";
import { checkQueue, summarize } from "../../src/testing/queue-checker.ts";
import { parseAttempts, readThroughLeaders } from "./queue-tools.ts";
import { startCluster, type TestCluster } from "./harness.ts";

const topic = "rolling";
const partitions = 3;
const python = "/usr/bin/python3";
const producerScript = resolve(import.meta.dir, "clients/chaos_producer.py");
const haveConfluent = existsSync(python) && Bun.spawnSync([python, "-c", "import confluent_kafka"]).exitCode === 0;

async function isrViews(cluster: TestCluster): Promise<{ leader: number; isr: number[] }[]> {
  const metadata = await cluster.metadata(cluster.liveNodes()[0]!.id);
  const found = metadata.topics.find((entry) => entry.name === topic);
  return (found?.partitions ?? []).map((partition) => ({ leader: partition.leaderId, isr: [...partition.isrNodes] }));
}

function waitForFullIsr(cluster: TestCluster): Promise<true> {
  return cluster.waitFor("every partition led with a full ISR", async () => {
    const views = await isrViews(cluster);
    return views.length === partitions && views.every((view) => view.leader > 0 && view.isr.length === 3) ? true : undefined;
  }, 30_000);
}

describe.skipIf(!haveConfluent)("a rolling restart (SIGTERM, controlled shutdown) of three brokers", () => {
  let cluster: TestCluster;
  const work = mkdtempSync(join(tmpdir(), "runnel-rolling-"));
  let producer: LineProcess | null = null;
  beforeAll(async () => {
    cluster = await startCluster({
      nodes: 3, env: { RUNNEL_LOG_LEVEL: "info" },
      set: { "offsets.topic.num.partitions": 3, "replica.fetch.wait.max.ms": 200 },
    });
    const response = await cluster.ask(1, (connection) => connection.request(CreateTopicsApi, {
      topics: [{ name: topic, numPartitions: partitions, replicationFactor: 3, assignments: [], configs: [{ name: "min.insync.replicas", value: "2" }] }],
      timeoutMs: 10_000, validateOnly: false,
    }, { version: 7, timeoutMs: 20_000 }));
    expect(response.topics[0]!.errorCode).toBe(0);
    await waitForFullIsr(cluster);
  }, 90_000);
  afterAll(async () => {
    if (producer) await producer.kill9().catch(() => {});
    await cluster?.close();
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  test("an acks=all idempotent producer sees no error; every acknowledged record is there once", async () => {
    const output = join(work, "attempts.jsonl");
    const stopFile = join(work, "stop");
    producer = spawnLines([python, producerScript, "--bootstrap", cluster.bootstrap, "--topic", topic, "--name", "r", "--output", output, "--stop-file", stopFile, "--rate", "300"]);
    await producer.waitForLine((line) => line === "ready");
    const acknowledged = () => parseAttempts(output).filter((attempt) => attempt.outcome.kind === "ok").length;
    const progress = async (more: number) => {
      const target = acknowledged() + more;
      await cluster.waitFor(`${more} more acknowledged records`, () => (acknowledged() >= target ? true : undefined), 30_000);
    };
    const figures: string[] = [];
    for (const node of cluster.nodes) {
      await progress(100);
      const ledBefore = (await isrViews(cluster)).filter((view) => view.leader === node.id).length;
      const started = performance.now();
      expect(await cluster.terminate(node.id)).toBe(0);
      const stoppedMs = performance.now() - started;
      const output = cluster.output(node.id);
      expect(output).toContain("controlled shutdown: leaderships moved, fenced");
      expect(output).not.toContain("controller could not be reached");
      await cluster.start(node.id);
      await waitForFullIsr(cluster);
      figures.push(`SIGTERM of node ${node.id} (leading ${ledBefore} of ${partitions}): exited in ${Math.round(stoppedMs)} ms; restarted, every ISR full after ${Math.round(performance.now() - started)} ms`);
    }
    await progress(100);
    writeFileSync(stopFile, "");
    expect(await producer.exited).toBe(0);
    producer = null;

    const attempts = parseAttempts(output);
    const report = checkQueue(attempts, await readThroughLeaders(cluster.bootstrap, topic, partitions));
    console.log(figures.join("\n"));
    console.log(`rolling restart: ${summarize(report)}`);
    const errors = attempts.filter((attempt) => attempt.outcome.kind !== "ok").map((attempt) => `${attempt.value}: ${attempt.outcome.kind === "ok" ? "" : attempt.outcome.error}`);
    expect(errors).toEqual([]);
    expect(report.counts.acknowledged).toBeGreaterThan(400);
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
  }, 240_000);
});
