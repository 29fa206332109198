// The codecs against bytes real clients send: kcat (librdkafka 2.0.2), kafka-python and kafkajs
// produce to a capture responder built only from src/protocol (capture-broker.ts). Every request
// must decode, every client must accept our responses (ApiVersions, Metadata, Produce), and the
// record batches they send — with every compression codec — must verify and decode here.

import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { buildRecordBatch, decodeRecords, splitBatches } from "../../src/protocol/record-batch.ts";
import { type CaptureBroker, startCaptureBroker } from "./capture-broker.ts";

const require = createRequire(import.meta.url);
const decoder = new TextDecoder();
// Outside CI a missing client skips its tests; in CI (CI=true) they run and fail, never skip.
const requireClients = process.env.CI === "true";
const hasKcat = requireClients || Bun.which("kcat") !== null;
const hasPython = requireClients || Bun.spawnSync(["/usr/bin/python3", "-c", "import kafka, confluent_kafka"]).exitCode === 0;

/**
 * The batches are compressed with `codec`, except that librdkafka sends a batch uncompressed when
 * compressing would not make it smaller (a lone small message under load), so 0 is allowed too.
 */
function expectCodec(codecs: Set<number>, codec: number): void {
  expect(codecs.has(codec)).toBe(true);
  for (const seen of codecs) expect([0, codec]).toContain(seen);
}

function producedValues(broker: CaptureBroker): { values: string[]; codecs: Set<number>; versions: Set<number> } {
  const values: string[] = [];
  const codecs = new Set<number>();
  const versions = new Set<number>();
  for (const capture of broker.produced) {
    versions.add(capture.produceVersion);
    for (const batch of splitBatches(capture.records)) {
      codecs.add(batch.header.attributes & 7);
      for (const record of decodeRecords(batch)) values.push(record.value === null ? "<null>" : decoder.decode(record.value));
    }
  }
  return { values, codecs, versions };
}

async function run(command: string[], input: string): Promise<{ exitCode: number; stderr: string }> {
  const child = Bun.spawn(command, { stdin: new TextEncoder().encode(input), stdout: "pipe", stderr: "pipe" });
  const exitCode = await child.exited;
  return { exitCode, stderr: await new Response(child.stderr).text() };
}

/**
 * With RUNNEL_WRITE_FIXTURES=1, keeps each client's request frames (one per API and version) as
 * golden fixtures under test/protocol/fixtures/, decoded by fixtures.test.ts on every run.
 */
function saveFixtures(broker: CaptureBroker, client: string, codec: string): void {
  if (process.env.RUNNEL_WRITE_FIXTURES !== "1") return;
  const directory = join(import.meta.dir, "fixtures");
  mkdirSync(directory, { recursive: true });
  const manifestPath = join(directory, "manifest.json");
  let manifest: { file: string; apiKey: number; version: number; client: string; values?: string[] }[] = [];
  try {
    manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  } catch {}
  const seen = new Set<string>();
  for (const request of broker.requests) {
    const { requestApiKey: apiKey, requestApiVersion: version } = request.header;
    const file = `${client}-${codec}-api${apiKey}-v${version}.bin`;
    if (seen.has(file)) continue;
    seen.add(file);
    writeFileSync(join(directory, file), request.frame);
    const values = apiKey === 0 ? producedValues(broker).values : undefined;
    manifest = manifest.filter((entry) => entry.file !== file);
    manifest.push({ file, apiKey, version, client, ...(values ? { values } : {}) });
  }
  manifest.sort((left, right) => left.file.localeCompare(right.file));
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 1)}\n`);
}

const codecNumbers: Record<string, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

describe.skipIf(!hasKcat)("kcat (librdkafka 2.0.2)", () => {
  for (const codec of ["none", "gzip", "snappy", "lz4", "zstd"]) {
    test(`produce with -z ${codec}`, async () => {
      await using broker = startCaptureBroker();
      const messages = Array.from({ length: 50 }, (_, index) => `${codec}-message-${index}-${"p".repeat(index * 3)}`);
      const result = await run(
        ["kcat", "-b", `127.0.0.1:${broker.port}`, "-P", "-t", "capture", "-p", "0", "-z", codec, "-X", "message.timeout.ms=10000", "-X", "linger.ms=50"],
        `${messages.join("\n")}\n`,
      );
      expect(broker.errors).toEqual([]);
      expect(result.exitCode).toBe(0);
      const { values, codecs, versions } = producedValues(broker);
      expect(values).toEqual(messages);
      expectCodec(codecs, codecNumbers[codec]!);
      expect([...versions]).toEqual([7]);
      const apiVersions = broker.requests.find((request) => request.header.requestApiKey === 18)!;
      expect(apiVersions.header.requestApiVersion).toBe(3); // flexible: header v2, response header v0
      expect((apiVersions.body as { clientSoftwareName: string }).clientSoftwareName).toBe("librdkafka");
      saveFixtures(broker, "kcat", codec);
    }, 30_000);
  }
});

describe.skipIf(!hasPython)("python clients", () => {
  test("kafka-python 2.0.2 (ApiVersions v0 probe, Metadata, Produce) with gzip", async () => {
    await using broker = startCaptureBroker();
    const script = `
