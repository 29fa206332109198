// `bun bench/fetch-sessions.ts [--partitions=1000] [--fetches=1500] [--blocks=4]`: what one consumer
// of many partitions costs the broker per Fetch, sessionless (every request lists every partition,
// every response answers every partition) against a KIP-227 session (requests name only partitions
// whose fetch offset moved, responses carry only partitions with something new). Between two
// fetches one batch is appended to one partition, so exactly one partition changes each time.
// Blocks of each mode are interleaved; figures: broker CPU µs per fetch (from /proc), request and
// response bytes per fetch, fetch round trip. Prints Markdown for bench/results.

import { readFileSync } from "node:fs";
import { KafkaConnection } from "../src/client/index.ts";
import { ErrorCode } from "../src/protocol/errors.ts";
import { FetchApi, ProduceApi } from "../src/protocol/generated/index.ts";
import { buildRecordBatch } from "../src/protocol/record-batch.ts";
import { createTopic, startBroker } from "./kafka/broker.ts";
import { machineInfo, machineMarkdown } from "./lib/machine.ts";
import { formatNumber, formatRatio, formatSpread, table } from "./lib/markdown.ts";
import { spread } from "./lib/stats.ts";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => Number(args.find((arg) => arg.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const partitions = flag("partitions", 1000);
const fetches = flag("fetches", 1500);
const blocks = flag("blocks", 4);

function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

const start = machineInfo();
const broker = await startBroker({ settings: {} });
const topic = "fetch-sessions-bench";
const results = { sessionless: { cpuUs: [] as number[], responseBytes: [] as number[], requestBytes: [] as number[], roundTripUs: [] as number[] }, session: { cpuUs: [] as number[], responseBytes: [] as number[], requestBytes: [] as number[], roundTripUs: [] as number[] } };
try {
  await createTopic(broker, topic, partitions);
  const producer = await KafkaConnection.connect({ host: broker.host, port: broker.port });
  const consumer = await KafkaConnection.connect({ host: broker.host, port: broker.port });
  const offsets = new Array<bigint>(partitions).fill(0n);
  let batchNumber = 0;
  const append = async (partition: number) => {
    const records = buildRecordBatch({ records: [{ value: `record ${batchNumber++}` }] });
    const response = await producer.request(ProduceApi, { acks: 1, timeoutMs: 5000, transactionalId: null, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
    if (response.responses[0]!.partitionResponses[0]!.errorCode !== ErrorCode.NONE) throw new Error("produce failed");
  };
  const partitionRequest = (partition: number) => ({ partition, fetchOffset: offsets[partition]!, partitionMaxBytes: 1 << 20, logStartOffset: -1n, currentLeaderEpoch: -1, lastFetchedEpoch: -1 });
  const fetch = (sessionId: number, sessionEpoch: number, wanted: number[]) =>
    consumer.request(FetchApi, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 50 << 20, isolationLevel: 0, sessionId, sessionEpoch, rackId: "",
      topics: wanted.length === 0 ? [] : [{ topic, partitions: wanted.map(partitionRequest) }], forgottenTopicsData: [],
    }, { version: 12 });
  const learn = (response: Awaited<ReturnType<typeof fetch>>) => {
    const moved: number[] = [];
    for (const entry of response.responses) for (const partition of entry.partitions) {
      if (partition.highWatermark > offsets[partition.partitionIndex]!) {
        offsets[partition.partitionIndex] = partition.highWatermark;
        moved.push(partition.partitionIndex);
      }
    }
    return moved;
  };
  const all = Array.from({ length: partitions }, (_, index) => index);
  const requestBytesOf = (count: number) => 60 + topic.length + count * 33; // v12 request: header + per-partition fields
  for (let block = 0; block < blocks * 2; block++) {
    const mode = block % 2 === 0 ? "sessionless" : "session";
    let sessionId = 0;
    let epoch = 0;
    let moved: number[] = [];
    if (mode === "session") {
      const opened = await fetch(0, 0, all);
      sessionId = opened.sessionId;
      if (sessionId === 0) throw new Error("the broker gave no fetch session");
      learn(opened);
      epoch = 1;
    }
    const cpu0 = cpuMs(broker.pid!);
    const bytes0 = consumer.bytesIn;
    let requestBytes = 0;
    const started = performance.now();
    for (let index = 0; index < fetches; index++) {
      await append(Math.floor(Math.random() * partitions));
      const wanted = mode === "session" ? moved : all;
      requestBytes += requestBytesOf(wanted.length);
      const response = mode === "session" ? await fetch(sessionId, epoch++, wanted) : await fetch(0, -1, all);
      if (response.errorCode !== ErrorCode.NONE) throw new Error(`fetch error ${response.errorCode}`);
      moved = learn(response);
    }
    const elapsedMs = performance.now() - started;
    const cpuPerFetchUs = ((cpuMs(broker.pid!) - cpu0) * 1000) / fetches;
    results[mode].cpuUs.push(cpuPerFetchUs);
    results[mode].responseBytes.push((consumer.bytesIn - bytes0) / fetches);
    results[mode].requestBytes.push(requestBytes / fetches);
    results[mode].roundTripUs.push((elapsedMs * 1000) / fetches);
    if (mode === "session") await fetch(sessionId, -1, []);
    console.error(`block ${block + 1} ${mode}: broker CPU ${cpuPerFetchUs.toFixed(0)} µs per produce+fetch, response ${Math.round((consumer.bytesIn - bytes0) / fetches)} B`);
  }
  producer.close();
  consumer.close();
} finally {
  await broker.stop();
}
const cell = (values: number[]) => formatSpread(spread(values), (value) => formatNumber(value));
const ratioCell = (a: number[], b: number[]) => formatSpread(spread(a.map((value, index) => value / b[index]!)), formatRatio);
const s = results.session;
const n = results.sessionless;
console.log(machineMarkdown(start).trimEnd() + `; load average at end ${machineInfo().loadAverage}`);
console.log(`- one consumer of ${partitions.toLocaleString("en")} partitions, Fetch v12, maxWaitMs 0; between two fetches one 1-record batch is appended to a random partition (its produce is included in the broker CPU figure); ${blocks} blocks of ${fetches.toLocaleString("en")} fetches per mode, interleaved\n`);
console.log(table(["per fetch", "sessionless", "KIP-227 session", "session / sessionless (per block)"], [
  ["broker CPU µs (fetch + the one produce)", cell(n.cpuUs), cell(s.cpuUs), ratioCell(s.cpuUs, n.cpuUs)],
  ["request bytes (estimated from the partitions listed)", cell(n.requestBytes), cell(s.requestBytes), ratioCell(s.requestBytes, n.requestBytes)],
  ["response bytes", cell(n.responseBytes), cell(s.responseBytes), ratioCell(s.responseBytes, n.responseBytes)],
  ["produce + fetch round trips µs", cell(n.roundTripUs), cell(s.roundTripUs), ratioCell(s.roundTripUs, n.roundTripUs)],
]));
process.exit(0);
