// `runnel groups list|describe|reset-offsets|delete`: consumer groups over the Kafka protocol
// (ListGroups on every broker, DescribeGroups, OffsetFetch, ListOffsets, OffsetCommit,
// DeleteGroups). reset-offsets is a dry run unless --execute, as Kafka's own tool, and refuses
// to move the offsets of a group that has members.

import {
  commitOffsets,
  deleteGroups,
  describeGroups,
  fetchCommittedOffsets,
  groupLag,
  listGroups,
  listOffsets,
  listTopics,
  OffsetSpec,
  type KafkaClient,
  type TopicPartitionOffset,
} from "../../client/index.ts";
import { ErrorCode, KafkaError, errorName } from "../../protocol/errors.ts";
import { type Command, ExitCode, requirePositionals, withClient } from "../command.ts";
import { connectionFlags, helpFlag, type ParsedFlags, UsageError, type FlagSpec } from "../flags.ts";
import type { CliIo } from "../io.ts";
import { printJson, printTable } from "../output.ts";

const jsonFlag: FlagSpec = { name: "json", kind: "bool", description: "print JSON instead of a table" };

const list: Command = {
  name: "groups list",
  summary: "List the consumer groups of every broker.",
  flags: [jsonFlag, ...connectionFlags, helpFlag],
  run: (flags, io) => withClient(flags, io, async (client) => {
    const groups = await listGroups(client);
    if (flags.bool("json")) await printJson(io, groups);
    else await printTable(io, ["GROUP", "STATE", "PROTOCOL-TYPE", "COORDINATOR"], groups.map((group) => [group.groupId, group.state, group.protocolType, group.coordinator]));
    return ExitCode.ok;
  }),
};

const describe: Command = {
  name: "groups describe",
  summary: "Show groups: state, members, and per partition the committed offset, log end offset and lag.",
  positionals: "GROUP…",
  flags: [jsonFlag, ...connectionFlags, helpFlag],
  run: (flags, io) => withClient(flags, io, async (client) => {
    const groupIds = requirePositionals(flags, 1, "group id");
    const described = await describeGroups(client, groupIds);
    let code: number = ExitCode.ok;
    const out = [];
    for (const group of described) {
      if (group.errorCode !== ErrorCode.NONE) {
        io.error(`runnel: group ${group.groupId}: ${errorName(group.errorCode)}`);
        code = ExitCode.failed;
        continue;
      }
      if (group.state === "Dead") {
        io.error(`runnel: group ${group.groupId} does not exist`);
        code = ExitCode.failed;
        continue;
      }
      out.push({ ...group, partitions: await groupLag(client, group.groupId) });
    }
    if (flags.bool("json")) {
      await printJson(io, out);
      return code;
    }
    for (const group of out) {
      await io.write(`Group: ${group.groupId}\tState: ${group.state}\tProtocol: ${group.protocol || "-"}\tMembers: ${group.members.length}\n`);
      await printTable(io, ["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "CLIENT-ID"], group.partitions.map((entry) => [
        entry.topic, entry.partition, entry.committed >= 0n ? entry.committed : null, entry.logEnd, entry.lag, entry.memberId, entry.clientId,
      ]));
    }
    return code;
  }),
};

const resetFlags: readonly FlagSpec[] = [
  { name: "topic", short: "t", kind: "list", value: "TOPIC[:P,P…]", description: "a topic (all its partitions, or the ones listed)" },
  { name: "all-topics", kind: "bool", description: "every topic the group has committed offsets for" },
  { name: "to-earliest", kind: "bool", description: "to the log start offset" },
  { name: "to-latest", kind: "bool", description: "to the log end offset" },
  { name: "to-offset", kind: "string", value: "N", description: "to offset N (kept within the log)" },
  { name: "to-timestamp", kind: "string", value: "MS", description: "to the first record at or after this time (ms since the epoch)" },
  { name: "to-datetime", kind: "string", value: "ISO-8601", description: "the same with a date, e.g. 2026-01-31T12:00:00Z" },
  { name: "shift-by", kind: "string", value: "N", description: "move the committed offset by N (negative: back)" },
  { name: "execute", kind: "bool", description: "apply the change (default: print the plan only)" },
];

type Target = { kind: "earliest" | "latest" } | { kind: "offset"; offset: bigint } | { kind: "timestamp"; timestamp: bigint } | { kind: "shift"; by: bigint };

function targetOf(flags: ParsedFlags): Target {
  const targets: Target[] = [];
  const integer = (name: string) => {
    const text = flags.string(name)!;
    if (!/^-?\d+$/.test(text)) throw new UsageError(`--${name}: "${text}" is not an integer`);
    return BigInt(text);
  };
  if (flags.bool("to-earliest")) targets.push({ kind: "earliest" });
  if (flags.bool("to-latest")) targets.push({ kind: "latest" });
  if (flags.has("to-offset")) targets.push({ kind: "offset", offset: integer("to-offset") });
  if (flags.has("to-timestamp")) targets.push({ kind: "timestamp", timestamp: integer("to-timestamp") });
  if (flags.has("to-datetime")) {
    const ms = Date.parse(flags.string("to-datetime")!);
    if (Number.isNaN(ms)) throw new UsageError(`--to-datetime: "${flags.string("to-datetime")}" is not an ISO-8601 date`);
    targets.push({ kind: "timestamp", timestamp: BigInt(ms) });
  }
  if (flags.has("shift-by")) targets.push({ kind: "shift", by: integer("shift-by") });
  if (targets.length !== 1) throw new UsageError("give exactly one of --to-earliest, --to-latest, --to-offset, --to-timestamp, --to-datetime, --shift-by");
  return targets[0]!;
}