import sys
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers="127.0.0.1:${broker.port}", compression_type="gzip", request_timeout_ms=10000, api_version_auto_timeout_ms=10000)
for i in range(20):
    p.send("capture", value=("kp-%d" % i).encode(), key=b"k", partition=0)
p.flush(10)
p.close(5)
`;
    const result = await run(["/usr/bin/python3", "-c", script], "");
    expect(broker.errors).toEqual([]);
    expect(result.exitCode, result.stderr).toBe(0);
    const { values, codecs } = producedValues(broker);
    expect(values).toEqual(Array.from({ length: 20 }, (_, index) => `kp-${index}`));
    expectCodec(codecs, 1);
    expect(broker.requests[0]!.header.requestApiKey).toBe(18);
    expect(broker.requests[0]!.header.requestApiVersion).toBe(0);
    saveFixtures(broker, "kafka-python", "gzip");
  }, 30_000);

  test("confluent-kafka (librdkafka) with lz4 and headers", async () => {
    await using broker = startCaptureBroker();
    const script = `
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": "127.0.0.1:${broker.port}", "compression.type": "lz4", "linger.ms": 20, "message.timeout.ms": 10000})
for i in range(30):
    p.produce("capture", value=("ck-%d" % i).encode(), partition=0, headers=[("h", b"v%d" % i)])
assert p.flush(10) == 0
`;
    const result = await run(["/usr/bin/python3", "-c", script], "");
    expect(broker.errors).toEqual([]);
    expect(result.exitCode, result.stderr).toBe(0);
    const { values, codecs } = producedValues(broker);
    expect(values).toEqual(Array.from({ length: 30 }, (_, index) => `ck-${index}`));
    expectCodec(codecs, 3);
    const firstBatch = splitBatches(broker.produced[0]!.records)[0]!;
    expect(decodeRecords(firstBatch)[0]!.headers[0]!.key).toBe("h");
    saveFixtures(broker, "confluent-kafka", "lz4");
  }, 30_000);
});

describe("kafkajs 2.2.4", () => {
  test("produce with gzip (ApiVersions v2, Metadata v6, Produce v7)", async () => {
    await using broker = startCaptureBroker();
    const { Kafka, CompressionTypes, logLevel } = require("kafkajs");
    const kafka = new Kafka({ clientId: "capture-test", brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING, retry: { retries: 1 } });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic: "capture",
      compression: CompressionTypes.GZIP,
      messages: Array.from({ length: 10 }, (_, index) => ({ partition: 0, key: `k${index}`, value: `kj-${index}`, headers: { n: String(index) } })),
    });
    await producer.disconnect();
    expect(broker.errors).toEqual([]);
    const { values, codecs, versions } = producedValues(broker);
    expect(values).toEqual(Array.from({ length: 10 }, (_, index) => `kj-${index}`));
    expectCodec(codecs, 1);
    expect([...versions]).toEqual([7]);
    expect(broker.requests.find((request) => request.header.requestApiKey === 18)!.header.requestApiVersion).toBe(2);
    expect(broker.requests.find((request) => request.header.requestApiKey === 3)!.header.requestApiVersion).toBe(6);
    saveFixtures(broker, "kafkajs", "gzip");
  }, 30_000);
});

describe.skipIf(!hasKcat)("kcat consumes what we encode (Fetch responses, our compressed batches)", () => {
  for (const codec of ["none", "gzip", "snappy", "lz4", "zstd"]) {
    test(`kcat -C reads batches compressed here with ${codec}`, async () => {
      await using broker = startCaptureBroker();
      const first = Array.from({ length: 30 }, (_, index) => `first-${index}-${"q".repeat(index)}`);
      const second = Array.from({ length: 20 }, (_, index) => `second-${index}`);
      const batches = [
        buildRecordBatch({ records: first.map((value) => ({ value })), baseOffset: 0n, compression: codecNumbers[codec]! }),
        buildRecordBatch({ records: second.map((value) => ({ value, headers: [{ key: "h", value: "x" }] })), baseOffset: 30n, compression: codecNumbers[codec]! }),
      ];
      broker.serve("served", batches, 50n);
      const child = Bun.spawn(["kcat", "-b", `127.0.0.1:${broker.port}`, "-C", "-t", "served", "-p", "0", "-o", "beginning", "-e", "-f", "%s\\n"], {
        stdout: "pipe",
        stderr: "pipe",
      });
      const [exitCode, output] = await Promise.all([child.exited, new Response(child.stdout).text()]);
      expect(broker.errors).toEqual([]);
      expect(exitCode).toBe(0);
      expect(output.trimEnd().split("\n")).toEqual([...first, ...second]);
      const fetch = broker.requests.find((request) => request.header.requestApiKey === 1)!;
      expect(fetch.header.requestApiVersion).toBe(11);
      saveFixtures(broker, "kcat-consumer", codec);
    }, 30_000);
  }
});

describe.skipIf(!hasPython)("kafka-python consumes what we encode", () => {
  test("Fetch (v4) with a gzip batch and a plain one", async () => {
    await using broker = startCaptureBroker();
    const values = Array.from({ length: 25 }, (_, index) => `kp-consume-${index}`);
    broker.serve(
      "served",
      [
        buildRecordBatch({ records: values.slice(0, 10).map((value) => ({ value })), baseOffset: 0n, compression: 1 }),
        buildRecordBatch({ records: values.slice(10).map((value) => ({ value })), baseOffset: 10n }),
      ],
      25n,
    );
    const script = `
