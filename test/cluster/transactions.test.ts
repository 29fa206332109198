// Transactions across three real broker processes (issue 14, "in a cluster"): a transactional
// confluent-kafka-python producer (clients/txn_cluster.py) writes to every partition of a
// replication-factor-3 topic whose partitions are led by different brokers, and sends a group's
// offset to each transaction; transactions alternate commit and abort. The coordinator (the leader
// of the id's __transaction_state partition) writes markers to partitions it leads directly and to
// the others with WriteTxnMarkers. Then the same with the coordinator's broker killed (kill -9) in
// the middle of a commit: the new coordinator replays __transaction_state and finishes what was
// prepared, the producer carries on. A checker over what read_committed and read_uncommitted
// consumers read: every committed transaction's records exactly once, nothing of an aborted one,
// the group's committed offset the last committed transaction's, and every partition's last
// stable offset equal to its high watermark. Last, KIP-890 across nodes: a transactional batch sent
// to a partition leader that does not coordinate the id is verified with the coordinator
// (AddPartitionsToTxn v4 verifyOnly): refused before the partition is added and after the abort.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { CreateTopicsApi } from "../../src/protocol/generated/create-topics.ts";
import { DescribeTransactionsApi } from "../../src/protocol/generated/describe-transactions.ts";
import { FindCoordinatorApi } from "../../src/protocol/generated/find-coordinator.ts";
import { ListOffsetsApi } from "../../src/protocol/generated/list-offsets.ts";
import { AddPartitionsToTxnApi, EndTxnApi, InitProducerIdApi, ProduceApi } from "../../src/protocol/generated/index.ts";
import { Attribute, encodeBatch } from "../../src/protocol/record-batch.ts";
import { spawnLines, type LineProcess } from "../../src/testing/processes.ts";
import { startCluster, type TestCluster } from "./harness.ts";

const python = "/usr/bin/python3";
const script = resolve(import.meta.dir, "clients/txn_cluster.py");
const haveConfluent = existsSync(python) && Bun.spawnSync([python, "-c", "import confluent_kafka"]).exitCode === 0;
const partitions = 3;
const recordsPerPartition = 5; // txn_cluster.py's RECORDS

async function createTopic(cluster: TestCluster, name: string): Promise<void> {
  const response = await cluster.ask(cluster.liveNodes()[0]!.id, (connection) => connection.request(CreateTopicsApi, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 3, assignments: [], configs: [{ name: "min.insync.replicas", value: "2" }] }],
    timeoutMs: 10_000, validateOnly: false,
  }, { version: 7, timeoutMs: 20_000 }));
  expect(response.topics[0]!.errorCode).toBe(0);
}

/** Leaders of the topic's partitions once each is led with a full ISR. */
function fullyReplicated(cluster: TestCluster, name: string): Promise<number[]> {
  return cluster.waitFor(`${name}: every partition led with a full ISR`, async () => {
    const metadata = await cluster.metadata(cluster.liveNodes()[0]!.id);
    const found = metadata.topics.find((entry) => entry.name === name);
    if (!found || found.partitions.length !== partitions) return undefined;
    const sorted = [...found.partitions].sort((left, right) => left.partitionIndex - right.partitionIndex);
    return sorted.every((partition) => partition.leaderId > 0 && partition.isrNodes.length === 3) ? sorted.map((partition) => partition.leaderId) : undefined;
  }, 30_000);
}

/** The node coordinating a transactional id, as a live node answers FindCoordinator. */
function transactionCoordinator(cluster: TestCluster, transactionalId: string, accept: (node: number) => boolean = () => true): Promise<number> {
  return cluster.waitFor(`the coordinator of ${transactionalId}`, async () => {
    const answer = await cluster.ask(cluster.liveNodes()[0]!.id, (connection) =>
      connection.request(FindCoordinatorApi, { key: transactionalId, keyType: 1, coordinatorKeys: [] }, { version: 3 }));
    return answer.errorCode === 0 && answer.nodeId >= 0 && accept(answer.nodeId) ? answer.nodeId : undefined;
  }, 30_000);
}

