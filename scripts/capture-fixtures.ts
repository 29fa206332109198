#!/usr/bin/env bun
// Captures golden request fixtures from real Kafka clients talking to a real Runnel broker.
//
//   bun scripts/capture-fixtures.ts [--clients kcat,kafkajs,...] [--out test/fixtures/requests]
//
// For each client: start a recording proxy (src/testing/recording-proxy.ts), start a fresh broker
// that advertises the PROXY's port (so the client comes back through the proxy after bootstrap),
// drive the client through a short scenario (create topic, produce three records with a key and a
// header, one with a null value, consume them, list offsets, and a consumer group if the broker
// serves groups), then keep the first frame of every distinct (api key, version) the client sent.
// Frames go to <out>/<client>/<NN>-<api>-v<version>.bin (header + body, without the int32 size)
// and are listed in <out>/index.json, which test/protocol/fixtures.test.ts reads.
//
// A step that fails (e.g. groups not served yet) is recorded in the index, not fatal; the fixtures
// of the steps that ran are still written. Clients not named in --clients keep their old entries.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { apiByKey } from "../src/protocol/generated/index.ts";
import { compressionNames, type CompressionCodec } from "../src/protocol/compression.ts";
import type { ProduceRequest } from "../src/protocol/generated/index.ts";
import { decodeRequestFrame, requestHeaderVersion } from "../src/protocol/headers.ts";
import { compressionOf, readBatchHeader } from "../src/protocol/record-batch.ts";
import { type RecordedRequest, startRecordingProxy } from "../src/testing/recording-proxy.ts";
import { Broker, repoRoot } from "../test/helpers/broker.ts";

export const clientNames = ["kcat", "confluent-kafka-python", "kafka-python", "kafkajs", "platformatic-kafka"] as const;
export type ClientName = (typeof clientNames)[number];

export interface ScenarioRecord {
  key: string;
  value: string | null;
}

/** What every client produces; each record also carries the header `source` = the client id. */
export const scenarioRecords: readonly ScenarioRecord[] = [
  { key: "key-1", value: "value-1" },
  { key: "key-2", value: null },
  { key: "key-3", value: "value-3" },
];

/**
 * What the compressed produces send: the same keys, values repeated so that compression pays off
 * (librdkafka sends a batch uncompressed when compressing would not make it smaller).
 */
export const compressedRecords: readonly ScenarioRecord[] = scenarioRecords.map((record) => ({
  key: record.key,
  value: record.value === null ? null : record.value.repeat(30),
}));

interface Scenario {
  client: ClientName;
  clientId: string;
  topic: string;
  group: string;
  bootstrap: string;
}

interface StepResult {
  ok: boolean;
  detail?: string;
}

type Steps = Record<string, StepResult>;

const stepTimeoutMs = 30000;
const python = "/usr/bin/python3";

// ───────────────────────────── helpers ─────────────────────────────

