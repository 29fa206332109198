// Old clients against a real broker process, message formats v0 and v1 (issue 17): kafka-python
// 2.0.2 pinned to api_version (0, 9) and (0, 10), librdkafka 2.0.2 (confluent-kafka-python) with
// api.version.request=false and broker.version.fallback 0.9.0.0 / 0.10.0.0 — produce and consume,
// keys, timestamps, every codec those formats have (none, gzip, snappy, lz4) — and byte-exact round
// trips old → new and new → old clients. Each script under legacy/ checks its own results. A
// missing client is a failure, never a skip (scripts/setup.sh installs them).

import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { batchesIn } from "../../src/protocol/record-batch.ts";
import { run, startBroker, type Broker } from "../helpers/broker.ts";

const python = "/usr/bin/python3";
let broker: Broker;
beforeAll(async () => {
  broker = await startBroker({ set: { "group.initial.rebalance.delay.ms": "0" } });
});
afterAll(async () => {
  await broker?.stop();
});

async function script(...args: string[]): Promise<string> {
  const [name, ...rest] = args;
  const { stdout } = await run([python, join(import.meta.dir, "legacy", name!), broker.bootstrap, ...rest], { timeoutMs: 90000 });
  return new TextDecoder().decode(stdout);
}

/** Magic bytes of the batches stored for a partition: the log holds RecordBatch v2 only. */
function storedMagics(topic: string): number[] {
  const log = readFileSync(join(broker.dataDir, `${topic}-0`, "00000000000000000000.log"));
  return [...batchesIn(new Uint8Array(log.buffer, log.byteOffset, log.length))].map((batch) => batch.header.magic);
}

for (const version of ["0.9", "0.10"]) {
  test(`kafka-python api_version=(${version.replace(".", ", ")}): every codec, keys, timestamps, seek, consumer group`, async () => {
    const output = await script("kafka_python_old.py", version);
    for (const codec of ["none", "gzip", "snappy", "lz4"]) expect(output).toContain(`${codec}: 200 records, seek ok`);
    expect(output).toContain("group: resumed at 120");
    expect(output).toContain("OK");
    const magics = storedMagics(`kp-${version.replace(".", "-")}-gzip`);
    expect(magics.length).toBeGreaterThan(0);
    expect(new Set(magics)).toEqual(new Set([2]));
  }, 120000);
}

for (const fallback of ["0.9.0.0", "0.10.0.0"]) {
  test(`librdkafka api.version.request=false broker.version.fallback=${fallback}: every codec, keys, timestamps`, async () => {
    const output = await script("confluent_old.py", fallback);
    for (const codec of ["none", "gzip", "snappy", "lz4"]) expect(output).toContain(`${codec}: 300 records`);
    expect(output).toContain("OK");
  }, 120000);
}

test("byte-exact round trips: old clients → new consumer, new producer → old consumers", async () => {
  const output = await script("cross_old_new.py");
  expect(output.match(/byte-exact/g)?.length).toBe(7);
  expect(output).toContain("OK");
}, 120000);

for (const [fallback, codec] of [["0.9.0.0", "lz4"], ["0.10.0.0", "snappy"]] as const) {
  test(`kcat -X api.version.request=false -X broker.version.fallback=${fallback} (${codec}): keys and values both ways`, async () => {
    const kcat = (args: string[], stdin?: string) => run(["kcat", "-b", broker.bootstrap, "-X", "api.version.request=false", "-X", `broker.version.fallback=${fallback}`, ...args], { stdin, timeoutMs: 30000 });
    const topic = `kcat-old-${fallback.replaceAll(".", "-")}`;
    const lines = Array.from({ length: 50 }, (_, index) => `key-${index}:value ${index} ${"x".repeat(index)}`);
    await kcat(["-P", "-t", topic, "-p", "0", "-K", ":", "-z", codec], lines.join("\n") + "\n");
    const { stdout } = await kcat(["-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%o %k:%s\n"]);
    expect(new TextDecoder().decode(stdout).trimEnd().split("\n")).toEqual(lines.map((line, index) => `${index} ${line}`));
  }, 60000);
}
