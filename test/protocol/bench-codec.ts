// Codec micro-benchmark (not a test: never asserts on speed). Run: bun test/protocol/bench-codec.ts
// Prints the best of ROUNDS rounds of ITERATIONS calls, in µs per call. Env: BENCH_ITERATIONS,
// BENCH_ROUNDS (defaults moderate: the machine is shared).

import { FetchApi, ProduceApi } from "../../src/protocol/generated/index.ts";
import { decodeRequestFrame, encodeRequestFrame, encodeResponseFrame } from "../../src/protocol/headers.ts";
import { buildRecordBatch, decodeRecords, splitBatches } from "../../src/protocol/record-batch.ts";

const iterations = Number(process.env.BENCH_ITERATIONS ?? 20_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
let sink: unknown;

function best(label: string, run: () => unknown, scale = 1): void {
  let fastest = Number.POSITIVE_INFINITY;
  const count = Math.max(1, Math.floor(iterations / scale));
  for (let round = 0; round < rounds; round++) {
    const start = performance.now();
    for (let index = 0; index < count; index++) sink = run();
    fastest = Math.min(fastest, ((performance.now() - start) * 1000) / count);
  }
  console.log(`${label.padEnd(58)} ${fastest.toFixed(3)} µs`);
}

const batch16k = new Uint8Array(16 * 1024).fill(7);
for (const version of [3, 7, 9, 11]) {
  const frame = encodeRequestFrame(ProduceApi, version, 42, "rdkafka", {
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: "bench-topic", partitionData: [{ index: 0, records: batch16k }] }],
  }).subarray(4);
  best(`Produce v${version} request decode, 16 KiB batch (header+body)`, () => decodeRequestFrame(frame));
}
const fetchFrame = encodeRequestFrame(FetchApi, 11, 1, "consumer", {
  maxWaitMs: 500,
  minBytes: 1,
  maxBytes: 1 << 20,
  topics: [{ topic: "bench-topic", partitions: Array.from({ length: 8 }, (_, partition) => ({ partition, fetchOffset: 1000n, partitionMaxBytes: 1 << 20 })) }],
}).subarray(4);
best("Fetch v11 request decode, 8 partitions", () => decodeRequestFrame(fetchFrame));

const produceResponse = {
  responses: [{ name: "bench-topic", partitionResponses: [{ index: 0, baseOffset: 1234n, logAppendTimeMs: -1n, logStartOffset: 0n }] }],
};
best("Produce v9 response frame encode", () => encodeResponseFrame(ProduceApi, 9, 42, produceResponse));
const fetchResponse = {
  responses: [
    {
      topic: "bench-topic",
      partitions: Array.from({ length: 8 }, (_, partitionIndex) => ({ partitionIndex, highWatermark: 5000n, lastStableOffset: 5000n, logStartOffset: 0n, records: batch16k })),
    },
  ],
};
best("Fetch v11 response frame encode, 8 × 16 KiB records (views)", () => encodeResponseFrame(FetchApi, 11, 42, fetchResponse));

const records = Array.from({ length: 100 }, (_, index) => ({ key: `key-${index}`, value: "v".repeat(100) }));
const plain = buildRecordBatch({ records });
best("RecordBatch split + CRC verify, 100 records (~12 KiB)", () => splitBatches(plain), 10);
best("RecordBatch split + decode 100 records", () => decodeRecords(splitBatches(plain, { verifyCrc: false })[0]!), 10);
best("RecordBatch build, 100 records", () => buildRecordBatch({ records }), 10);
void sink;