async function exec(command: string[], options: { stdin?: string; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn(command, {
    cwd: repoRoot,
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? stepTimeoutMs);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

async function step(steps: Steps, name: string, run: () => Promise<string | void>, timeoutMs = stepTimeoutMs): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const detail = await Promise.race([
      run(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    steps[name] = detail ? { ok: true, detail } : { ok: true };
    return true;
  } catch (error) {
    steps[name] = { ok: false, detail: String((error as Error).message ?? error).slice(0, 400) };
    return false;
  } finally {
    clearTimeout(timer);
  }
}

function tail(text: string, chars = 300): string {
  return text.trim().slice(-chars);
}

// ───────────────────────────── kcat ─────────────────────────────

async function runKcat(scenario: Scenario): Promise<Steps> {
  const steps: Steps = {};
  const base = ["kcat", "-b", scenario.bootstrap, "-X", `client.id=${scenario.clientId}`];
  const input = scenarioRecords.map((record) => `${record.key}:${record.value ?? ""}\n`).join("");
  await step(steps, "metadata", async () => {
    const result = await exec([...base, "-L", "-J"]);
    if (result.code !== 0) throw new Error(tail(result.stderr));
  });
  // -Z turns the empty value of key-2 into a NULL value; the topic is auto-created.
  await step(steps, "produce", async () => {
    const result = await exec([...base, "-P", "-t", scenario.topic, "-K", ":", "-Z", "-H", `source=${scenario.clientId}`, "-X", "linger.ms=200"], { stdin: input });
    if (result.code !== 0) throw new Error(tail(result.stderr));
  });
  await step(steps, "consume", async () => {
    const result = await exec([...base, "-C", "-t", scenario.topic, "-o", "beginning", "-e", "-K", ":", "-Z", "-f", "%k=%s;"]);
    if (result.code !== 0) throw new Error(tail(result.stderr));
    const count = result.stdout.split(";").filter((item) => item.length > 0).length;
    if (count !== scenarioRecords.length) throw new Error(`consumed ${count} records: ${result.stdout}`);
    return result.stdout;
  });
  await step(steps, "offsets-for-times", async () => {
    const result = await exec([...base, "-Q", "-t", `${scenario.topic}:0:0`]);
    if (result.code !== 0) throw new Error(tail(result.stderr));
    return result.stdout.trim();
  });
  await step(steps, "group-consume", async () => {
    const result = await exec([...base, "-C", "-G", scenario.group, scenario.topic, "-o", "beginning", "-e", "-X", "auto.offset.reset=earliest"], { timeoutMs: 20000 });
    if (result.code !== 0) throw new Error(tail(result.stderr));
  }, 25000);
  for (const codec of ["gzip", "snappy", "lz4", "zstd"]) {
    await step(steps, `produce-${codec}`, async () => {
      const compressible = compressedRecords.map((record) => `${record.key}:${record.value ?? ""}\n`).join("");
      const result = await exec([...base, "-P", "-t", scenario.topic, "-K", ":", "-Z", "-H", `source=${scenario.clientId}`, "-X", "linger.ms=200", "-z", codec], { stdin: compressible });
      if (result.code !== 0) throw new Error(tail(result.stderr));
    });
  }
  return steps;
}

// ───────────────────────────── Python clients ─────────────────────────────

// Both Python scenarios print one JSON line of step results last.
const pythonPrelude = `
import json, sys, time, traceback
bootstrap, topic, client_id, group = sys.argv[1:5]
records = json.loads(${JSON.stringify(JSON.stringify(scenarioRecords.map((record) => [record.key, record.value])))})
compressed_records = json.loads(${JSON.stringify(JSON.stringify(compressedRecords.map((record) => [record.key, record.value])))})
steps = {}
def step(name, fn):
    try:
        detail = fn()
        steps[name] = {"ok": True, "detail": str(detail)[:300]} if detail is not None else {"ok": True}
    except Exception as error:
        steps[name] = {"ok": False, "detail": (type(error).__name__ + ": " + str(error))[:400]}
`;

const confluentScript = `${pythonPrelude}
import confluent_kafka
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
common = {"bootstrap.servers": bootstrap, "client.id": client_id}

def create():
    admin = AdminClient(dict(common))
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(15)
step("create-topic", create)

def produce(codec="none"):
    producer = Producer(dict(common, **{"linger.ms": 200, "enable.idempotence": True, "compression.type": codec}))
    for key, value in (records if codec == "none" else compressed_records):
        producer.produce(topic, key=key.encode(), value=None if value is None else value.encode(), headers=[("source", client_id.encode())])
    left = producer.flush(15)
    if left: raise RuntimeError(f"{left} records not delivered")
step("produce", produce)

consumer = Consumer(dict(common, **{"group.id": group, "enable.auto.commit": False, "auto.offset.reset": "earliest"}))
def consume():
    consumer.assign([TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
    got, deadline = [], time.time() + 15
    while len(got) < len(records) and time.time() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None: got.append(message.key())
    if len(got) != len(records): raise RuntimeError(f"consumed {got}")
    return got
step("consume", consume)
step("watermarks", lambda: consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10))
step("offsets-for-times", lambda: [p.offset for p in consumer.offsets_for_times([TopicPartition(topic, 0, 0)], timeout=10)])
step("commit", lambda: consumer.commit(offsets=[TopicPartition(topic, 0, len(records))], asynchronous=False))
step("committed", lambda: [p.offset for p in consumer.committed([TopicPartition(topic, 0)], timeout=10)])
consumer.close()
for codec in ["gzip", "snappy", "lz4", "zstd"]:
    step("produce-" + codec, lambda: produce(codec))

from confluent_kafka.admin import ConfigResource, NewPartitions
admin = AdminClient(dict(common))
def describe_configs():
    resource = ConfigResource("topic", topic)
    return len(admin.describe_configs([resource])[resource].result(15))
step("describe-configs", describe_configs)
def alter_configs():
    resource = ConfigResource("topic", topic, set_config={"retention.ms": "3600000"})
    admin.alter_configs([resource])[resource].result(15)
step("alter-configs", alter_configs)
step("create-partitions", lambda: admin.create_partitions([NewPartitions(topic, 2)])[topic].result(15))
step("delete-topic", lambda: admin.delete_topics([topic])[topic].result(15))
print(json.dumps(steps))
`;

const kafkaPythonScript = `${pythonPrelude}
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
partition = TopicPartition(topic, 0)

def create():
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id=client_id, request_timeout_ms=15000)
    admin.create_topics([NewTopic(topic, 1, 1)])
    admin.close()
step("create-topic", create)

def produce(codec=None):
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id=client_id, linger_ms=200, compression_type=codec)
    futures = [producer.send(topic, key=key.encode(), value=None if value is None else value.encode(), headers=[("source", client_id.encode())]) for key, value in (records if codec is None else compressed_records)]
    producer.flush(15)
    offsets = [future.get(15).offset for future in futures]
    producer.close()
    return offsets
step("produce", produce)

consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id=client_id, enable_auto_commit=False, group_id=None)
def consume():
    consumer.assign([partition])
    consumer.seek_to_beginning(partition)
    got, deadline = [], time.time() + 15
    while len(got) < len(records) and time.time() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            got.extend(message.key for message in batch)
    if len(got) != len(records): raise RuntimeError(f"consumed {got}")
    return got
step("consume", consume)
step("end-offsets", lambda: consumer.end_offsets([partition]))
step("offsets-for-times", lambda: consumer.offsets_for_times({partition: 0}))
consumer.close()

def group_consume():
    grouped = KafkaConsumer(topic, bootstrap_servers=bootstrap, client_id=client_id, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=10000)
    got = [message.key for message in grouped][: len(records)]
    grouped.commit()
    grouped.close()
    if len(got) != len(records): raise RuntimeError(f"consumed {got}")
step("group-consume", group_consume)
# kafka-python needs extra Python modules for snappy, lz4 and zstd (absent on Debian by default).
step("produce-gzip", lambda: produce("gzip"))

from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions
admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id=client_id, request_timeout_ms=15000)
step("describe-configs", lambda: len(admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])))
step("create-partitions", lambda: admin.create_partitions({topic: NewPartitions(2)}))
step("delete-topic", lambda: admin.delete_topics([topic]))
admin.close()
print(json.dumps(steps))
`;

async function runPython(scenario: Scenario, script: string): Promise<Steps> {
  const result = await exec([python, "-c", script, scenario.bootstrap, scenario.topic, scenario.clientId, scenario.group], { timeoutMs: 150000 });
  const last = result.stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(last) as Steps;
  } catch {
    return { script: { ok: false, detail: `exit ${result.code}: ${tail(result.stderr, 600)}` } };
  }
}

// ───────────────────────────── kafkajs ─────────────────────────────

async function runKafkajs(scenario: Scenario): Promise<Steps> {
  const { CompressionTypes, Kafka, logLevel } = await import("kafkajs");
  const steps: Steps = {};
  const kafka = new Kafka({ clientId: scenario.clientId, brokers: [scenario.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId: scenario.group });
  try {
    await step(steps, "create-topic", async () => {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: scenario.topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    });
    await step(steps, "produce", async () => {
      await producer.connect();
      const messages = scenarioRecords.map((record) => ({ key: record.key, value: record.value, headers: { source: scenario.clientId } }));
      const result = await producer.send({ topic: scenario.topic, messages });
      return JSON.stringify(result);
    });
    await step(steps, "list-offsets", async () => JSON.stringify(await admin.fetchTopicOffsets(scenario.topic)));
    await step(steps, "offsets-for-times", async () => JSON.stringify(await admin.fetchTopicOffsetsByTimestamp(scenario.topic, 0)));
    await step(steps, "group-consume", async () => {
      await consumer.connect();
      await consumer.subscribe({ topics: [scenario.topic], fromBeginning: true });
      const keys: string[] = [];
      await new Promise<void>((resolveDone, reject) => {
        consumer
          .run({
            autoCommit: true,
            eachMessage: async ({ message }) => {
              keys.push(message.key?.toString() ?? "null");
              if (keys.length === scenarioRecords.length) resolveDone();
            },
          })
          .catch(reject);
      });
      await consumer.commitOffsets([{ topic: scenario.topic, partition: 0, offset: String(scenarioRecords.length) }]);
      return keys.join(",");
    }, 25000);
    await consumer.disconnect();
    // kafkajs has gzip built in; snappy, lz4 and zstd need codec plugins we do not install.
    await step(steps, "produce-gzip", async () => {
      const messages = compressedRecords.map((record) => ({ key: record.key, value: record.value, headers: { source: scenario.clientId } }));
      await producer.send({ topic: scenario.topic, messages, compression: CompressionTypes.GZIP });
    });
    await step(steps, "describe-configs", async () => {
      const result = await admin.describeConfigs({ resources: [{ type: 2, name: scenario.topic }], includeSynonyms: false });
      return `${result.resources[0]?.configEntries.length} entries`;
    });
    await step(steps, "create-partitions", async () => {
      await admin.createPartitions({ topicPartitions: [{ topic: scenario.topic, count: 2 }] });
    });
    await step(steps, "delete-topic", async () => {
      await admin.deleteTopics({ topics: [scenario.topic] });
    });
  } finally {
    await Promise.allSettled([consumer.disconnect(), producer.disconnect(), admin.disconnect()]);
  }
  return steps;
}

// ───────────────────────────── @platformatic/kafka ─────────────────────────────

async function runPlatformatic(scenario: Scenario): Promise<Steps> {
  const { Admin, Consumer, Producer, stringSerializers, stringDeserializers } = await import("@platformatic/kafka");
  const steps: Steps = {};
  const common = { clientId: scenario.clientId, bootstrapBrokers: [scenario.bootstrap], retries: 2 };
  const admin = new Admin(common);
  const producer = new Producer({ ...common, serializers: stringSerializers, idempotent: true });
  const consumer = new Consumer({ ...common, groupId: scenario.group, deserializers: stringDeserializers });
  try {
    await step(steps, "create-topic", async () => {
      await admin.createTopics({ topics: [scenario.topic], partitions: 1, replicas: 1 });
    });
    const produce = async (compression: "none" | "gzip" | "snappy" | "lz4" | "zstd") => {
      const messages = (compression === "none" ? scenarioRecords : compressedRecords).map((record) => ({
        topic: scenario.topic,
        partition: 0,
        key: record.key,
        // A null value: the serializer passes null through as a null record value.
        value: record.value as string,
        headers: { source: scenario.clientId },
      }));
      const result = await producer.send({ messages, compression });
      return JSON.stringify(result, (_, value) => (typeof value === "bigint" ? String(value) : value));
    };
    await step(steps, "produce", () => produce("none"));
    await step(steps, "fetch", async () => {
      const metadata = await consumer.metadata({ topics: [scenario.topic] });
      const topic = metadata.topics.get(scenario.topic);
      if (!topic) throw new Error("topic missing from metadata");
      const leader = topic.partitions[0]!.leader;
      const response = await consumer.fetch({
        node: leader,
        topics: [{ topicId: topic.id, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, partitionMaxBytes: 1 << 20 }] }],
      });
      return JSON.stringify(response, (_, value) => (typeof value === "bigint" ? String(value) : value instanceof Uint8Array ? `<${value.length} bytes>` : value)).slice(0, 300);
    });
    await step(steps, "list-offsets", async () => {
      const offsets = await consumer.listOffsets({ topics: [scenario.topic] });
      return JSON.stringify([...offsets.entries()], (_, value) => (typeof value === "bigint" ? String(value) : value));
    });
    await step(steps, "group-consume", async () => {
      const stream = await consumer.consume({ topics: [scenario.topic], mode: "earliest", autocommit: false, sessionTimeout: 10000, heartbeatInterval: 500 });
      const keys: string[] = [];
      for await (const message of stream) {
        keys.push(String(message.key));
        if (keys.length === scenarioRecords.length) {
          await message.commit();
          break;
        }
      }
      await stream.close();
      return keys.join(",");
    }, 25000);
    for (const codec of ["gzip", "snappy", "lz4", "zstd"] as const) await step(steps, `produce-${codec}`, () => produce(codec));
    const topicResource = { resourceType: 2 as const, resourceName: scenario.topic };
    await step(steps, "describe-configs", async () => {
      const result = await admin.describeConfigs({ resources: [topicResource] });
      return `${result[0]?.configs.length} entries`;
    });
    await step(steps, "incremental-alter-configs", async () => {
      await admin.incrementalAlterConfigs({ resources: [{ ...topicResource, configs: [{ name: "retention.ms", configOperation: 0, value: "3600000" }] }] });
    });
    await step(steps, "delete-records", async () => {
      const result = await admin.deleteRecords({ topics: [{ name: scenario.topic, partitions: [{ partition: 0, offset: 1n }] }] });
      return JSON.stringify(result, (_, value) => (typeof value === "bigint" ? String(value) : value));
    });
    await step(steps, "create-partitions", async () => {
      await admin.createPartitions({ topics: [{ name: scenario.topic, count: 2 }] });
    });
    await step(steps, "delete-topic", async () => {
      await admin.deleteTopics({ topics: [scenario.topic] });
    });
  } finally {
    await Promise.allSettled([consumer.close(true), producer.close(true), admin.close()]);
  }
  return steps;
}

// ───────────────────────────── versions ─────────────────────────────

async function clientVersion(client: ClientName): Promise<string> {
  switch (client) {
    case "kcat": {
      const result = await exec(["kcat", "-V"]);
      const text = result.stdout + result.stderr;
      const kcat = /^Version ([\d.]+)/m.exec(text)?.[1];
      const librdkafka = /librdkafka ([\d.]+)/.exec(text)?.[1];
      return `kcat ${kcat ?? "?"} (librdkafka ${librdkafka ?? "?"})`;
    }
    case "confluent-kafka-python": {
      const result = await exec([python, "-c", "import confluent_kafka as c; print(c.version()[0], c.libversion()[0])"]);
      const [own, lib] = result.stdout.trim().split(" ");
      return `confluent-kafka-python ${own} (librdkafka ${lib})`;
    }
    case "kafka-python": {
      const result = await exec([python, "-c", "import kafka; print(kafka.__version__)"]);
      return `kafka-python ${result.stdout.trim()}`;
    }
    case "kafkajs":
      return `kafkajs ${JSON.parse(readFileSync(join(repoRoot, "node_modules/kafkajs/package.json"), "utf8")).version}`;
    case "platformatic-kafka":
      return `@platformatic/kafka ${JSON.parse(readFileSync(join(repoRoot, "node_modules/@platformatic/kafka/package.json"), "utf8")).version}`;
  }
}

// ───────────────────────────── fixtures ─────────────────────────────

export interface FixtureEntry {
  client: ClientName;
  clientVersion: string;
  clientId: string | null;
  apiKey: number;
  api: string;
  version: number;
  headerVersion: number;
  correlationId: number;
  /** Produce only: the compression codec of the first batch (one fixture is kept per codec). */
  compression?: string;
  /** Relative to the index file. */
  file: string;
  bytes: number;
  /** What the request says, from decoding it with our codecs at capture time. */
  contains: string;
}

export interface ClientEntry {
  clientVersion: string;
  clientId: string;
  topic: string;
  group: string;
  steps: Steps;
  /** API key → versions seen, over all frames the client sent (not only the kept ones). */
  versionsSent: Record<string, number[]>;
  framesSeen: number;
}

export interface FixtureIndex {
  generatedBy: string;
  note: string;
  records: readonly ScenarioRecord[];
  /** What the compressed Produce fixtures carry. */
  compressedRecords: readonly ScenarioRecord[];
  clients: Partial<Record<ClientName, ClientEntry>>;
  fixtures: FixtureEntry[];
}

function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}

function apiName(apiKey: number): string {
  return apiByKey.get(apiKey)?.name ?? `Unknown${apiKey}`;
}

/** A short, readable account of a decoded request body; byte fields show their length only. */
function describe(frame: Uint8Array): string {
  try {
    const { body, reader, api } = decodeRequestFrame(frame);
    if (!api) return "API key not served by Runnel (not decoded)";
    const text = JSON.stringify(body, (_, value) => {
      if (typeof value === "bigint") return `${value}n`;
      if (value instanceof Uint8Array) return `<${value.length} bytes>`;
      return value;
    });
    const leftover = reader.remaining > 0 ? ` [${reader.remaining} bytes left undecoded]` : "";
    return `${text.length > 600 ? `${text.slice(0, 600)}…` : text}${leftover}`;
  } catch (error) {
    return `DECODE FAILED: ${(error as Error).message}`;
  }
}

/** The compression codec of a Produce request's first batch; undefined for other APIs. */
function produceCompression(request: RecordedRequest): string | undefined {
  if (request.apiKey !== 0) return undefined;
  try {
    const body = decodeRequestFrame(request.frame).body as ProduceRequest;
    const records = body.topicData[0]?.partitionData[0]?.records;
    if (!records || records.length === 0) return "empty";
    const codec = compressionOf(readBatchHeader(records, 0).attributes) as CompressionCodec;
    return compressionNames[codec] ?? `codec-${codec}`;
  } catch {
    return "undecodable";
  }
}

async function captureClient(client: ClientName, outDir: string): Promise<{ entry: ClientEntry; fixtures: FixtureEntry[] }> {
  await using proxy = startRecordingProxy();
  const broker = new Broker({ set: { "advertised.listeners": `PLAINTEXT://127.0.0.1:${proxy.port}` } });
  await broker.start();
  try {
    proxy.setTarget({ host: broker.host, port: broker.port });
    const scenario: Scenario = {
      client,
      clientId: `fx-${client}`,
      topic: `fixtures-${client}`,
      group: `fixtures-group-${client}`,
      bootstrap: proxy.address,
    };
    const version = await clientVersion(client);
    console.log(`── ${client} (${version})`);
    const steps = await runScenario(scenario);
    for (const [name, result] of Object.entries(steps)) console.log(`   ${result.ok ? "ok  " : "FAIL"} ${name}${result.detail ? `: ${result.detail.slice(0, 160)}` : ""}`);
    const requests = proxy.take();
    for (const problem of proxy.unparsed) console.log(`   unparsed stream on connection ${problem.connection}: ${problem.reason}`);
    return writeClientFixtures(client, version, scenario, steps, requests, outDir);
  } finally {
    await broker.stop();
  }
}

function runScenario(scenario: Scenario): Promise<Steps> {
  switch (scenario.client) {
    case "kcat":
      return runKcat(scenario);
    case "confluent-kafka-python":
      return runPython(scenario, confluentScript);
    case "kafka-python":
      return runPython(scenario, kafkaPythonScript);
    case "kafkajs":
      return runKafkajs(scenario);
    case "platformatic-kafka":
      return runPlatformatic(scenario);
  }
}

function writeClientFixtures(
  client: ClientName, version: string, scenario: Scenario, steps: Steps, requests: RecordedRequest[], outDir: string,
): { entry: ClientEntry; fixtures: FixtureEntry[] } {
  const clientDir = join(outDir, client);
  rmSync(clientDir, { recursive: true, force: true });
  mkdirSync(clientDir, { recursive: true });
  const versionsSent: Record<string, number[]> = {};
  const kept = new Map<string, RecordedRequest>();
  for (const request of requests) {
    const versions = (versionsSent[`${request.apiKey} ${apiName(request.apiKey)}`] ??= []);
    if (!versions.includes(request.apiVersion)) versions.push(request.apiVersion);
    const key = `${request.apiKey}:${request.apiVersion}:${produceCompression(request) ?? ""}`;
    if (!kept.has(key)) kept.set(key, request);
  }
  for (const versions of Object.values(versionsSent)) versions.sort((a, b) => a - b);
  const fixtures: FixtureEntry[] = [];
  for (const request of [...kept.values()].sort((a, b) => a.apiKey - b.apiKey || a.apiVersion - b.apiVersion)) {
    const compression = produceCompression(request);
    const suffix = compression && compression !== "none" ? `-${compression}` : "";
    const name = `${String(request.apiKey).padStart(2, "0")}-${kebab(apiName(request.apiKey))}-v${request.apiVersion}${suffix}.bin`;
    writeFileSync(join(clientDir, name), request.frame);
    fixtures.push({
      client,
      clientVersion: version,
      clientId: request.clientId,
      apiKey: request.apiKey,
      api: apiName(request.apiKey),
      version: request.apiVersion,
      headerVersion: requestHeaderVersion(request.apiKey, request.apiVersion),
      correlationId: request.correlationId,
      ...(compression ? { compression } : {}),
      file: `${client}/${name}`,
      bytes: request.frame.length,
      contains: describe(request.frame),
    });
  }
  console.log(`   ${requests.length} frames, ${fixtures.length} fixtures: ${fixtures.map((fixture) => `${fixture.api} v${fixture.version}`).join(", ")}`);
  const entry: ClientEntry = {
    clientVersion: version, clientId: scenario.clientId, topic: scenario.topic, group: scenario.group, steps, versionsSent, framesSeen: requests.length,
  };
  return { entry, fixtures };
}

function parseArgs(argv: string[]): { clients: ClientName[]; outDir: string } {
  let clients: ClientName[] = [...clientNames];
  let outDir = join(repoRoot, "test/fixtures/requests");
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    if (argument === "--clients") {
      const names = (argv[++index] ?? "").split(",").filter(Boolean);
      for (const name of names) if (!(clientNames as readonly string[]).includes(name)) throw new Error(`unknown client ${name}; known: ${clientNames.join(", ")}`);
      clients = names as ClientName[];
    } else if (argument === "--out") {
      outDir = resolve(argv[++index] ?? "");
    } else {
      throw new Error(`unknown argument ${argument}\nusage: bun scripts/capture-fixtures.ts [--clients a,b] [--out DIR]`);
    }
  }
  return { clients, outDir };
}

