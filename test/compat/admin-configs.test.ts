// Admin APIs against a real broker process with confluent-kafka-python 1.7 (librdkafka 2.0.2):
// CreatePartitions, DescribeConfigs (topic and broker, sources, read-only flags, synonyms),
// AlterConfigs (the legacy replace-all form: validation naming the key, validate_only) and
// retention.ms taking effect live on a topic that already holds data. One Python process runs
// every step and prints one JSON line per step; each test below checks one step.
// A missing client is a failure, never a skip.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, startBroker, type Broker } from "../helpers/broker.ts";

const script = String.raw`
import json, sys, time
from confluent_kafka import Producer, Consumer, TopicPartition, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic, NewPartitions, ConfigResource

bootstrap = sys.argv[1]
admin = AdminClient({"bootstrap.servers": bootstrap})

def emit(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)

def error_of(future):
    try:
        future.result(timeout=15)
        return None
    except KafkaException as exception:
        error = exception.args[0]
        return {"code": error.code(), "name": error.name(), "message": error.str()}

def describe(resource_type, name):
    resource = ConfigResource(resource_type, name)
    entries = admin.describe_configs([resource], request_timeout=15)[resource].result(timeout=15)
    return {key: {"value": entry.value, "source": int(entry.source), "readOnly": entry.is_read_only,
                  "isDefault": entry.is_default, "sensitive": entry.is_sensitive,
                  "synonyms": [[synonym.name, synonym.value, int(synonym.source)] for synonym in entry.synonyms.values()]}
            for key, entry in entries.items()}

def partitions_of(topic):
    return len(admin.list_topics(topic, timeout=15).topics[topic].partitions)

def step(name, function):
    try:
        function()
    except Exception as exception:
        emit(name, crashed=repr(exception))

def create():
    futures = admin.create_topics([
        NewTopic("cfg-topic", num_partitions=1, replication_factor=1, config={"segment.bytes": "100000"}),
        NewTopic("retention-live", num_partitions=1, replication_factor=1, config={"segment.bytes": "2048"}),
    ], request_timeout=15)
    emit("create", errors={topic: error_of(future) for topic, future in futures.items()})
step("create", create)

def describe_topic():
    emit("describe-topic", configs=describe("topic", "cfg-topic"))
step("describe-topic", describe_topic)

def describe_broker():
    emit("describe-broker", configs=describe("broker", "1"))
step("describe-broker", describe_broker)

def alter_topic():
    resource = ConfigResource("topic", "cfg-topic", set_config={"retention.ms": "3600000", "cleanup.policy": "compact,delete"})
    error = error_of(admin.alter_configs([resource], request_timeout=15)[resource])
    emit("alter-topic", error=error, configs=describe("topic", "cfg-topic"))
step("alter-topic", alter_topic)

def alter_invalid():
    results = {}
    for key, value in [("retention.ms", "soon"), ("no.such.key", "1"), ("segment.bytes", "1")]:
        resource = ConfigResource("topic", "cfg-topic", set_config={key: value})
        results[key] = error_of(admin.alter_configs([resource], request_timeout=15)[resource])
    emit("alter-invalid", errors=results, configs=describe("topic", "cfg-topic"))
step("alter-invalid", alter_invalid)

def alter_validate_only():
    resource = ConfigResource("topic", "cfg-topic", set_config={"retention.ms": "1000"})
    error = error_of(admin.alter_configs([resource], request_timeout=15, validate_only=True)[resource])
    emit("alter-validate-only", error=error, configs=describe("topic", "cfg-topic"))
step("alter-validate-only", alter_validate_only)

def alter_broker():
    resource = ConfigResource("broker", "1", set_config={"num.partitions": "7"})
    emit("alter-broker", error=error_of(admin.alter_configs([resource], request_timeout=15)[resource]))
step("alter-broker", alter_broker)

def create_partitions():
    grow = error_of(admin.create_partitions([NewPartitions("cfg-topic", 3)], request_timeout=15)["cfg-topic"])
    after_grow = partitions_of("cfg-topic")
    shrink = error_of(admin.create_partitions([NewPartitions("cfg-topic", 2)], request_timeout=15)["cfg-topic"])
    same = error_of(admin.create_partitions([NewPartitions("cfg-topic", 3)], request_timeout=15)["cfg-topic"])
    validate = error_of(admin.create_partitions([NewPartitions("cfg-topic", 5)], request_timeout=15, validate_only=True)["cfg-topic"])
    missing = error_of(admin.create_partitions([NewPartitions("no-such-topic", 5)], request_timeout=15)["no-such-topic"])
    emit("create-partitions", grow=grow, afterGrow=after_grow, shrink=shrink, same=same, validate=validate,
         afterValidate=partitions_of("cfg-topic"), missing=missing)
step("create-partitions", create_partitions)

def retention_live():
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for i in range(300):
        producer.produce("retention-live", value=("record-%05d-" % i).encode() + b"r" * 100, partition=0)
        if i % 10 == 9:
            producer.flush(30)  # one small batch per 10 records: many 2 KiB segments
    producer.flush(30)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "retention-check"})
    before = consumer.get_watermark_offsets(TopicPartition("retention-live", 0), timeout=15)
    resource = ConfigResource("topic", "retention-live", set_config={"retention.ms": "1", "segment.bytes": "2048"})
    error = error_of(admin.alter_configs([resource], request_timeout=15)[resource])
    deadline = time.time() + 30
    after = before
    while time.time() < deadline:
        after = consumer.get_watermark_offsets(TopicPartition("retention-live", 0), timeout=15)
        if after[0] > 0:
            break
        time.sleep(0.1)
    consumer.close()
    emit("retention-live", before=list(before), after=list(after), error=error)
step("retention-live", retention_live)
`;

