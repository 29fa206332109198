// `runnel consume TOPIC`: records to stdout, one per line by default (the value), or in a kcat-style
// format (-f) or as JSON lines. Without --group it reads the chosen partitions from --offset;
// with --group it is a real member of a consumer group (JoinGroup/SyncGroup, range assignor,
// heartbeats), starts at the group's committed offsets and commits what it printed.
// Stops at --count records, at the end of the log with --exit, on SIGINT/SIGTERM, or when
// stdout goes away (`| head`); exit code 0 in all those cases.

import type { KafkaClient } from "../../client/client.ts";
import { Consumer, type ConsumedRecord, type StartPosition } from "../../client/consumer.ts";
import { GroupConsumer } from "../../client/group-consumer.ts";
import { listOffsets, OffsetSpec } from "../../client/offsets.ts";
import { type Command, ExitCode, existingTopic, requirePositionals, withClient } from "../command.ts";
import { connectionFlags, helpFlag, type ParsedFlags, UsageError } from "../flags.ts";
import { type CliIo, Progress } from "../io.ts";
import { compileFormat, jsonLine, type RecordFormatter } from "../record-format.ts";

type OffsetChoice = "beginning" | "end" | "stored" | { offset: bigint } | { fromEnd: bigint } | { timestamp: bigint };

export function parseOffset(text: string): OffsetChoice {
  if (text === "beginning" || text === "earliest") return "beginning";
  if (text === "end" || text === "latest") return "end";
  if (text === "stored") return "stored";
  if (/^\d+$/.test(text)) return { offset: BigInt(text) };
  if (/^-\d+$/.test(text)) return { fromEnd: -BigInt(text) };
  if (/^@\d+$/.test(text)) return { timestamp: BigInt(text.slice(1)) };
  throw new UsageError(`--offset: "${text}" is not beginning, end, stored, N, -N or @TIMESTAMP_MS`);
}

interface Source {
  poll(timeoutMs: number): Promise<ConsumedRecord[]>;
  position(topic: string, partition: number): bigint | undefined;
  assigned(): { topic: string; partition: number }[];
  /** Rewinds a partition so records taken but not printed are not counted as consumed. */
  rewind(topic: string, partition: number, offset: bigint): void;
  close(): Promise<void>;
}

function parsePartitions(values: readonly string[], count: number, topic: string): number[] {
  const partitions = values.flatMap((value) => value.split(",")).map((text) => {
    if (!/^\d+$/.test(text.trim())) throw new UsageError(`--partition: "${text}" is not a partition number`);
    return Number(text);
  });
  for (const partition of partitions) if (partition >= count) throw new UsageError(`${topic} has no partition ${partition} (it has ${count})`);
  return partitions;
}

async function plainSource(client: KafkaClient, flags: ParsedFlags, topic: string, choice: OffsetChoice, partitionCount: number): Promise<Source> {
  if (choice === "stored") throw new UsageError("--offset stored needs --group");
  const partitions = flags.list("partition").length > 0 ? parsePartitions(flags.list("partition"), partitionCount, topic) : Array.from({ length: partitionCount }, (_, index) => index);
  const consumer = new Consumer(client, { maxWaitMs: 500, autoOffsetReset: "earliest" });
  let from: (partition: number) => StartPosition;
  if (typeof choice === "object" && "fromEnd" in choice) {
    const ask = (timestamp: bigint) => listOffsets(client, partitions.map((partition) => ({ topic, partition, timestamp })));
    const [low, high] = await Promise.all([ask(OffsetSpec.earliest), ask(OffsetSpec.latest)]);
    from = (partition) => {
      const index = partitions.indexOf(partition);
      const wanted = high[index]!.offset - choice.fromEnd;
      return { offset: wanted < low[index]!.offset ? low[index]!.offset : wanted };
    };
  } else {
    const start: StartPosition = choice === "beginning" ? "earliest" : choice === "end" ? "latest" : "offset" in choice ? { offset: choice.offset } : { timestamp: choice.timestamp };
    from = () => start;
  }
  await consumer.assign(partitions.map((partition) => ({ topic, partition, from: from(partition) })));
  return {
    poll: (timeoutMs) => consumer.poll(timeoutMs),
    position: (name, partition) => consumer.position(name, partition),
    assigned: () => consumer.assignment(),
    rewind: (name, partition, offset) => consumer.seek(name, partition, offset),
    close: async () => consumer.close(),
  };
}

function groupSource(client: KafkaClient, flags: ParsedFlags, topic: string, choice: OffsetChoice): Source {
  if (flags.list("partition").length > 0) throw new UsageError("--partition cannot be used with --group (the group assigns partitions)");
  if (typeof choice === "object") throw new UsageError("with --group, --offset is beginning, end or stored (where to start without a committed offset)");
  const consumer = new GroupConsumer(client, {
    groupId: flags.string("group")!,
    topics: [topic],
    autoOffsetReset: choice === "beginning" ? "earliest" : "latest",
    maxWaitMs: 500,
  });
  return {
    poll: (timeoutMs) => consumer.poll(timeoutMs),
    position: (name, partition) => consumer.consumer.position(name, partition),
    assigned: () => consumer.consumer.assignment(),
    rewind: (name, partition, offset) => consumer.consumer.seek(name, partition, offset),
    close: () => consumer.close(),
  };
}