async function main(): Promise<void> {
  const { clients, outDir } = parseArgs(process.argv.slice(2));
  mkdirSync(outDir, { recursive: true });
  const indexPath = join(outDir, "index.json");
  let index: FixtureIndex;
  try {
    index = JSON.parse(readFileSync(indexPath, "utf8")) as FixtureIndex;
  } catch {
    index = { generatedBy: "", note: "", records: scenarioRecords, compressedRecords, clients: {}, fixtures: [] };
  }
  for (const client of clients) {
    const { entry, fixtures } = await captureClient(client, outDir);
    index.clients[client] = entry;
    index.fixtures = [...index.fixtures.filter((fixture) => fixture.client !== client), ...fixtures];
  }
  index.generatedBy = "bun scripts/capture-fixtures.ts";
  index.note = "Request frames (header + body, without the int32 size) sent by real clients to a Runnel broker through src/testing/recording-proxy.ts; the first frame of each (client, api key, version). Each produced record carries header source=<clientId>.";
  index.records = scenarioRecords;
  index.compressedRecords = compressedRecords;
  index.fixtures.sort((a, b) => clientNames.indexOf(a.client) - clientNames.indexOf(b.client) || a.apiKey - b.apiKey || a.version - b.version);
  writeFileSync(indexPath, `${JSON.stringify(index, null, 2)}\n`);
  console.log(`wrote ${relative(repoRoot, indexPath)} (${index.fixtures.length} fixtures)`);
}

if (import.meta.main) {
  await main();
  // Client libraries can leave sockets and timers behind; the work is done.
  process.exit(0);
}
