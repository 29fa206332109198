// Python clients against a real broker process: confluent-kafka-python 1.7 (librdkafka 2.0.2) and
// kafka-python 2.0.2, from Debian's /usr/bin/python3. Each script under python/ checks its own
// results and exits non-zero with a message on the first mismatch. A missing client is a failure.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compressionOf, splitBatches } from "../../src/protocol/record-batch.ts";
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
  // The batches on disk carry the codec the producer was asked for (librdkafka silently sends
  // uncompressed batches when the broker's version ranges do not please it).
  const codes: Record<string, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };
  for (const [codec, code] of Object.entries(codes)) {
    const log = readFileSync(join(broker.dataDir, `codec-${codec}-0`, "00000000000000000000.log"));
    // The segment file may be longer than its data (space reserved ahead): stop at the zeros.
    let end = 0;
    while (end + 12 <= log.length && log.readInt32BE(end + 8) > 0) end += 12 + log.readInt32BE(end + 8);
    const batches = splitBatches(new Uint8Array(log.buffer, log.byteOffset, end));
    // librdkafka sends a batch uncompressed when compressing would not shrink it (a lone record
    // flushed by linger.ms): allowed, but the bulk must carry the codec.
    const compressed = batches.filter((batch) => compressionOf(batch.header.attributes) === code);
    const records = (list: typeof batches) => list.reduce((sum, batch) => sum + batch.header.recordsCount, 0);
    expect({ codec, others: batches.filter((batch) => ![0, code].includes(compressionOf(batch.header.attributes))).length }).toEqual({ codec, others: 0 });
    expect({ codec, compressedShare: records(compressed) / records(batches) >= 0.9 }).toEqual({ codec, compressedShare: true });
  }
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