/** The partitions named by --topic / --all-topics. */
async function partitionsOf(client: KafkaClient, flags: ParsedFlags, committed: readonly TopicPartitionOffset[]): Promise<{ topic: string; partition: number }[]> {
  if (flags.bool("all-topics") === flags.list("topic").length > 0) throw new UsageError("give --topic (repeatable) or --all-topics");
  if (flags.bool("all-topics")) return committed.map(({ topic, partition }) => ({ topic, partition }));
  const topics = new Map((await listTopics(client, { internal: true })).map((topic) => [topic.name, topic]));
  return flags.list("topic").flatMap((entry) => {
    const [name, list] = entry.split(":") as [string, string | undefined];
    const topic = topics.get(name);
    if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`);
    const partitions = list === undefined ? topic.partitions.map((partition) => partition.partition) : list.split(",").map(Number);
    for (const partition of partitions) {
      if (!Number.isInteger(partition) || partition < 0 || partition >= topic.partitions.length) throw new UsageError(`${name} has no partition ${partition}`);
    }
    return partitions.map((partition) => ({ topic: name, partition }));
  });
}

async function plan(client: KafkaClient, target: Target, partitions: readonly { topic: string; partition: number }[], committed: Map<string, bigint>) {
  const ask = (timestamp: bigint) => listOffsets(client, partitions.map((entry) => ({ ...entry, timestamp })));
  const [earliest, latest] = await Promise.all([ask(OffsetSpec.earliest), ask(OffsetSpec.latest)]);
  const atTime = target.kind === "timestamp" ? await ask(target.timestamp) : null;
  return partitions.map((entry, index) => {
    const low = earliest[index]!.offset;
    const high = latest[index]!.offset;
    const current = committed.get(`${entry.topic}\u0000${entry.partition}`) ?? -1n;
    let wanted: bigint;
    switch (target.kind) {
      case "earliest": wanted = low; break;
      case "latest": wanted = high; break;
      case "offset": wanted = target.offset; break;
      case "timestamp": wanted = atTime![index]!.offset < 0n ? high : atTime![index]!.offset; break;
      case "shift": wanted = (current >= 0n ? current : high) + target.by; break;
    }
    const offset = wanted < low ? low : wanted > high ? high : wanted;
    return { ...entry, current, offset };
  });
}

const resetOffsets: Command = {
  name: "groups reset-offsets",
  summary: "Move a group's committed offsets (dry run unless --execute; the group must have no members).",
  positionals: "GROUP",
  flags: [...resetFlags, jsonFlag, ...connectionFlags, helpFlag],
  notes: "Examples:\n  runnel groups reset-offsets billing --topic orders --to-earliest            # show the plan\n  runnel groups reset-offsets billing --topic orders:0,1 --to-offset 42 --execute",
  run: (flags, io) => withClient(flags, io, async (client) => {
    const [groupId] = requirePositionals(flags, 1, "group id");
    const target = targetOf(flags);
    const committed = await fetchCommittedOffsets(client, groupId!);
    const partitions = await partitionsOf(client, flags, committed);
    const planned = await plan(client, target, partitions, new Map(committed.map((entry) => [`${entry.topic}\u0000${entry.partition}`, entry.offset])));
    if (flags.bool("json")) await printJson(io, planned);
    else await printTable(io, ["TOPIC", "PARTITION", "CURRENT-OFFSET", "NEW-OFFSET"], planned.map((entry) => [entry.topic, entry.partition, entry.current >= 0n ? entry.current : null, entry.offset]));
    if (!flags.bool("execute")) {
      io.error("dry run: nothing changed (add --execute to apply)");
      return ExitCode.ok;
    }
    return execute(client, io, groupId!, planned);
  }),
};

async function execute(client: KafkaClient, io: CliIo, groupId: string, planned: readonly TopicPartitionOffset[]): Promise<number> {
  const [group] = await describeGroups(client, [groupId]);
  if (group && group.state !== "Empty" && group.state !== "Dead") {
    io.error(`runnel: group ${groupId} is ${group.state} with ${group.members.length} member(s): stop its consumers first`);
    return ExitCode.failed;
  }
  await commitOffsets(client, groupId, planned.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
  io.error(`reset ${planned.length} partition(s) of group ${groupId}`);
  return ExitCode.ok;
}

const remove: Command = {
  name: "groups delete",
  summary: "Delete groups (they must have no members) and their committed offsets.",
  positionals: "GROUP…",
  flags: [...connectionFlags, helpFlag],
  run: (flags, io) => withClient(flags, io, async (client) => {
    const groupIds = requirePositionals(flags, 1, "group id");
    let code: number = ExitCode.ok;
    for (const result of await deleteGroups(client, groupIds)) {
      if (result.errorCode === ErrorCode.NONE) await io.write(`deleted group ${result.groupId}\n`);
      else {
        io.error(`runnel: group ${result.groupId}: ${errorName(result.errorCode)}`);
        code = ExitCode.failed;
      }
    }
    return code;
  }),
};

export const groupCommands: readonly Command[] = [list, describe, resetOffsets, remove];