/** True when every assigned partition's position reached its end offset (asked once per partition). */
class EndTracker {
  private readonly ends = new Map<string, bigint>();
  constructor(private readonly client: KafkaClient) {}

  async reached(source: Source): Promise<boolean> {
    const assigned = source.assigned();
    if (assigned.length === 0) return false;
    const missing = assigned.filter(({ topic, partition }) => !this.ends.has(`${topic}\u0000${partition}`));
    if (missing.length > 0) {
      const answers = await listOffsets(this.client, missing.map((entry) => ({ ...entry, timestamp: OffsetSpec.latest })));
      answers.forEach((answer) => this.ends.set(`${answer.topic}\u0000${answer.partition}`, answer.offset));
    }
    return assigned.every(({ topic, partition }) => (source.position(topic, partition) ?? -1n) >= this.ends.get(`${topic}\u0000${partition}`)!);
  }
}

async function writeRecord(io: CliIo, record: ConsumedRecord, formatter: RecordFormatter | null): Promise<void> {
  if (formatter === null) {
    await io.write(jsonLine(record));
    return;
  }
  for (const piece of formatter(record)) await io.write(piece);
}

async function consumeLoop(client: KafkaClient, flags: ParsedFlags, io: CliIo): Promise<number> {
  const [topic] = requirePositionals(flags, 1, "topic");
  const count = flags.int("count");
  if (count !== undefined && count < 0) throw new UsageError("--count must be ≥ 0");
  const formatter = flags.bool("json") ? null : compileFormat(flags.string("format", "%s\\n"));
  const group = flags.string("group");
  const choice = parseOffset(flags.string("offset", group ? "stored" : "end"));
  const info = await existingTopic(client, topic!);
  const source = group ? groupSource(client, flags, topic!, choice) : await plainSource(client, flags, topic!, choice, info.partitions.length);
  const ends = flags.bool("exit") ? new EndTracker(client) : null;
  const progress = io.stderrIsTTY && !io.stdoutIsTTY ? new Progress(io, "consumed") : null;
  let printed = 0;
  try {
    while (!io.signal.aborted && !io.stdoutClosed && (count === undefined || printed < count)) {
      const records = await source.poll(200);
      const wanted = count === undefined ? records : records.slice(0, count - printed);
      for (const record of wanted) await writeRecord(io, record, formatter);
      if (wanted.length > 0) await io.flush(); // a reader (a terminal, `| grep`) sees records as they come
      printed += wanted.length;
      progress?.add(wanted.length, wanted.reduce((sum, record) => sum + (record.value?.length ?? 0), 0));
      rewindUnprinted(source, records.slice(wanted.length));
      if (records.length === 0 && ends && (await ends.reached(source))) break;
    }
  } finally {
    await io.flush();
    progress?.finish();
    await source.close();
  }
  return ExitCode.ok;
}

function rewindUnprinted(source: Source, unprinted: readonly ConsumedRecord[]): void {
  const first = new Map<string, ConsumedRecord>();
  for (const record of unprinted) {
    const key = `${record.topic}\u0000${record.partition}`;
    if (!first.has(key)) first.set(key, record);
  }
  for (const record of first.values()) source.rewind(record.topic, record.partition, record.offset);
}

export const consumeCommand: Command = {
  name: "consume",
  summary: "Print a topic's records to stdout.",
  positionals: "TOPIC",
  flags: [
    { name: "offset", short: "o", kind: "string", value: "WHERE", description: "beginning, end (default), N, -N (N before the end), @MS (first record at or after that time); with --group: beginning, end or stored (default)" },
    { name: "group", short: "G", kind: "string", value: "GROUP", description: "consume as a member of this consumer group (commits its progress)" },
    { name: "partition", short: "p", kind: "list", value: "N[,N…]", description: "only these partitions (default: all)" },
    { name: "exit", short: "e", kind: "bool", description: "stop at the end of the log" },
    { name: "count", short: "c", kind: "int", value: "N", description: "stop after N records" },
    { name: "format", short: "f", kind: "string", value: "FMT", description: "kcat-style: %t %p %o %T %k %s %K %S %h, \\n \\t (default %s\\n)" },
    { name: "json", kind: "bool", description: "one JSON object per record" },
    ...connectionFlags, helpFlag,
  ],
  notes: "Examples:\n  runnel consume orders --offset beginning --exit\n  runnel consume orders -G billing -f '%p:%o %k=%s\\n'\n  runnel consume orders -o @1735689600000 --count 10 --json",
  run: (flags, io) => withClient(flags, io, (client) => consumeLoop(client, flags, io)),
};
