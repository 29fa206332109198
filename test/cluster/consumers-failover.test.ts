// Consumers across failovers, three real broker processes (issue 9's proof 3): a replication-factor-3
// topic with min.insync.replicas=2 takes acks=all idempotent records from confluent-kafka-python
// (clients/chaos_producer.py) while a confluent-kafka-python consumer group
// (test/compat/groups/confluent_group.py) and a kafkajs consumer group keep consuming. The test
// kill -9s the leader of each partition in turn and restarts it; then it kill -9s the python group's
// coordinator broker (the leader of the group's __consumer_offsets partition) with the group's
// consumer stopped, and starts a new member: it must resume from the committed offsets, served by
// the new coordinator. Afterwards every acknowledged record was consumed by both groups (the
// Jepsen-style checker over what each group read), and each group read every offset of every
// partition from 0 to the end: nothing skipped.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Kafka, logLevel, type Consumer as KafkajsConsumer } from "kafkajs";
import { CreateTopicsApi } from "../../src/protocol/generated/create-topics.ts";
import { FindCoordinatorApi } from "../../src/protocol/generated/find-coordinator.ts";
import { spawnLines, type LineProcess } from "../../src/testing/processes.ts";
import { checkQueue, summarize, type ReadRecord } from "../../src/testing/queue-checker.ts";
import { parseAttempts } from "./queue-tools.ts";
import { startCluster, type TestCluster } from "./harness.ts";

const topic = "flow";
const partitions = 3;
const python = "/usr/bin/python3";
const producerScript = resolve(import.meta.dir, "clients/chaos_producer.py");
const groupScript = resolve(import.meta.dir, "../compat/groups/confluent_group.py");
const haveConfluent = existsSync(python) && Bun.spawnSync([python, "-c", "import confluent_kafka"]).exitCode === 0;

/** The "M <partition> <offset> <value>" lines of a confluent_group.py consumer. */
function pythonReads(consumer: LineProcess): ReadRecord[] {
  return consumer.lines.filter((line) => line.startsWith("M ")).map((line) => {
    const [, partition, offset, value] = line.split(" ");
    return { partition: Number(partition), offset: BigInt(offset!), value: value! };
  });
}

/** Highest "<tag> <partition> <next offset>" per partition (C: committed, I: commit sent). */
function lastCommits(consumer: LineProcess, tag: "C" | "I"): Map<number, bigint> {
  const commits = new Map<number, bigint>();
  for (const line of consumer.lines) {
    if (!line.startsWith(`${tag} `)) continue;
    const [, partition, offset] = line.split(" ");
    const previous = commits.get(Number(partition)) ?? 0n;
    if (BigInt(offset!) > previous) commits.set(Number(partition), BigInt(offset!));
  }
  return commits;
}

/** Partitions whose offsets read do not run 0, 1, 2, … without a gap (described), empty when none. */
function gaps(reads: readonly ReadRecord[]): string[] {
  const found: string[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    const offsets = new Set(reads.filter((read) => read.partition === partition).map((read) => read.offset));
    const highest = [...offsets].reduce((max, offset) => (offset > max ? offset : max), -1n);
    for (let offset = 0n; offset <= highest; offset++) {
      if (!offsets.has(offset)) {
        found.push(`partition ${partition}: offset ${offset} never consumed (highest ${highest})`);
        break;
      }
    }
  }
  return found;
}

async function createTopic(cluster: TestCluster): Promise<void> {
  const response = await cluster.ask(1, (connection) => connection.request(CreateTopicsApi, {
    topics: [{ name: topic, numPartitions: partitions, replicationFactor: 3, assignments: [], configs: [{ name: "min.insync.replicas", value: "2" }] }],
    timeoutMs: 10_000, validateOnly: false,
  }, { version: 7, timeoutMs: 20_000 }));
  expect(response.topics[0]!.errorCode).toBe(0);
}

interface View {
  leader: number;
  isr: number[];
}

