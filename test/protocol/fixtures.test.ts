// Golden fixtures: request frames captured from real clients (kcat/librdkafka 2.0.2, confluent-kafka,
// kafka-python 2.0.2, kafkajs 2.2.4) by real-clients.test.ts (RUNNEL_WRITE_FIXTURES=1). Each must
// decode completely, re-encode to the very same bytes, and (Produce) yield the values sent.

import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { apiByKey } from "../../src/protocol/generated/index.ts";
import { decodeRequestHeader, encodeRequestHeader } from "../../src/protocol/headers.ts";
import { Reader, Writer } from "../../src/protocol/primitives.ts";
import { decodeRecords, splitBatches } from "../../src/protocol/record-batch.ts";

const directory = join(import.meta.dir, "fixtures");
const manifest: { file: string; apiKey: number; version: number; client: string; values?: string[] }[] = JSON.parse(
  readFileSync(join(directory, "manifest.json"), "utf8"),
);
const decoder = new TextDecoder();

test("there are fixtures from every client", () => {
  expect(new Set(manifest.map((entry) => entry.client))).toEqual(
    new Set([
      "kcat",
      "kcat-consumer",
      "confluent-kafka",
      "confluent-kafka-consumer",
      "kafka-python",
      "kafka-python-consumer",
      "kafkajs",
      "kafkajs-consumer",
    ]),
  );
});

for (const entry of manifest) {
  test(`${entry.file}`, () => {
    const frame = new Uint8Array(readFileSync(join(directory, entry.file)));
    const reader = new Reader(frame);
    const header = decodeRequestHeader(reader);
    expect(header.requestApiKey).toBe(entry.apiKey);
    expect(header.requestApiVersion).toBe(entry.version);
    const api = apiByKey.get(entry.apiKey)!;
    const body = api.decodeRequest(reader, entry.version);
    expect(reader.remaining).toBe(0);

    const writer = new Writer();
    encodeRequestHeader(writer, header);
    api.encodeRequest(writer, entry.version, body);
    expect(writer.finish()).toEqual(frame);

    if (entry.values) {
      const values: string[] = [];
      for (const topic of body.topicData) {
        for (const partition of topic.partitionData) {
          for (const batch of splitBatches(partition.records)) {
            for (const record of decodeRecords(batch)) values.push(decoder.decode(record.value!));
          }
        }
      }
      expect(values).toEqual(entry.values);
    }
  });
}
