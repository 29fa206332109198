// Records cross the HTTP API and the Kafka protocol byte-exact, both directions, with real Kafka
// clients against a real broker process: kcat (librdkafka 2.0.2) and confluent-kafka-python
// (/usr/bin/python3, Debian's python3-confluent-kafka). Binary keys, values and headers.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { run, startBroker, type Broker } from "../helpers/broker.ts";
import { clusterIdOf } from "./helpers.ts";

let broker: Broker;
let topics: string;

beforeAll(async () => {
  broker = await startBroker({ set: { "num.partitions": 1 } });
  topics = `${broker.httpUrl}/v3/clusters/${await clusterIdOf(broker.httpUrl)}/topics`;
});
afterAll(async () => {
  await broker?.stop();
});

/** Deterministic bytes of every value 0-255 (newlines included), `length` long. */
function bytesOf(seed: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed * 2654435761;
  for (let index = 0; index < length; index++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[index] = state >>> 24;
  }
  return bytes;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

async function createTopic(name: string): Promise<void> {
  const response = await fetch(topics, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ topic_name: name, partitions_count: 1 }) });
  expect(response.status).toBe(201);
}

async function produceOverHttp(topic: string, records: { key: Uint8Array; value: Uint8Array; header: Uint8Array }[]): Promise<void> {
  const body = records.map((record) => JSON.stringify({
    partition_id: 0,
    key: { type: "BINARY", data: b64(record.key) },
    value: { type: "BINARY", data: b64(record.value) },
    headers: [{ name: "h", value: b64(record.header) }],
  })).join("\n");
  const response = await fetch(`${topics}/${topic}/records`, { method: "POST", headers: { "content-type": "application/x-ndjson" }, body });
  const answers = (await response.text()).trim().split("\n").map((line) => JSON.parse(line));
  expect(answers.map((answer) => answer.error_code)).toEqual(records.map(() => 200));
}

async function readOverHttp(topic: string, count: number): Promise<{ key: Uint8Array | null; value: Uint8Array | null; headers: { name: string; value: string | null }[] }[]> {
  const response = await fetch(`${topics}/${topic}/partitions/0/records?offset=0&timeout_ms=5000`);
  const body = (await response.json()) as { records: any[] };
  expect(body.records.length).toBe(count);
  return body.records.map((record) => ({
    key: record.key && new Uint8Array(Buffer.from(record.key.data, "base64")),
    value: record.value && new Uint8Array(Buffer.from(record.value.data, "base64")),
    headers: record.headers,
  }));
}

const records = Array.from({ length: 20 }, (_, index) => ({ key: bytesOf(index + 1, 1 + index), value: bytesOf(index + 100, 1 + index * 37), header: bytesOf(index + 500, 5) }));

test("HTTP → kcat: binary keys and values byte-exact", async () => {
  await createTopic("http-to-kcat");
  await produceOverHttp("http-to-kcat", records);
  // Lengths first, then the raw bytes: no delimiter can be confused with the data.
  const { stdout } = await run(["kcat", "-b", broker.bootstrap, "-X", "broker.address.family=v4", "-C", "-t", "http-to-kcat", "-e", "-q", "-o", "beginning", "-f", "%K %S|%k%s"], { timeoutMs: 30000 });
  let at = 0;
  for (const record of records) {
    const bar = stdout.indexOf(0x7c, at);
    const [keyLength, valueLength] = new TextDecoder().decode(stdout.subarray(at, bar)).split(" ").map(Number);
    expect(stdout.subarray(bar + 1, bar + 1 + keyLength!)).toEqual(record.key);
    expect(stdout.subarray(bar + 1 + keyLength!, bar + 1 + keyLength! + valueLength!)).toEqual(record.value);
    at = bar + 1 + keyLength! + valueLength!;
  }
  expect(at).toBe(stdout.length);
}, 60000);

test("kcat → HTTP: values byte-exact (every byte but the delimiter)", async () => {
  await createTopic("kcat-to-http");
  const values = Array.from({ length: 10 }, (_, index) => bytesOf(index + 7, 50 + index).map((byte) => (byte === 0x0a ? 0x0b : byte)));
  const input = Buffer.concat(values.flatMap((value) => [Buffer.from(value), Buffer.from([0x0a])]));
  await run(["kcat", "-b", broker.bootstrap, "-X", "broker.address.family=v4", "-P", "-t", "kcat-to-http", "-p", "0"], { stdin: new Uint8Array(input), timeoutMs: 30000 });
  const read = await readOverHttp("kcat-to-http", values.length);
  expect(read.map((record) => record.value)).toEqual(values);
  expect(read.every((record) => record.key === null)).toBe(true);
  // The Kafka side is in /metrics too: requests per Kafka API, bytes in per topic.
  const metrics = await (await fetch(`${broker.httpUrl}/metrics`)).text();
  expect(Number(/runnel_kafka_requests_total\{api="Produce"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
  expect(Number(/runnel_kafka_request_duration_seconds_count\{api="Metadata"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
  expect(Number(/runnel_topic_bytes_in_total\{topic="kcat-to-http"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(values.length * 50);
}, 60000);

const python = String.raw`
import json, sys
from confluent_kafka import Producer, Consumer
mode, bootstrap, topic = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "produce":
    producer = Producer({"bootstrap.servers": bootstrap, "broker.address.family": "v4"})
    for line in sys.stdin:
        record = json.loads(line)
        producer.produce(topic, key=bytes.fromhex(record["key"]), value=bytes.fromhex(record["value"]), partition=0, headers=[("h", bytes.fromhex(record["header"]))])
    assert producer.flush(20) == 0
else:
    count = int(sys.argv[4])
    consumer = Consumer({"bootstrap.servers": bootstrap, "broker.address.family": "v4", "group.id": "py-interop", "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    seen = []
    while len(seen) < count:
        message = consumer.poll(10)
        assert message is not None, "no record within 10 s"
        assert message.error() is None, str(message.error())
        headers = dict(message.headers() or [])
        seen.append({"key": message.key().hex(), "value": message.value().hex(), "header": headers["h"].hex()})
    consumer.close()
    print(json.dumps(seen))
`;

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

test("HTTP → confluent-kafka-python: keys, values and headers byte-exact", async () => {
  await createTopic("http-to-python");
  await produceOverHttp("http-to-python", records);
  const { stdout } = await run(["/usr/bin/python3", "-c", python, "consume", broker.bootstrap, "http-to-python", String(records.length)], { timeoutMs: 60000 });
  const seen = JSON.parse(new TextDecoder().decode(stdout)) as { key: string; value: string; header: string }[];
  expect(seen).toEqual(records.map((record) => ({ key: hex(record.key), value: hex(record.value), header: hex(record.header) })));
}, 90000);

test("confluent-kafka-python → HTTP: keys, values and headers byte-exact", async () => {
  await createTopic("python-to-http");
  const input = records.map((record) => JSON.stringify({ key: hex(record.key), value: hex(record.value), header: hex(record.header) })).join("\n") + "\n";
  await run(["/usr/bin/python3", "-c", python, "produce", broker.bootstrap, "python-to-http"], { stdin: input, timeoutMs: 60000 });
  const read = await readOverHttp("python-to-http", records.length);
  expect(read.map((record) => record.key)).toEqual(records.map((record) => record.key));
  expect(read.map((record) => record.value)).toEqual(records.map((record) => record.value));
  expect(read.map((record) => record.headers)).toEqual(records.map((record) => [{ name: "h", value: b64(record.header) }]));
}, 90000);