async function views(cluster: TestCluster, name: string): Promise<View[]> {
  const metadata = await cluster.metadata(cluster.liveNodes()[0]!.id);
  const found = metadata.topics.find((entry) => entry.name === name);
  if (!found) return [];
  return [...found.partitions].sort((left, right) => left.partitionIndex - right.partitionIndex)
    .map((partition) => ({ leader: partition.leaderId, isr: [...partition.isrNodes].sort() }));
}

function waitForViews(cluster: TestCluster, what: string, accept: (current: View[]) => boolean): Promise<View[]> {
  return cluster.waitFor(what, async () => {
    const current = await views(cluster, topic);
    return current.length === partitions && accept(current) ? current : undefined;
  }, 30_000);
}

/** The coordinator of `group` as a live node answers FindCoordinator (retried until one is named). */
function coordinatorOf(cluster: TestCluster, group: string, accept: (nodeId: number) => boolean = () => true): Promise<number> {
  return cluster.waitFor(`a coordinator of ${group}`, async () => {
    const answer = await cluster.ask(cluster.liveNodes()[0]!.id, (connection) =>
      connection.request(FindCoordinatorApi, { key: group, keyType: 0, coordinatorKeys: [] }, { version: 3 }));
    return answer.errorCode === 0 && answer.nodeId >= 0 && accept(answer.nodeId) ? answer.nodeId : undefined;
  }, 30_000);
}