const sources = { DYNAMIC_TOPIC_CONFIG: 1, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 };
const INVALID_CONFIG = 40;
const INVALID_REQUEST = 42;
const INVALID_PARTITIONS = 37;
const UNKNOWN_TOPIC_OR_PARTITION = 3;

let broker: Broker;
const steps = new Map<string, any>();
const scriptDir = mkdtempSync(join(tmpdir(), "runnel-admin-"));

beforeAll(async () => {
  const path = join(scriptDir, "admin.py");
  writeFileSync(path, script);
  broker = await startBroker({ set: { "log.retention.check.interval.ms": "100", "num.partitions": "1" } });
  const { stdout } = await run(["/usr/bin/python3", path, broker.bootstrap], { timeoutMs: 120000 });
  for (const line of new TextDecoder().decode(stdout).split("\n")) {
    if (!line.startsWith("{")) continue;
    const result = JSON.parse(line);
    steps.set(result.step, result);
  }
}, 150000);

afterAll(async () => {
  await broker?.stop();
  rmSync(scriptDir, { recursive: true, force: true });
});

function stepResult(name: string): any {
  const result = steps.get(name);
  expect(result).toBeDefined();
  expect(result.crashed).toBeUndefined();
  return result;
}

test("create topics with configs", () => {
  expect(stepResult("create").errors).toEqual({ "cfg-topic": null, "retention-live": null });
});

test("describe topic configs: values, sources, synonyms", () => {
  const { configs } = stepResult("describe-topic");
  expect(configs["segment.bytes"]).toMatchObject({ value: "100000", source: sources.DYNAMIC_TOPIC_CONFIG, readOnly: false, sensitive: false });
  expect(configs["retention.ms"]).toMatchObject({ value: "604800000", source: sources.DEFAULT_CONFIG, isDefault: true });
  expect(configs["cleanup.policy"]).toMatchObject({ value: "delete", source: sources.DEFAULT_CONFIG });
  expect(configs["max.message.bytes"].value).toBe("1048588");
  // librdkafka asks for synonyms: the override first, then the broker default it overrides.
  expect(configs["segment.bytes"].synonyms).toEqual([
    ["segment.bytes", "100000", sources.DYNAMIC_TOPIC_CONFIG],
    ["log.segment.bytes", "1073741824", sources.DEFAULT_CONFIG],
  ]);
  expect(configs["retention.ms"].synonyms).toEqual([["log.retention.hours", "168", sources.DEFAULT_CONFIG]]);
});

test("describe broker configs: static keys are read-only with their source", () => {
  const { configs } = stepResult("describe-broker");
  expect(configs["log.retention.check.interval.ms"]).toMatchObject({ value: "100", source: sources.STATIC_BROKER_CONFIG, readOnly: true });
  expect(configs["num.partitions"]).toMatchObject({ value: "1", source: sources.STATIC_BROKER_CONFIG, readOnly: true });
  expect(configs["log.segment.bytes"]).toMatchObject({ value: "1073741824", source: sources.DEFAULT_CONFIG, readOnly: true });
});

test("AlterConfigs replaces every override of the topic", () => {
  const { error, configs } = stepResult("alter-topic");
  expect(error).toBeNull();
  expect(configs["retention.ms"]).toMatchObject({ value: "3600000", source: sources.DYNAMIC_TOPIC_CONFIG });
  expect(configs["cleanup.policy"]).toMatchObject({ value: "compact,delete", source: sources.DYNAMIC_TOPIC_CONFIG });
  // segment.bytes was not in the request: back to the default, as Kafka's AlterConfigs does.
  expect(configs["segment.bytes"]).toMatchObject({ value: "1073741824", source: sources.DEFAULT_CONFIG });
});

test("invalid values and unknown keys are INVALID_CONFIG naming the key, and change nothing", () => {
  const { errors, configs } = stepResult("alter-invalid");
  for (const key of ["retention.ms", "no.such.key", "segment.bytes"]) {
    expect(errors[key]?.code).toBe(INVALID_CONFIG);
    expect(errors[key].message).toContain(key);
  }
  expect(configs["retention.ms"].value).toBe("3600000");
});

test("validate_only checks without changing", () => {
  const { error, configs } = stepResult("alter-validate-only");
  expect(error).toBeNull();
  expect(configs["retention.ms"].value).toBe("3600000");
});

test("broker configs cannot be altered dynamically", () => {
  const { error } = stepResult("alter-broker");
  expect(error?.code).toBe(INVALID_REQUEST);
  expect(error.message).toContain("num.partitions");
});

test("create partitions: grow only, validate_only, unknown topic", () => {
  const result = stepResult("create-partitions");
  expect(result.grow).toBeNull();
  expect(result.afterGrow).toBe(3);
  expect(result.shrink?.code).toBe(INVALID_PARTITIONS);
  expect(result.same?.code).toBe(INVALID_PARTITIONS);
  expect(result.validate).toBeNull();
  expect(result.afterValidate).toBe(3);
  expect(result.missing?.code).toBe(UNKNOWN_TOPIC_OR_PARTITION);
});

test("retention.ms takes effect live on a topic holding data", () => {
  const { before, after, error } = stepResult("retention-live");
  expect(error).toBeNull();
  expect(before).toEqual([0, 300]);
  expect(after[1]).toBe(300);
  expect(after[0]).toBeGreaterThan(0);
});
