// `bun bench/downconvert.ts [--records=200000] [--rounds=3] [--value-bytes=100]`: what serving an
// old consumer costs. One partition per codec (none, gzip, lz4) is filled with RecordBatch v2
// batches of 500 records, then read whole, from offset 0, by one consumer with maxWaitMs 0 and
// partition_max_bytes 1 MiB, in three ways, interleaved per round: Fetch v11 (RecordBatch v2 as
// stored, zero-copy: the baseline), Fetch v2 (down-converted to message format v1) and Fetch v1
// (message format v0). Figures: records/s through the consumer (median of rounds) and broker CPU
// µs per 1,000 records (from /proc), each with its ratio against plain v2 fetch in the same round.
// Load average printed at start and end (2 shared CPUs: compare ratios, not absolutes).

import { readFileSync } from "node:fs";
import { KafkaConnection } from "../src/client/index.ts";
import { ErrorCode } from "../src/protocol/errors.ts";
import { FetchApi, ProduceApi } from "../src/protocol/generated/index.ts";
import { batchesIn, buildRecordBatch, lastOffsetOf } from "../src/protocol/record-batch.ts";
import { createTopic, startBroker } from "./kafka/broker.ts";
import { machineInfo, machineMarkdown } from "./lib/machine.ts";
import { formatNumber, table } from "./lib/markdown.ts";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => Number(args.find((arg) => arg.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const recordCount = flag("records", 400_000);
const rounds = flag("rounds", 5);
const valueBytes = flag("value-bytes", 100);
const batchRecords = 500;
const codecs = [["none", 0], ["gzip", 1], ["lz4", 3]] as const;
const modes = [["v2 batches (Fetch v11)", 11], ["magic 1 (Fetch v2)", 2], ["magic 0 (Fetch v1)", 1]] as const;

function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** The offset after the last whole message (magic 0/1) of a message set; -1n when none. */
function lastLegacyOffset(bytes: Uint8Array): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let position = 0;
  let last = -1n;
  while (position + 12 <= bytes.length) {
    const size = view.getInt32(position + 8);
    if (position + 12 + size > bytes.length) break;
    last = view.getBigInt64(position);
    position += 12 + size;
  }
  return last;
}

function lastV2Offset(bytes: Uint8Array): bigint {
  let last = -1n;
  for (const batch of batchesIn(bytes)) last = lastOffsetOf(batch.header);
  return last;
}

const start = machineInfo();
const broker = await startBroker({ settings: {} });
const results = new Map<string, { recordsPerSecond: number[]; cpuUs: number[]; records: number[] }>();
try {
  const producer = await KafkaConnection.connect({ host: broker.host, port: broker.port });
  const consumer = await KafkaConnection.connect({ host: broker.host, port: broker.port });
  const value = new Uint8Array(valueBytes).map((_, index) => 97 + (index % 26));
  for (const [name, codec] of codecs) {
    const topic = `downconvert-${name}`;
    await createTopic(broker, topic, 1);
    for (let offset = 0; offset < recordCount; offset += batchRecords) {
      const records = Array.from({ length: batchRecords }, (_, index) => ({ key: `key-${offset + index}`, value, timestamp: Date.now() }));
      const response = await producer.request(ProduceApi, { acks: 1, timeoutMs: 10000, transactionalId: null, topicData: [{ name: topic, partitionData: [{ index: 0, records: buildRecordBatch({ records, compression: codec }) }] }] });
      if (response.responses[0]!.partitionResponses[0]!.errorCode !== ErrorCode.NONE) throw new Error("produce failed");
    }
  }
  const readAll = async (topic: string, version: number): Promise<number> => {
    let offset = 0n;
    let records = 0;
    while (offset < BigInt(recordCount)) {
      const response = await consumer.request(FetchApi, {
        replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 50 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, rackId: "",
        topics: [{ topic, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20, logStartOffset: -1n, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }], forgottenTopicsData: [],
      }, { version });
      const partition = response.responses[0]!.partitions[0]!;
      if (partition.errorCode !== ErrorCode.NONE) throw new Error(`fetch v${version} failed: ${partition.errorCode}`);
      const chunks = Array.isArray(partition.records) ? partition.records : [partition.records ?? new Uint8Array(0)];
      let last = -1n;
      for (const chunk of chunks) {
        const chunkLast = version >= 4 ? lastV2Offset(chunk) : lastLegacyOffset(chunk);
        if (chunkLast > last) last = chunkLast;
      }
      if (last < offset) throw new Error(`fetch v${version} made no progress at ${offset}`);
      records += Number(last + 1n - offset);
      offset = last + 1n;
    }
    return records;
  };
  for (let round = 0; round < rounds; round++) {
    for (const [codecName] of codecs) {
      for (const [modeName, version] of modes) {
        const cpuBefore = cpuMs(broker.pid!);
        const started = performance.now();
        const records = await readAll(`downconvert-${codecName}`, version);
        const seconds = (performance.now() - started) / 1000;
        const cpuUs = (cpuMs(broker.pid!) - cpuBefore) * 1000;
        const key = `${codecName}\u0000${modeName}`;
        const entry = results.get(key) ?? { recordsPerSecond: [], cpuUs: [], records: [] };
        entry.recordsPerSecond.push(records / seconds);
        entry.cpuUs.push(cpuUs);
        entry.records.push(records);
        results.set(key, entry);
      }
    }
  }
  producer.close();
  consumer.close();
} finally {
  await broker.stop();
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
/** Broker CPU per 1,000 records over all rounds together (/proc counts in 10 ms ticks: one pass of plain v2 fetch is a few ticks). */
const cpuPerThousand = (entry: { cpuUs: number[]; records: number[] }) => (sum(entry.cpuUs) / sum(entry.records)) * 1000;
/** Slowdowns are shown as "÷ N" when below 1 (0.01× says little). */
const factor = (value: number) => (!Number.isFinite(value) || value === 0 ? "n/a" : value >= 1 ? `${value.toFixed(2)}×` : `÷ ${(1 / value).toFixed(1)}`);
console.log(machineMarkdown(start).trimEnd() + `; load average at end ${machineInfo().loadAverage}`);
console.log(`- ${recordCount.toLocaleString("en")} records of ${valueBytes} bytes (keys ~10 bytes) per codec in batches of ${batchRecords}, one partition, read whole from offset 0 with partition_max_bytes 1 MiB; ${rounds} rounds, modes interleaved; records/s: median of rounds, ratio per round against Fetch v11 of the same round; broker CPU: all rounds together (/proc, 10 ms ticks)\n`);
const rows: string[][] = [];
for (const [codecName] of codecs) {
  const base = results.get(`${codecName}\u0000${modes[0][0]}`)!;
  for (const [modeName] of modes) {
    const entry = results.get(`${codecName}\u0000${modeName}`)!;
    rows.push([
      codecName, modeName,
      formatNumber(median(entry.recordsPerSecond)), factor(median(entry.recordsPerSecond.map((value, index) => value / base.recordsPerSecond[index]!))),
      formatNumber(cpuPerThousand(entry)), factor(cpuPerThousand(entry) / cpuPerThousand(base)),
    ]);
  }
}
console.log(table(["codec", "read as", "records/s (consumer)", "vs v2 fetch", "broker CPU µs / 1,000 records", "vs v2 fetch"], rows));
process.exit(0);
