// `runnel bench`: a quick load test of any Kafka-compatible cluster with the shared client, as
// Kafka's producer/consumer perf tools do: produce N records of B bytes as fast as the producer
// goes (throughput, and acknowledgement latency percentiles from send to ack), then read them all
// back (throughput). The repository's `bun run bench` holds the full benchmark suite (open-loop
// latency, other systems, floors); this is the one a user runs against their own cluster.

import type { KafkaClient } from "../../client/client.ts";
import { Consumer } from "../../client/consumer.ts";
import { createTopics, deleteTopics } from "../../client/admin-topics.ts";
import { Producer } from "../../client/producer.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { type Command, ExitCode, existingTopic, withClient } from "../command.ts";
import { connectionFlags, helpFlag, type ParsedFlags, UsageError } from "../flags.ts";
import { type CliIo, Progress } from "../io.ts";
import { parseAcks, parseCompression } from "./produce.ts";

interface BenchSettings {
  topic: string;
  records: number;
  recordBytes: number;
  partitions: number;
  acks: 0 | 1 | -1;
  compression: number;
  batchBytes: number;
  lingerMs: number;
}

function settingsOf(flags: ParsedFlags): BenchSettings {
  const settings = {
    topic: flags.string("topic", `runnel-bench-${Date.now()}`),
    records: flags.int("records", 200_000),
    recordBytes: flags.int("record-bytes", 1024),
    partitions: flags.int("partitions", 1),
    acks: parseAcks(flags.string("acks", "1")),
    compression: parseCompression(flags.string("compression", "none")),
    batchBytes: flags.int("batch-bytes", 64 * 1024),
    lingerMs: flags.int("linger-ms", 5),
  };
  if (settings.records < 1 || settings.recordBytes < 0 || settings.partitions < 1) throw new UsageError("--records and --partitions must be ≥ 1, --record-bytes ≥ 0");
  return settings;
}

function percentile(sorted: Float64Array, fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

async function produceAll(client: KafkaClient, settings: BenchSettings, io: CliIo): Promise<string> {
  const producer = new Producer(client, { acks: settings.acks, compression: settings.compression, batchBytesMax: settings.batchBytes, lingerMs: settings.lingerMs });
  const value = crypto.getRandomValues(new Uint8Array(settings.recordBytes));
  const latencies = new Float64Array(settings.records);
  const progress = new Progress(io, "produced");
  let failed: Error | null = null;
  const started = performance.now();
  for (let index = 0; index < settings.records && !failed && !io.signal.aborted; index++) {
    const sentAt = performance.now();
    producer.send({ topic: settings.topic, value }).then(() => {
      latencies[index] = performance.now() - sentAt;
      progress.add(1, settings.recordBytes);
    }, (error: Error) => (failed ??= error));
    if (producer.bufferedBytes > producer.options.bufferBytesMax) await producer.writable();
  }
  await producer.close();
  progress.finish();
  if (failed) throw failed;
  const seconds = (performance.now() - started) / 1000;
  const sorted = latencies.slice(0, progress.records).sort();
  const rate = progress.records / seconds;
  return `produce: ${progress.records.toLocaleString("en-US")} records of ${settings.recordBytes} B in ${seconds.toFixed(2)} s: ${Math.round(rate).toLocaleString("en-US")} records/s, ${(rate * settings.recordBytes / 1e6).toFixed(1)} MB/s; `
    + `ack latency p50 ${percentile(sorted, 0.5).toFixed(1)} ms, p99 ${percentile(sorted, 0.99).toFixed(1)} ms, p99.9 ${percentile(sorted, 0.999).toFixed(1)} ms, max ${sorted[sorted.length - 1]!.toFixed(1)} ms`;
}

async function consumeAll(client: KafkaClient, settings: BenchSettings, io: CliIo, expected: number): Promise<string> {
  const consumer = new Consumer(client, { maxWaitMs: 100 });
  await consumer.assign(Array.from({ length: settings.partitions }, (_, partition) => ({ topic: settings.topic, partition, from: "earliest" as const })));
  const progress = new Progress(io, "consumed");
  const started = performance.now();
  let idleSince = performance.now();
  while (progress.records < expected && !io.signal.aborted) {
    const records = await consumer.poll(500);
    if (records.length > 0) idleSince = performance.now();
    else if (performance.now() - idleSince > 10_000) break; // acks=0 records may be gone
    progress.add(records.length, records.reduce((sum, record) => sum + (record.value?.length ?? 0), 0));
  }
  consumer.close();
  progress.finish();
  const seconds = (performance.now() - started) / 1000;
  const rate = progress.records / seconds;
  return `consume: ${progress.records.toLocaleString("en-US")} records in ${seconds.toFixed(2)} s: ${Math.round(rate).toLocaleString("en-US")} records/s, ${(rate * settings.recordBytes / 1e6).toFixed(1)} MB/s`;
}

async function bench(client: KafkaClient, flags: ParsedFlags, io: CliIo): Promise<number> {
  const settings = settingsOf(flags);
  const [created] = await createTopics(client, [{ name: settings.topic, partitions: settings.partitions }]);
  const ours = created!.errorCode === ErrorCode.NONE;
  if (!ours && created!.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) throw new Error(`cannot create ${settings.topic}: ${created!.errorMessage ?? created!.errorCode}`);
  const info = await existingTopic(client, settings.topic);
  settings.partitions = info.partitions.length;
  try {
    await io.write(`${await produceAll(client, settings, io)}\n`);
    await io.write(`${await consumeAll(client, settings, io, settings.records)}\n`);
  } finally {
    if (ours && !flags.bool("keep")) await deleteTopics(client, [settings.topic]);
  }
  return ExitCode.ok;
}

export const benchCommand: Command = {
  name: "bench",
  summary: "Load-test a cluster: produce records as fast as possible (throughput, ack latency), then read them back.",
  flags: [
    { name: "topic", short: "t", kind: "string", value: "TOPIC", description: "topic to use (default: a new one, deleted afterwards)" },
    { name: "records", short: "n", kind: "int", value: "N", description: "records to produce (default 200000)" },
    { name: "record-bytes", short: "s", kind: "int", value: "BYTES", description: "value size (default 1024)" },
    { name: "partitions", short: "p", kind: "int", value: "N", description: "partitions of a new topic (default 1)" },
    { name: "acks", kind: "string", value: "ACKS", description: "0, 1 (default) or all" },
    { name: "compression", short: "z", kind: "string", value: "CODEC", description: "none (default), gzip, snappy, lz4, zstd" },
    { name: "batch-bytes", kind: "int", value: "BYTES", description: "producer batch size (default 65536)" },
    { name: "linger-ms", kind: "int", value: "MS", description: "producer linger (default 5)" },
    { name: "keep", kind: "bool", description: "keep the topic the bench created" },
    ...connectionFlags, helpFlag,
  ],
  notes: "The full benchmark suite of the repository (open-loop latency, Redis and NATS for comparison,\nTCP and disk floors) is `bun run bench`; see bench/README.md.",
  run: (flags, io) => withClient(flags, io, (client) => bench(client, flags, io)),
};