interface Outcomes {
  committed: Set<number>;
  aborted: Set<number>;
}

function outcomesOf(producer: LineProcess): Outcomes {
  const committed = new Set<number>();
  const aborted = new Set<number>();
  for (const line of producer.lines) {
    const [word, n] = line.split(" ");
    if (word === "COMMITTED") committed.add(Number(n));
    if (word === "ABORTED") aborted.add(Number(n));
  }
  return { committed, aborted };
}

/**
 * What is wrong with the records a consumer read, given the transactions' outcomes (empty when
 * nothing): a value read twice; a committed transaction not wholly there; anything of a
 * transaction that was not committed (read_committed) — read_uncommitted may see those too.
 */
function violations(values: string[], outcomes: Outcomes, isolation: "read_committed" | "read_uncommitted"): string[] {
  const found: string[] = [];
  const seen = new Map<string, number>();
  for (const value of values) seen.set(value, (seen.get(value) ?? 0) + 1);
  for (const [value, count] of seen) {
    if (count > 1) found.push(`${value} read ${count} times`);
    const n = Number(/^t(\d+)-/.exec(value)?.[1] ?? NaN);
    if (isolation === "read_committed" && !outcomes.committed.has(n)) found.push(`${value} of transaction ${n}, which was not committed`);
  }
  for (const n of outcomes.committed) {
    for (let partition = 0; partition < partitions; partition++) {
      for (let index = 0; index < recordsPerPartition; index++) {
        if (!seen.has(`t${n}-p${partition}-${index}`)) found.push(`t${n}-p${partition}-${index} of committed transaction ${n} never read`);
      }
    }
  }
  return found;
}

async function read(cluster: TestCluster, topic: string, isolation: "read_committed" | "read_uncommitted", group: string): Promise<{ values: string[]; offset: number }> {
  const reader = spawnLines([python, script, "read", cluster.bootstrap, topic, String(partitions), isolation, group]);
  try {
    await reader.waitForLine((line) => line === "END" || line.startsWith("FAIL"));
    const failure = reader.lines.find((line) => line.startsWith("FAIL"));
    if (failure) throw new Error(`${isolation} reader: ${failure}`);
    const offset = Number(reader.lines.find((line) => line.startsWith("OFFSET "))!.slice("OFFSET ".length));
    return { values: reader.lines.filter((line) => line.startsWith("V ")).map((line) => line.slice(2)), offset };
  } finally {
    await reader.kill9();
  }
}

/** Every partition's last stable offset (read_committed ListOffsets latest) against its high watermark, on its leader. */
async function stableOffsetsLag(cluster: TestCluster, topic: string): Promise<string[]> {
  const leaders = await fullyReplicatedOrLive(cluster, topic);
  const lagging: string[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    const latest = async (isolationLevel: number) => {
      const response = await cluster.ask(leaders[partition]!, (connection) => connection.request(ListOffsetsApi, {
        replicaId: -1, isolationLevel, topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] }],
      }, { version: 5 }));
      return response.topics[0]!.partitions[0]!.offset;
    };
    const [stable, high] = [await latest(1), await latest(0)];
    if (stable !== high) lagging.push(`partition ${partition}: last stable offset ${stable}, high watermark ${high}`);
  }
  return lagging;
}

/** Current leaders (live ones), the ISR may still be short after a kill. */
function fullyReplicatedOrLive(cluster: TestCluster, name: string): Promise<number[]> {
  const live = new Set(cluster.liveNodes().map((node) => node.id));
  return cluster.waitFor(`${name}: every partition led by a live node`, async () => {
    const metadata = await cluster.metadata(cluster.liveNodes()[0]!.id);
    const found = metadata.topics.find((entry) => entry.name === name);
    if (!found) return undefined;
    const sorted = [...found.partitions].sort((left, right) => left.partitionIndex - right.partitionIndex);
    return sorted.every((partition) => live.has(partition.leaderId)) ? sorted.map((partition) => partition.leaderId) : undefined;
  }, 30_000);
}

