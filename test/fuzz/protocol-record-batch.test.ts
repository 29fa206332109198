// Record-batch fuzzing: mutated batches (plain and compressed with every codec, including bytes real
// clients sent) through splitBatches + decodeRecords. Only KafkaError (and its ProtocolDecodeError)
// may come out; never a RangeError/TypeError, never a native crash. Seeded: RUNNEL_FUZZ_SEED.

import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { KafkaError } from "../../src/protocol/errors.ts";
import { apiByKey } from "../../src/protocol/generated/index.ts";
import { decodeRequestHeader } from "../../src/protocol/headers.ts";
import { Reader } from "../../src/protocol/primitives.ts";
import { buildRecordBatch, decodeRecords, splitBatches } from "../../src/protocol/record-batch.ts";

const seed = Number(process.env.RUNNEL_FUZZ_SEED ?? 7);
const rounds = Number(process.env.RUNNEL_FUZZ_BATCHES ?? 20_000);

let state = seed >>> 0 || 1;
function below(limit: number): number {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state % limit;
}

function corpus(): Uint8Array[] {
  const batches: Uint8Array[] = [];
  for (const compression of [0, 1, 2, 3, 4]) {
    batches.push(
      buildRecordBatch({
        compression,
        records: Array.from({ length: 5 }, (_, index) => ({
          key: index % 2 ? null : `k${index}`,
          value: `value-${index}`.repeat(index + 1),
          headers: index === 2 ? [{ key: "h", value: "v" }] : [],
        })),
      }),
    );
  }
  // Batches real clients sent (golden fixtures of Produce requests).
  const directory = join(import.meta.dir, "../protocol/fixtures");
  for (const file of readdirSync(directory).filter((name) => name.includes("-api0-"))) {
    const reader = new Reader(new Uint8Array(readFileSync(join(directory, file))));
    const header = decodeRequestHeader(reader);
    const body = apiByKey.get(0)!.decodeRequest(reader, header.requestApiVersion);
    for (const topic of body.topicData) for (const partition of topic.partitionData) batches.push(partition.records);
  }
  return batches;
}

test(`${rounds} mutated record batches decode or fail with KafkaError only (seed ${seed})`, () => {
  const batches = corpus();
  expect(batches.length).toBeGreaterThan(10);
  const unexpected: string[] = [];
  let decodedOk = 0;
  for (let round = 0; round < rounds; round++) {
    const bytes = batches[below(batches.length)]!.slice();
    const kind = below(4);
    if (kind === 0) for (let count = 1 + below(3); count > 0; count--) bytes[below(bytes.length)]! ^= 1 << below(8);
    else if (kind === 1) bytes[61 + below(Math.max(1, bytes.length - 61))] = below(256);
    else if (kind === 2) for (let at = below(bytes.length), end = at + below(12); at < end && at < bytes.length; at++) bytes[at] = 0xff;
    const input = kind === 3 ? bytes.subarray(0, below(bytes.length)) : bytes;
    try {
      for (const batch of splitBatches(input, { verifyCrc: false })) decodeRecords(batch, { inflatedBytesMax: 1 << 20 });
      decodedOk++;
    } catch (error) {
      if (!(error instanceof KafkaError) && unexpected.length < 10) unexpected.push(`${(error as Error).name}: ${(error as Error).message}`);
    }
  }
  expect(unexpected).toEqual([]);
  expect(decodedOk).toBeGreaterThan(0);
}, 120_000);
