// Runnel as a library: `import { startBroker } from "runnel"` (the package's `exports`) starts a
// broker inside the test process. The README's example is extracted and run exactly as written;
// then kafkajs, @platformatic/kafka and kcat (librdkafka) talk to in-process brokers, and stop()
// closes everything and removes the temporary data directory.

import { expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Consumer as PlatformaticConsumer, Producer as PlatformaticProducer, stringDeserializers, stringSerializers } from "@platformatic/kafka";
import { Kafka, logLevel } from "kafkajs";
import { startBroker } from "runnel";
import { repoRoot, run } from "../helpers/broker.ts";

/** The first ```ts block after the README heading that mentions startBroker. */
function readmeExample(): string {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Runnel in your tests"));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error("README has no ```ts example under '## Runnel in your tests'");
  return match[1]!;
}

test("the README example runs exactly as written (kafkajs)", async () => {
  const example = readmeExample();
  expect(example).toContain('import { startBroker } from "runnel";');
  expect(example.trim().split("\n").length).toBeLessThanOrEqual(10);
  mkdirSync(join(repoRoot, "tmp"), { recursive: true });
  const file = join(repoRoot, "tmp", `readme-example-${process.pid}.ts`);
  writeFileSync(file, example);
  try {
    const { stdout } = await run([process.execPath, file], { env: { KAFKAJS_NO_PARTITIONER_WARNING: "1" }, timeoutMs: 30_000 });
    expect(new TextDecoder().decode(stdout)).toContain("offset 0\n");
  } finally {
    rmSync(file, { force: true });
  }
}, 40_000);

test("kafkajs against an in-process broker: produce and consume; stop() removes the data directory", async () => {
  let dataDir = "";
  {
    await using broker = await startBroker({ config: { "num.partitions": 2, "group.initial.rebalance.delay.ms": 0 } });
    dataDir = broker.dataDir;
    expect(broker.bootstrap).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(broker.port).not.toBe(9092);
    const kafka = new Kafka({ clientId: "lib-test", brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: "lib", messages: Array.from({ length: 10 }, (_, index) => ({ key: `k${index}`, value: `v${index}` })) });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: "lib-group" });
    await consumer.connect();
    await consumer.subscribe({ topic: "lib", fromBeginning: true });
    const values = new Set<string>();
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          values.add(message.value!.toString());
          if (values.size === 10) resolve();
        },
      });
    });
    await consumer.disconnect();
    expect(values.size).toBe(10);
    expect(existsSync(dataDir)).toBe(true);
  }
  expect(existsSync(dataDir)).toBe(false);
}, 40_000);

test("@platformatic/kafka and kcat (librdkafka) against in-process brokers", async () => {
  const broker = await startBroker();
  try {
    const producer = new PlatformaticProducer({ clientId: "lib-platformatic", bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers, autocreateTopics: true });
    try {
      await producer.send({ messages: [{ topic: "lib-p", key: "a", value: "from platformatic" }], acks: -1 });
    } finally {
      await producer.close();
    }
    await run(["kcat", "-b", broker.bootstrap, "-P", "-t", "lib-p"], { stdin: "from kcat\n" });
    const read = await run(["kcat", "-b", broker.bootstrap, "-C", "-t", "lib-p", "-o", "beginning", "-e", "-q"]);
    expect(new TextDecoder().decode(read.stdout)).toBe("from platformatic\nfrom kcat\n");

    const consumer = new PlatformaticConsumer({ clientId: "lib-platformatic", groupId: "lib-p-group", bootstrapBrokers: [broker.bootstrap], deserializers: stringDeserializers });
    try {
      const metadata = await consumer.metadata({ topics: ["lib-p"] });
      const topic = metadata.topics.get("lib-p")!;
      const response = await consumer.fetch({
        node: topic.partitions[0]!.leader,
        topics: [{ topicId: topic.id, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, partitionMaxBytes: 1 << 20 }] }],
        maxWaitTime: 100,
      });
      const values = (response.responses[0]!.partitions[0]!.records ?? []).flatMap((batch) => batch.records.map((record) => record.value?.toString()));
      expect(values).toEqual(["from platformatic", "from kcat"]);
    } finally {
      await consumer.close();
    }
  } finally {
    await broker.stop();
    await broker.stop(); // idempotent
  }
  // Two brokers in one process, each on its own port and directory.
  await using first = await startBroker();
  await using second = await startBroker();
  expect(first.port).not.toBe(second.port);
  expect(first.dataDir).not.toBe(second.dataDir);
}, 40_000);
