// Group consumers of kafkajs 2.2.4, kafka-python 2.0.2 and kcat (-G, librdkafka 2.0.2) against
// a real broker process: join, consume, commit, leave; a second consumer of the same group then
// starts exactly at the committed offsets (it gets precisely the records the first did not).

import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { spawnLines } from "../../src/testing/processes.ts";
import { repoRoot, run, startBroker, type Broker } from "../helpers/broker.ts";

let broker: Broker;

beforeAll(async () => {
  broker = await startBroker({ set: { "num.partitions": 3, "group.initial.rebalance.delay.ms": 0, "offsets.topic.num.partitions": 3 } });
});

afterAll(async () => {
  await broker?.stop();
});

async function kcatProduce(topic: string, from: number, count: number): Promise<void> {
  const lines = Array.from({ length: count }, (_, index) => `k${from + index}:${from + index}`).join("\n") + "\n";
  await run(["kcat", "-b", broker.bootstrap, "-P", "-t", topic, "-K:"], { stdin: lines });
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, index) => from + index);
}

test("kafkajs: consume part, commit, leave; the next member resumes at the committed offsets", async () => {
  await kcatProduce("kjs", 0, 100);
  const kafka = new Kafka({ clientId: "groups-kafkajs", brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const consumeSome = async (limit: number): Promise<number[]> => {
    const consumer = kafka.consumer({ groupId: "kjs-group", sessionTimeout: 6000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: "kjs", fromBeginning: true });
    const values: number[] = [];
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        if (values.length >= limit) return;
        values.push(Number(message.value!.toString()));
        await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
        if (values.length >= limit) done();
      },
    });
    const timer = setTimeout(done, 15_000);
    await finished;
    clearTimeout(timer);
    await consumer.disconnect(); // LeaveGroup
    return values;
  };
  const first = await consumeSome(60);
  expect(first.length).toBe(60);
  const second = await consumeSome(40);
  expect(second.length).toBe(40);
  expect([...first, ...second].sort((a, b) => a - b)).toEqual(range(0, 100));
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchOffsets({ groupId: "kjs-group", topics: ["kjs"] });
  const committed = offsets[0]!.partitions.reduce((sum, partition) => sum + Number(partition.offset), 0);
  expect(committed).toBe(100);
  const groups = await admin.listGroups();
  expect(groups.groups.map((group) => group.groupId)).toContain("kjs-group");
  const described = await admin.describeGroups(["kjs-group"]);
  expect(described.groups[0]!.state).toBe("Empty");
  await admin.deleteGroups(["kjs-group"]);
  await admin.disconnect();
}, 90_000);

test("kafka-python: consume part, commit, leave; rejoin at the committed offsets", async () => {
  await kcatProduce("kpy", 0, 100);
  const script = join(repoRoot, "test/compat/groups/kafka_python_group.py");
  const consume = async (limit: number): Promise<number[]> => {
    const child = spawnLines(["/usr/bin/python3", script, broker.bootstrap, "kpy-group", "kpy", String(limit)]);
    const code = await child.exited;
    if (code !== 0) throw new Error(`kafka-python exited ${code}: ${(await child.stderr()).slice(-2000)}`);
    expect(child.lines.at(-1)).toBe("X");
    return child.lines.filter((line) => line.startsWith("M ")).map((line) => Number(line.split(" ")[3]));
  };
  const first = await consume(60);
  expect(first.length).toBe(60);
  // Exactly the 40 left: no idle wait to conclude that nothing else comes. A member that resumed
  // anywhere but at the committed offsets would read some of the first 60 again, and the two
  // together would not be 0 … 99 once each.
  const second = await consume(40);
  expect(second.length).toBe(40);
  expect([...first, ...second].sort((a, b) => a - b)).toEqual(range(0, 100));
}, 90_000);

test("kcat -G: a balanced consumer commits; the next run reads only new records", async () => {
  await kcatProduce("kc", 0, 50);
  const consume = async () => {
    const { stdout } = await run(["kcat", "-b", broker.bootstrap, "-G", "kcat-group", "-X", "auto.offset.reset=earliest", "-e", "-q", "-f", "%s\n", "kc"], { timeoutMs: 30_000 });
    return new TextDecoder().decode(stdout).split("\n").filter(Boolean).map(Number);
  };
  const first = await consume();
  expect(first.sort((a, b) => a - b)).toEqual(range(0, 50));
  await kcatProduce("kc", 50, 10);
  const second = await consume();
  expect(second.sort((a, b) => a - b)).toEqual(range(50, 10));
}, 90_000);