describe.skipIf(!haveConfluent)("consumers across failovers of three broker processes", () => {
  let cluster: TestCluster;
  const work = mkdtempSync(join(tmpdir(), "runnel-consumers-"));
  const children: LineProcess[] = [];
  let kafkajs: KafkajsConsumer | null = null;
  beforeAll(async () => {
    cluster = await startCluster({
      nodes: 3,
      set: { "offsets.topic.num.partitions": 3, "group.initial.rebalance.delay.ms": 0, "replica.fetch.wait.max.ms": 200 },
    });
    await createTopic(cluster);
    await waitForViews(cluster, "every partition led with a full ISR", (current) => current.every((view) => view.leader > 0 && view.isr.length === 3));
  }, 90_000);
  afterAll(async () => {
    await kafkajs?.disconnect().catch(() => {});
    for (const child of children) await child.kill9().catch(() => {});
    await cluster?.close();
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  test("python and kafkajs groups consume every acknowledged record across kill -9 of leaders and of the coordinator", async () => {
    const output = join(work, "attempts.jsonl");
    const stopFile = join(work, "stop");
    const producer = spawnLines([python, producerScript, "--bootstrap", cluster.bootstrap, "--topic", topic, "--name", "p", "--output", output, "--stop-file", stopFile, "--rate", "200"]);
    children.push(producer);
    await producer.waitForLine((line) => line === "ready");
    const acknowledged = () => parseAttempts(output).filter((attempt) => attempt.outcome.kind === "ok").length;
    const progress = async (more: number) => {
      const target = acknowledged() + more;
      await cluster.waitFor(`${more} more acknowledged records`, () => (acknowledged() >= target ? true : undefined), 30_000);
    };
    const startPython = (member: number) => {
      const child = spawnLines([python, groupScript, "consume", cluster.bootstrap, "py-group", topic, String(member)], { env: { COMMIT_EVERY: "50" } });
      children.push(child);
      return child;
    };
    let python1 = startPython(1);

    const kafka = new Kafka({
      clientId: "kafkajs-failover", brokers: cluster.bootstrap.split(","), logLevel: logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 }, connectionTimeout: 3000, requestTimeout: 10_000,
    });
    kafkajs = kafka.consumer({ groupId: "js-group", sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
    const jsReads: ReadRecord[] = [];
    await kafkajs.connect();
    await kafkajs.subscribe({ topic, fromBeginning: true });
    await kafkajs.run({
      eachMessage: async ({ partition, message }) => {
        jsReads.push({ partition, offset: BigInt(message.offset), value: message.value!.toString() });
      },
    });
    const figures: string[] = [];

    // 1. kill -9 the leader of each partition in turn (and restart it) while both groups consume.
    for (let partition = 0; partition < partitions; partition++) {
      await progress(100);
      const before = await waitForViews(cluster, `partition ${partition} led`, (current) => current[partition]!.leader > 0);
      const victim = before[partition]!.leader;
      const killedAt = performance.now();
      await cluster.kill(victim);
      await waitForViews(cluster, `a new leader of partition ${partition}`, (current) => current[partition]!.leader > 0 && current[partition]!.leader !== victim);
      await progress(100);
      await cluster.restart(victim);
      await waitForViews(cluster, `node ${victim} back in every ISR`, (current) => current.every((view) => view.isr.includes(victim)));
      figures.push(`kill -9 of node ${victim} (leader of partition ${partition}): back in every ISR after ${Math.round(performance.now() - killedAt)} ms`);
    }

    // 2. The python group's coordinator dies while the group is stopped: the group resumes from the
    //    offsets committed on the old coordinator, served by the new one.
    await cluster.waitFor("the python group committed offsets", () => (lastCommits(python1, "C").size > 0 ? true : undefined), 30_000);
    const coordinator = await coordinatorOf(cluster, "py-group");
    await python1.kill9();
    const committed = lastCommits(python1, "C");
    const sent = lastCommits(python1, "I");
    await cluster.kill(coordinator);
    const killedAt = performance.now();
    const next = await coordinatorOf(cluster, "py-group", (nodeId) => nodeId !== coordinator);
    figures.push(`kill -9 of node ${coordinator} (coordinator of py-group): node ${next} coordinates after ${Math.round(performance.now() - killedAt)} ms`);
    const python2 = startPython(2);
    for (const [partition, offset] of committed) {
      const line = await python2.waitForLine((candidate) => candidate.startsWith(`M ${partition} `));
      const first = BigInt(line.split(" ")[2]!);
      // At the last committed offset, or at one of a commit sent but not confirmed before the kill.
      expect(first).toBeGreaterThanOrEqual(offset);
      expect(first).toBeLessThanOrEqual(sent.get(partition) ?? offset);
      figures.push(`py-group resumed partition ${partition} at ${first} (committed ${offset})`);
    }
    await progress(100);
    await cluster.restart(coordinator);
    await waitForViews(cluster, `node ${coordinator} back in every ISR`, (current) => current.every((view) => view.isr.includes(coordinator)));
    await progress(100);

    // 3. Stop producing; both groups must consume every acknowledged record.
    writeFileSync(stopFile, "");
    expect(await producer.exited).toBe(0);
    const attempts = parseAttempts(output);
    const acked = attempts.filter((attempt) => attempt.outcome.kind === "ok").map((attempt) => attempt.value);
    const pyValues = () => new Set([...pythonReads(python1), ...pythonReads(python2)].map((read) => read.value));
    const jsValues = () => new Set(jsReads.map((read) => read.value));
    await cluster.waitFor("python group consumed every acknowledged record", () => (acked.every((value) => pyValues().has(value)) ? true : undefined), 60_000)
      .catch((error) => { throw new Error(`${error}: ${acked.filter((value) => !pyValues().has(value)).length} missing`); });
    await cluster.waitFor("kafkajs group consumed every acknowledged record", () => (acked.every((value) => jsValues().has(value)) ? true : undefined), 60_000)
      .catch((error) => { throw new Error(`${error}: ${acked.filter((value) => !jsValues().has(value)).length} missing`); });

    const pyAll = [...pythonReads(python1), ...pythonReads(python2)];
    const pyReport = checkQueue(attempts, pyAll);
    const jsReport = checkQueue(attempts, jsReads);
    console.log(figures.join("\n"));
    console.log(`python group: ${summarize(pyReport)}`);
    console.log(`kafkajs group: ${summarize(jsReport)}`);
    expect(pyReport.counts.acknowledged).toBeGreaterThan(500);
    expect(pyReport.problems).toEqual([]);
    expect(jsReport.problems).toEqual([]);
    expect(gaps(pyAll)).toEqual([]);
    expect(gaps(jsReads)).toEqual([]);
  }, 240_000);
});
