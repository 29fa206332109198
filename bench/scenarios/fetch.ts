// Scenario "fetch" (issue 5 scenario 4, issue 3's fetch benchmark): consumer throughput from a
// caught-up log in the page cache. The log is filled first (`fetchBytes` of records), then read
// from offset 0 to the end, several times; target ≥ 1 GB/s on loopback.

import { formatNumber, formatRatio, formatSpread, table, verdict } from "../lib/markdown.ts";
import { Report } from "../lib/report.ts";
import { spread, ratio } from "../lib/stats.ts";
import { batchRecords } from "../lib/params.ts";
import { BenchConsumer } from "../kafka/consumer.ts";
import { BenchProducer } from "../kafka/producer.ts";
import { createTopic, startBroker } from "../kafka/broker.ts";
import { readFileSync } from "node:fs";
import type { Scenario } from "./common.ts";
import { isUnavailable, measureFloors, tryStart } from "./common.ts";

/**
 * CPU milliseconds (user + system) used so far by process `pid` (/proc/<pid>/stat, Linux), or null.
 * CPU per GiB served says what each side costs whatever the machine's load: throughput on 2 shared
 * CPUs swings 4× from run to run, the work per byte does not.
 */
function processCpuMs(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime in clock ticks of 10 ms
  } catch {
    return null;
  }
}

function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

export const fetchScenario: Scenario = {
  name: "fetch",
  title: "Scenario 4: fetch throughput from a caught-up log (page cache)",
  description: "scenario 4 / issue 3: consumer throughput reading a filled log from offset 0 (1 and 8 partitions)",
  async run(context) {
    const params = context.params;
    const report = new Report("fetch", this.title, params);
    const floors = await measureFloors(context);
    const broker = await tryStart(() => startBroker({ settings: {} }));
    if (isUnavailable(broker)) {
      report.section("Runnel", `Not measured — ${broker.unavailable}\n`);
      context.headlines.push(`scenario 4: Runnel not measured (${broker.unavailable})`);
      return report;
    }
    const rows: string[][] = [];
    const figures: Record<string, unknown> = {};
    const gb = (value: number) => formatNumber(value / 1e9, 2);
    try {
      for (const partitions of [1, 8]) {
        const topic = `bench-fetch-${partitions}-${process.pid}`;
        await createTopic(broker, topic, partitions);
        const records = Math.max(1, Math.floor(params.fetchBytes / params.recordBytes));
        const producer = await BenchProducer.open({
          host: broker.host, port: broker.port, topic, partitions, connections: Math.min(partitions, 4), valueBytes: params.recordBytes,
          batchRecords: batchRecords(params), lingerMs: params.lingerMs, acks: 1, compression: params.compression, produceVersion: 7,
          inFlightMax: params.inFlightMax, mode: "kafka", crc32c: context.crc32c,
        });
        try {
          await producer.produceCount(records);
        } finally {
          producer.close();
        }
        const consumerOptions = { host: broker.host, port: broker.port, topic, partitions, partitionMaxBytes: 8 * 1024 * 1024, responseMaxBytes: 64 * 1024 * 1024, maxWaitMs: 0 };
        // Learn the end offsets (high watermarks) with one small fetch.
        const probe = new BenchConsumer({ ...consumerOptions, partitionMaxBytes: 1 });
        await probe.open();
        await probe.fetchOnce(Array.from({ length: partitions }, (_, partition) => partition));
        probe.close();
        const endOffsets = probe.highWatermarks;
        const bytesPerSecond: number[] = [];
        const recordsPerSecond: number[] = [];
        const brokerMsPerGiB: number[] = [];
        const consumerMsPerGiB: number[] = [];
        for (let run = 0; run < params.runs; run++) {
          const consumer = new BenchConsumer(consumerOptions);
          await consumer.open();
          try {
            const brokerBefore = processCpuMs(broker.pid);
            const consumerBefore = ownCpuMs();
            const bytesBefore = consumer.bytes;
            const result = await consumer.drain(endOffsets, Math.min(partitions, 4));
            const gibibytes = (consumer.bytes - bytesBefore) / 2 ** 30;
            const brokerAfter = processCpuMs(broker.pid);
            if (brokerBefore !== null && brokerAfter !== null && gibibytes > 0) brokerMsPerGiB.push((brokerAfter - brokerBefore) / gibibytes);
            if (gibibytes > 0) consumerMsPerGiB.push((ownCpuMs() - consumerBefore) / gibibytes);
            context.log(`  fetch ${partitions} partition(s) run ${run + 1}: ${(result.bytesPerSecond / 1e9).toFixed(2)} GB/s, ${Math.round(result.recordsPerSecond)} records/s (${formatNumber(consumer.bytes / 2 ** 20)} MiB in ${result.seconds.toFixed(2)} s)`);
            bytesPerSecond.push(result.bytesPerSecond);
            recordsPerSecond.push(result.recordsPerSecond);
          } finally {
            consumer.close();
          }
        }
        const bytes = spread(bytesPerSecond);
        const cpuCell = (values: number[]) => (values.length > 0 ? formatSpread(spread(values), (value) => formatNumber(value)) : "—");
        rows.push([
          `${partitions}`, formatNumber(params.fetchBytes / 2 ** 20), formatSpread(bytes, gb), formatSpread(spread(recordsPerSecond), (value) => formatNumber(value)),
          formatRatio(ratio(bytes.median, floors.tcpBytesPerSecond.median)), cpuCell(brokerMsPerGiB), cpuCell(consumerMsPerGiB),
        ]);
        figures[`partitions-${partitions}`] = {
          bytesPerSecond: bytes, recordsPerSecond: spread(recordsPerSecond), endOffsets: endOffsets.map(String),
          brokerCpuMsPerGiB: brokerMsPerGiB.length > 0 ? spread(brokerMsPerGiB) : null, consumerCpuMsPerGiB: spread(consumerMsPerGiB),
        };
      }
    } finally {
      await broker.stop();
    }
    report.section(
      "Fetch throughput (Fetch v4, one connection, up to 4 partitions in flight, 8 MiB per partition per fetch)",
      table(["partitions", "log MiB", "GB/s (RecordBatch bytes)", "records/s", "÷ TCP loopback floor", "broker CPU ms per GiB", "bench consumer CPU ms per GiB"], rows) +
        `\nTarget ≥ 1 GB/s: ${rows.map((row) => `${row[0]} partition(s) ${verdict(((figures[`partitions-${row[0]}`] as { bytesPerSecond: { median: number } } | undefined)?.bytesPerSecond.median ?? 0) >= 1e9)}`).join(", ")}. Bytes are whole RecordBatches as returned by the broker; the consumer parses batch headers, not records. TCP loopback floor: ${formatNumber(floors.tcpBytesPerSecond.median / 1e9, 2)} GB/s. CPU per GiB: user + system time of the broker process (/proc/<pid>/stat) and of the bench process (its consumer, which reassembles each response into one buffer and walks the batch headers) over each run, per GiB of RecordBatch bytes; 1,000 ms per GiB is one CPU busy for 1.07 GB/s; with one fetch in flight (1 partition) broker and consumer take turns, so the sum of the two columns bounds that row whatever the load.\n`,
    );
    report.figure("fetch", figures);
    context.headlines.push(`scenario 4: fetch ${rows.map((row) => `${row[0]} partition(s) ${row[2]} GB/s`).join(", ")}`);
    return report;
  },
};