async function checkTopic(cluster: TestCluster, topic: string, group: string, producer: LineProcess, count: number): Promise<Outcomes> {
  const outcomes = outcomesOf(producer);
  expect(outcomes.committed.size + outcomes.aborted.size).toBe(count);
  expect(outcomes.aborted.size).toBeGreaterThan(0);
  const committedRead = await read(cluster, topic, "read_committed", group);
  expect(violations(committedRead.values, outcomes, "read_committed")).toEqual([]);
  expect(committedRead.values.length).toBe(outcomes.committed.size * partitions * recordsPerPartition);
  const uncommittedRead = await read(cluster, topic, "read_uncommitted", group);
  expect(violations(uncommittedRead.values, outcomes, "read_uncommitted")).toEqual([]);
  // The aborted records are in the log (read_uncommitted sees them): read_committed left them out.
  expect(uncommittedRead.values.length).toBeGreaterThan(committedRead.values.length);
  // The group's offset: the last committed transaction's (n + 1), as sent to it.
  expect(committedRead.offset).toBe(Math.max(...outcomes.committed) + 1);
  expect(await stableOffsetsLag(cluster, topic)).toEqual([]);
  return outcomes;
}

describe.skipIf(!haveConfluent)("transactions across three broker processes", () => {
  let cluster: TestCluster;
  const children: LineProcess[] = [];
  const work = mkdtempSync(join(tmpdir(), "runnel-txn-cluster-"));
  beforeAll(async () => {
    cluster = await startCluster({
      nodes: 3,
      set: {
        "offsets.topic.num.partitions": 3,
        "transaction.state.log.num.partitions": 3,
        "transaction.abort.timed.out.transaction.cleanup.interval.ms": 500,
        "replica.fetch.wait.max.ms": 200,
        // A paused broker leaves the ISR soon (the prepared commit becomes durable without it) but
        // is not fenced before the test resumes it (a killed one is, at once: its port is closed).
        "replica.lag.time.max.ms": 1000,
        "broker.session.timeout.ms": 20000,
      },
    });
  }, 90_000);
  afterAll(async () => {
    for (const child of children) await child.kill9().catch(() => {});
    await cluster?.close();
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  test("commit and abort across partitions led by different brokers; read_committed sees only committed records", async () => {
    const topic = "txn-spread";
    await createTopic(cluster, topic);
    const leaders = await fullyReplicated(cluster, topic);
    expect(new Set(leaders).size).toBeGreaterThan(1);
    const count = 9;
    const producer = spawnLines([python, script, "produce", cluster.bootstrap, topic, String(partitions), "tx-spread", String(count), "txn-spread-group"]);
    children.push(producer);
    await producer.waitForLine((line) => line === "DONE" || line.startsWith("FATAL"));
    expect(producer.lines.filter((line) => line.startsWith("FATAL"))).toEqual([]);
    const outcomes = await checkTopic(cluster, topic, "txn-spread-group", producer, count);
    expect(outcomes.aborted).toEqual(new Set([2, 5, 8]));
  }, 120_000);

  test("kill -9 of the coordinator's broker with a commit prepared: the new coordinator completes it, the producer carries on", async () => {
    const topic = "txn-failover";
    const transactionalId = "tx-failover";
    const gate = 4;
    await createTopic(cluster, topic);
    const leaders = await fullyReplicated(cluster, topic);
    const count = 12;
    const gateFile = join(work, "gate");
    const producer = spawnLines([python, script, "produce", cluster.bootstrap, topic, String(partitions), transactionalId, String(count), "txn-failover-group", String(gate), gateFile]);
    children.push(producer);
    await producer.waitForLine((line) => line === `GATE ${gate}`);
    const coordinator = await transactionCoordinator(cluster, transactionalId);
    // A broker leading one of the transaction's partitions, other than the coordinator, stops
    // answering: the commit's markers cannot all be written, the transaction stays PrepareCommit.
    const stalled = leaders.find((leader) => leader !== coordinator);
    expect(stalled).toBeDefined();
    cluster.pause(stalled!);
    writeFileSync(gateFile, "");
    await producer.waitForLine((line) => line === `COMMITTING ${gate}`);
    await cluster.waitFor("the commit prepared on the coordinator", async () => {
      const described = await cluster.ask(coordinator, (connection) => connection.request(DescribeTransactionsApi, { transactionalIds: [transactionalId] }, { version: 0 }));
      return described.transactionStates[0]?.transactionState === "PrepareCommit" ? true : undefined;
    }, 30_000);
    await cluster.kill(coordinator);
    cluster.resume(stalled!);
    const successor = await transactionCoordinator(cluster, transactionalId, (node) => node !== coordinator);
    await producer.waitForLine((line) => line === "DONE" || line.startsWith("FATAL"));
    expect(producer.lines.filter((line) => line.startsWith("FATAL"))).toEqual([]);
    const outcomes = await checkTopic(cluster, topic, "txn-failover-group", producer, count);
    // The transaction prepared when its coordinator died was committed, by its successor.
    expect(outcomes.committed.has(gate)).toBe(true);
    const described = await cluster.ask(successor, (connection) => connection.request(DescribeTransactionsApi, { transactionalIds: [transactionalId] }, { version: 0 }));
    expect(described.transactionStates[0]).toMatchObject({ errorCode: 0, transactionState: "CompleteAbort" }); // transaction 11 aborted last
    // The killed broker comes back and catches up; the transactions are unaffected.
    await cluster.restart(coordinator);
    await fullyReplicated(cluster, topic);
    expect(violations((await read(cluster, topic, "read_committed", "txn-failover-group")).values, outcomes, "read_committed")).toEqual([]);
  }, 180_000);

  test("KIP-890 across nodes: a partition leader that does not coordinate the id asks the coordinator before a transactional write", async () => {
    const topic = "txn-verify";
    const transactionalId = "tx-verify";
    await createTopic(cluster, topic);
    const leaders = await fullyReplicated(cluster, topic);
    const coordinator = await transactionCoordinator(cluster, transactionalId);
    const partition = leaders.findIndex((leader) => leader !== coordinator);
    expect(partition).toBeGreaterThanOrEqual(0);
    const leader = leaders[partition]!;
    const producer = await cluster.waitFor("InitProducerId", async () => {
      const answer = await cluster.ask(coordinator, (connection) => connection.request(InitProducerIdApi, { transactionalId, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 }));
      return answer.errorCode === 0 ? answer : undefined;
    });
    const produce = async (sequence: number) => (await cluster.ask(leader, (connection) => connection.request(ProduceApi, {
      transactionalId, acks: -1, timeoutMs: 5000,
      topicData: [{
        name: topic,
        partitionData: [{
          index: partition,
          records: encodeBatch(
            [{ offset: 0n, timestamp: BigInt(Date.now()), key: null, value: new TextEncoder().encode(`record ${sequence}`), headers: new Uint8Array([0]) }],
            { attributes: Attribute.transactional, producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence: sequence, partitionLeaderEpoch: -1 },
          ),
        }],
      }],
    }))).responses[0]!.partitionResponses[0]!.errorCode;
    // Not added to the transaction: refused, nothing written.
    expect(await produce(0)).toBe(ErrorCode.INVALID_TXN_STATE);
    const added = await cluster.ask(coordinator, (connection) => connection.request(AddPartitionsToTxnApi, {
      transactions: [], v3AndBelowTransactionalId: transactionalId, v3AndBelowProducerId: producer.producerId, v3AndBelowProducerEpoch: producer.producerEpoch,
      v3AndBelowTopics: [{ name: topic, partitions: [partition] }],
    }, { version: 3 }));
    expect(added.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode).toBe(ErrorCode.NONE);
    expect(await produce(0)).toBe(ErrorCode.NONE);
    expect(await produce(1)).toBe(ErrorCode.NONE);
    const ended = await cluster.ask(coordinator, (connection) => connection.request(EndTxnApi, { transactionalId, producerId: producer.producerId, producerEpoch: producer.producerEpoch, committed: false }));
    expect(ended.errorCode).toBe(ErrorCode.NONE);
    // A late write of the aborted transaction (its marker is in the partition): refused.
    expect(await produce(2)).toBe(ErrorCode.INVALID_TXN_STATE);
  }, 60_000);
});
