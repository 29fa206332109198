// A kafkajs consumer group member across kill -9 of its group coordinator's broker (issue 9's proof
// 3), three real broker processes: records produced after the kill reach the member, its commits
// after the kill land on the new coordinator, and the offsets it committed before the kill are kept
// (it resumes after them: no record produced before the kill is delivered twice).
// kafkajs 2.2.4 sends its heartbeats and commits to the coordinator it found at its last join and
// looks the coordinator up again only on a group error answer (NOT_COORDINATOR, ILLEGAL_GENERATION,
// REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID) or when its consumer restarts after exhausting
// `retry.retries`; a dead broker gives only connection errors, so the member is out for that retry
// budget (docs/compatibility.md, "kafkajs and a dead group coordinator"), against Apache Kafka as
// against Runnel. The budget here is small (about 3 s) to keep the test quick. What Runnel must get
// right for the restart to succeed: Metadata leaves the fenced broker out and FindCoordinator names
// the new leader of the group's __consumer_offsets partition. KAFKAJS_LOG=<file> writes kafkajs'
// debug log there.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync } from "node:fs";
import { Kafka, logLevel, type Admin, type Consumer, type Producer } from "kafkajs";
import { CreateTopicsApi } from "../../src/protocol/generated/create-topics.ts";
import { FindCoordinatorApi } from "../../src/protocol/generated/find-coordinator.ts";
import { startCluster, type TestCluster } from "./harness.ts";

const topic = "kjs-coordinator";
const partitions = 2;
const group = "kjs-coordinator-group";
const logFile = process.env.KAFKAJS_LOG;
/** The consumer's retry budget: 5 retries from 100 ms, at most 1 s apart (kafkajs' default is 5 from 300 ms, 30 s). */
const consumerRetry = { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 };

let cluster: TestCluster;
let consumer: Consumer | null = null;
let producer: Producer | null = null;
let admin: Admin | null = null;
/** How many times each value was delivered to the member. */
const consumed = new Map<string, number>();

/** kafkajs' disconnect can wait long on a broker killed under it: bounded, the cluster closes regardless. */
function bounded(promise: Promise<unknown> | undefined): Promise<unknown> {
  return Promise.race([promise?.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 5000))]);
}

function coordinatorOf(accept: (nodeId: number) => boolean = () => true): Promise<number> {
  return cluster.waitFor(`a coordinator of ${group}`, async () => {
    const answer = await cluster.ask(cluster.liveNodes()[0]!.id, (connection) =>
      connection.request(FindCoordinatorApi, { key: group, keyType: 0, coordinatorKeys: [] }, { version: 3 }));
    return answer.errorCode === 0 && answer.nodeId >= 0 && accept(answer.nodeId) ? answer.nodeId : undefined;
  });
}

/** The group's committed offsets (kafkajs admin, which finds the coordinator itself), "partition:offset". */
async function committed(): Promise<Map<number, number>> {
  const [entry] = await admin!.fetchOffsets({ groupId: group, topics: [topic] });
  return new Map(entry!.partitions.map((partition) => [partition.partition, Number(partition.offset)]));
}

describe("a kafkajs group member across kill -9 of its coordinator's broker", () => {
  beforeAll(async () => {
    cluster = await startCluster({
      nodes: 3,
      set: { "offsets.topic.num.partitions": 3, "group.initial.rebalance.delay.ms": 0, "replica.fetch.wait.max.ms": 200 },
    });
    const response = await cluster.ask(1, (connection) => connection.request(CreateTopicsApi, {
      topics: [{ name: topic, numPartitions: partitions, replicationFactor: 3, assignments: [], configs: [{ name: "min.insync.replicas", value: "2" }] }],
      timeoutMs: 10_000, validateOnly: false,
    }, { version: 7, timeoutMs: 20_000 }));
    expect(response.topics[0]!.errorCode).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await bounded(consumer?.disconnect());
    await bounded(producer?.disconnect());
    await bounded(admin?.disconnect());
    await cluster?.close();
  }, 30_000);

  test("keeps consuming records produced after the kill and commits them at the new coordinator", async () => {
    const kafka = new Kafka({
      clientId: "kjs-coordinator", brokers: cluster.bootstrap.split(","),
      logLevel: logFile ? logLevel.DEBUG : logLevel.NOTHING,
      logCreator: () => ({ namespace, level, log }) => {
        if (logFile) appendFileSync(logFile, `${new Date().toISOString()} ${level} ${namespace} ${JSON.stringify(log)}\n`);
      },
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 }, connectionTimeout: 1000, requestTimeout: 5000,
    });
    producer = kafka.producer();
    admin = kafka.admin();
    await Promise.all([producer.connect(), admin.connect()]);
    const produce = async (prefix: string, count: number) => {
      for (let index = 0; index < count; index++) {
        await producer!.send({ topic, acks: -1, messages: [{ partition: index % partitions, value: `${prefix}-${index}` }] });
      }
    };
    consumer = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 300, maxWaitTimeInMs: 200, retry: consumerRetry });
    const crashes: string[] = [];
    consumer.on(consumer.events.CRASH, (event) => crashes.push(`${event.payload.error.name} (restart: ${event.payload.restart})`));
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ autoCommitInterval: 200, eachMessage: async ({ message }) => {
      const value = message.value!.toString();
      consumed.set(value, (consumed.get(value) ?? 0) + 1);
    } });

    await produce("before", 10);
    await cluster.waitFor("the records produced before the kill consumed and committed", async () => {
      if (consumed.size < 10) return undefined;
      const offsets = await committed();
      return [...offsets.values()].reduce((sum, offset) => sum + Math.max(offset, 0), 0) === 10 ? true : undefined;
    });

    const coordinator = await coordinatorOf();
    const killedAt = performance.now();
    await cluster.kill(coordinator);
    const next = await coordinatorOf((nodeId) => nodeId !== coordinator);
    await produce("after", 10);
    const wanted = Array.from({ length: 10 }, (_, index) => `after-${index}`);
    await cluster.waitFor("the records produced after the kill consumed", () => (wanted.every((value) => consumed.has(value)) ? true : undefined), 30_000)
      .catch((error) => { throw new Error(`${error}: ${wanted.filter((value) => !consumed.has(value)).length} of 10 missing`); });
    await cluster.waitFor("commits after the kill at the new coordinator", async () => {
      const offsets = await committed();
      return [...offsets.values()].reduce((sum, offset) => sum + Math.max(offset, 0), 0) === 20 ? true : undefined;
    }, 20_000);
    // The offsets committed before the kill survived it: the rejoined member resumed after them.
    const before = Array.from({ length: 10 }, (_, index) => `before-${index}`);
    expect(before.filter((value) => consumed.get(value) !== 1)).toEqual([]);
    console.log(`kafkajs crashes: ${crashes.join(", ") || "none"}`);
    console.log(`kill -9 of node ${coordinator} (coordinator): node ${next} coordinates; kafkajs consumed and committed the 10 new records ${Math.round(performance.now() - killedAt)} ms after the kill`);
  }, 90_000);
});
