// Python clients against a real broker process: confluent-kafka-python 1.7 (librdkafka 2.0.2) and
// kafka-python 2.0.2, from Debian's /usr/bin/python3. Each script under python/ checks its own
// results and exits non-zero with a message on the first mismatch. A missing client is a failure.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { run, startBroker, type Broker } from "../helpers/broker.ts";

const python = "/usr/bin/python3";
let broker: Broker;
beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker?.stop();
});

async function script(name: string): Promise<string> {
  const { stdout } = await run([python, join(import.meta.dir, "python", name), broker.bootstrap], { timeoutMs: 90000 });
  return new TextDecoder().decode(stdout);
}

test("confluent-kafka-python: each compression codec (non-idempotent), consumed back", async () => {
  const output = await script("confluent_codecs.py");
  for (const codec of ["none", "gzip", "snappy", "lz4", "zstd"]) expect(output).toContain(`${codec}: 2000 records`);
  expect(output).toContain("OK");
}, 120000);

test("confluent-kafka-python: assign, seek, offsets_for_times, get_watermark_offsets, LogAppendTime", async () => {
  expect(await script("confluent_consumer.py")).toContain("OK");
}, 60000);

test("confluent-kafka-python: admin create (configs, validate_only, errors), list, delete", async () => {
  expect(await script("confluent_admin.py")).toContain("OK");
}, 60000);

test("kafka-python: keys, headers, null values; admin create/delete", async () => {
  expect(await script("kafka_python_roundtrip.py")).toContain("OK");
}, 60000);
