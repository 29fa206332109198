// `runnel produce TOPIC`: one record per line of stdin (a trailing \r is dropped), batched and
// sent by the shared client's producer with backpressure (a large file streams through a bounded
// buffer). Exit code 1 when any record was not acknowledged; the first error says why.

import { KafkaClient } from "../../client/client.ts";
import { Producer } from "../../client/producer.ts";
import { CompressionType } from "../../protocol/compression.ts";
import { type Command, ExitCode, existingTopic, parsePairs, requirePositionals, withClient } from "../command.ts";
import { connectionFlags, helpFlag, type ParsedFlags, UsageError } from "../flags.ts";
import { type CliIo, Progress } from "../io.ts";

export const compressionByName: Record<string, number> = {
  none: CompressionType.none, gzip: CompressionType.gzip, snappy: CompressionType.snappy, lz4: CompressionType.lz4, zstd: CompressionType.zstd,
};

export function parseAcks(text: string): 0 | 1 | -1 {
  if (text === "all" || text === "-1") return -1;
  if (text === "0" || text === "1") return Number(text) as 0 | 1;
  throw new UsageError(`--acks: "${text}" is not 0, 1, all or -1`);
}

export function parseCompression(text: string): number {
  const codec = compressionByName[text];
  if (codec === undefined) throw new UsageError(`--compression: "${text}" is not one of ${Object.keys(compressionByName).join(", ")}`);
  return codec;
}

/** Splits a byte stream into lines (without "\n" or a trailing "\r"). */
export async function* lines(chunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  let carry: Uint8Array = new Uint8Array(0);
  for await (const chunk of chunks) {
    let data = chunk;
    if (carry.length > 0) {
      data = new Uint8Array(carry.length + chunk.length);
      data.set(carry);
      data.set(chunk, carry.length);
    }
    let start = 0;
    for (let end = data.indexOf(10, start); end >= 0; end = data.indexOf(10, start)) {
      yield trimCarriageReturn(data.slice(start, end));
      start = end + 1;
    }
    carry = data.slice(start);
  }
  if (carry.length > 0) yield trimCarriageReturn(carry);
}

function trimCarriageReturn(line: Uint8Array): Uint8Array {
  return line.length > 0 && line[line.length - 1] === 13 ? line.subarray(0, line.length - 1) : line;
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  if (needle.length === 1) return haystack.indexOf(needle[0]!);
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.length).indexOf(Buffer.from(needle));
}

async function produceLines(client: KafkaClient, flags: ParsedFlags, io: CliIo, topic: string): Promise<number> {
  const delimiter = flags.string("key-delimiter");
  if (delimiter === "") throw new UsageError("--key-delimiter must not be empty");
  const delimiterBytes = delimiter === undefined ? null : new TextEncoder().encode(delimiter);
  const headers = Object.entries(parsePairs(flags.list("header"), "header")).map(([key, value]) => ({ key, value }));
  const partition = flags.int("partition");
  // A missing topic is reported now rather than after the delivery timeout.
  const info = await existingTopic(client, topic, { allowAutoTopicCreation: true });
  if (partition !== undefined && (partition < 0 || partition >= info.partitions.length)) throw new UsageError(`${topic} has no partition ${partition} (it has ${info.partitions.length})`);
  const producer = new Producer(client, {
    acks: parseAcks(flags.string("acks", "all")),
    compression: parseCompression(flags.string("compression", "none")),
    idempotent: flags.bool("idempotent"),
    lingerMs: flags.int("linger-ms", 5),
    batchBytesMax: flags.int("batch-bytes", 64 * 1024),
    recordBytesMax: 16 * 1024 * 1024,
  });
  const progress = new Progress(io, "produced");
  let failed = 0;
  let firstError: Error | null = null;
  for await (const line of lines(io.stdin())) {
    if (io.signal.aborted) break;
    let key: Uint8Array | null = null;
    let value = line;
    const at = delimiterBytes ? indexOfBytes(line, delimiterBytes) : -1;
    if (at >= 0) {
      key = line.subarray(0, at);
      value = line.subarray(at + delimiterBytes!.length);
    }
    producer.send({ topic, partition, key, value, headers }).then(
      () => progress.add(1, line.length),
      (error: Error) => {
        failed++;
        firstError ??= error;
      },
    );
    if (producer.bufferedBytes > producer.options.bufferBytesMax) await producer.writable();
  }
  await producer.close();
  progress.finish();
  if (failed > 0) {
    io.error(`runnel: ${failed} record(s) not acknowledged: ${firstError!.message}`);
    return ExitCode.failed;
  }
  return ExitCode.ok;
}

export const produceCommand: Command = {
  name: "produce",
  summary: "Send one record per line of stdin to a topic.",
  positionals: "TOPIC",
  flags: [
    { name: "key-delimiter", short: "K", kind: "string", value: "TEXT", description: "split each line at the first TEXT into key and value (no TEXT in a line: no key)" },
    { name: "header", short: "H", kind: "list", value: "key=value", description: "a header on every record" },
    { name: "partition", short: "p", kind: "int", value: "N", description: "send to this partition (default: by key, else sticky)" },
    { name: "compression", short: "z", kind: "string", value: "CODEC", description: "none (default), gzip, snappy, lz4, zstd" },
    { name: "acks", kind: "string", value: "ACKS", description: "0, 1 or all (default all)" },
    { name: "idempotent", kind: "bool", description: "idempotent producer (no duplicates on retry)" },
    { name: "linger-ms", kind: "int", value: "MS", description: "wait this long to fill a batch (default 5)" },
    { name: "batch-bytes", kind: "int", value: "BYTES", description: "batch size (default 65536)" },
    ...connectionFlags, helpFlag,
  ],
  notes: "Example:\n  printf 'k1:hello\\nk2:world\\n' | runnel produce greetings -K : -H source=cli\nProgress (records/s) is shown on a terminal; nothing is printed when stderr is piped.",
  run: (flags, io) => withClient(flags, io, (client) => produceLines(client, flags, io, requirePositionals(flags, 1, "topic")[0]!)),
};