from kafka import KafkaConsumer, TopicPartition
c = KafkaConsumer(bootstrap_servers="127.0.0.1:${broker.port}", group_id=None, enable_auto_commit=False, consumer_timeout_ms=5000, api_version_auto_timeout_ms=10000)
tp = TopicPartition("served", 0)
c.assign([tp])
c.seek_to_beginning(tp)
got = []
for message in c:
    got.append(message.value.decode())
    if len(got) == 25:
        break
print("\\n".join(got))
`;
    const child = Bun.spawn(["/usr/bin/python3", "-c", script], { stdout: "pipe", stderr: "pipe" });
    const [exitCode, output, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
    expect(broker.errors).toEqual([]);
    expect(exitCode, stderr).toBe(0);
    expect(output.trimEnd().split("\n")).toEqual(values);
    saveFixtures(broker, "kafka-python-consumer", "gzip");
  }, 30_000);
});

describe("kafkajs consumer group (FindCoordinator, JoinGroup, SyncGroup, OffsetFetch, ListOffsets, Fetch, …)", () => {
  test("consumes batches we encode through a one-member group", async () => {
    await using broker = startCaptureBroker();
    const values = Array.from({ length: 15 }, (_, index) => `kjc-${index}`);
    broker.serve("served", [buildRecordBatch({ records: values.map((value) => ({ value, key: "k" })), baseOffset: 0n, compression: 1 })], 15n);
    const { Kafka, logLevel } = require("kafkajs");
    const kafka = new Kafka({ clientId: "capture-consumer", brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
    const consumer = kafka.consumer({ groupId: "capture-group", maxWaitTimeInMs: 50 });
    await consumer.connect();
    await consumer.subscribe({ topic: "served", fromBeginning: true });
    const got: string[] = [];
    const done = Promise.withResolvers<void>();
    await consumer.run({
      eachMessage: async ({ message }: { message: { value: Buffer } }) => {
        got.push(message.value.toString());
        if (got.length === values.length) done.resolve();
      },
    });
    await done.promise;
    await consumer.disconnect();
    expect(broker.errors).toEqual([]);
    expect(got).toEqual(values);
    const seen = new Set(broker.requests.map((request) => `${request.header.requestApiKey}v${request.header.requestApiVersion}`));
    for (const expected of ["10v2", "11v5", "14v3", "9v4", "1v11"]) expect(seen).toContain(expected);
    saveFixtures(broker, "kafkajs-consumer", "gzip");
  }, 30_000);
});

describe.skipIf(!hasPython)("confluent-kafka consumer group (librdkafka 2.0.2)", () => {
  test("consumes batches we encode through a one-member group, commits, leaves", async () => {
    await using broker = startCaptureBroker();
    const values = Array.from({ length: 12 }, (_, index) => `ckc-${index}`);
    broker.serve("served", [buildRecordBatch({ records: values.map((value) => ({ value })), baseOffset: 0n, compression: 4 })], 12n);
    const script = `
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": "127.0.0.1:${broker.port}", "group.id": "capture-group", "auto.offset.reset": "earliest",
              "enable.auto.commit": False, "session.timeout.ms": 10000})
c.subscribe(["served"])
got = []
for _ in range(200):
    m = c.poll(0.1)
    if m is None or m.error():
        continue
    got.append(m.value().decode())
    if len(got) == 12:
        break
c.commit(asynchronous=False)
c.close()
print("\\n".join(got))
`;
    const child = Bun.spawn(["/usr/bin/python3", "-c", script], { stdout: "pipe", stderr: "pipe" });
    const [exitCode, output, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
    expect(broker.errors).toEqual([]);
    expect(exitCode, stderr).toBe(0);
    expect(output.trimEnd().split("\n")).toEqual(values);
    const seen = new Set(broker.requests.map((request) => `${request.header.requestApiKey}v${request.header.requestApiVersion}`));
    for (const expected of ["10v2", "11v5", "14v3", "9v7", "8v7", "1v11"]) expect(seen).toContain(expected);
    saveFixtures(broker, "confluent-kafka-consumer", "zstd");
  }, 30_000);
});
