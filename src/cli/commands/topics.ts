// `runnel topics create|list|describe|alter|delete`: topic administration over the Kafka protocol
// (CreateTopics, Metadata, ListOffsets, DescribeConfigs, CreatePartitions,
// IncrementalAlterConfigs, DeleteTopics), so it works against any Kafka-compatible cluster.
// Per-topic failures are reported on stderr and make the exit code 1; the others still happen.

import {
  createPartitions,
  createTopics,
  deleteTopics,
  describeConfigs,
  describeTopics,
  incrementalAlterConfigs,
  listTopics,
  type ConfigChange,
  type TopicInfo,
} from "../../client/index.ts";
import { listOffsets, OffsetSpec } from "../../client/offsets.ts";
import type { KafkaClient } from "../../client/client.ts";
import { ErrorCode, errorName } from "../../protocol/errors.ts";
import { type Command, ExitCode, parsePairs, requirePositionals, withClient } from "../command.ts";
import { connectionFlags, helpFlag, UsageError, type FlagSpec } from "../flags.ts";
import type { CliIo } from "../io.ts";
import { printJson, printTable } from "../output.ts";

const jsonFlag: FlagSpec = { name: "json", kind: "bool", description: "print JSON instead of a table" };

function failure(io: CliIo, what: string, code: number, message: string | null): void {
  const name = errorName(code);
  io.error(`runnel: ${what}: ${message?.startsWith(name) ? message : `${name}${message ? `: ${message}` : ""}`}`);
}

const list: Command = {
  name: "topics list",
  summary: "List the topics of the cluster.",
  flags: [{ name: "internal", kind: "bool", description: "include internal topics (__consumer_offsets)" }, jsonFlag, ...connectionFlags, helpFlag],
  run: (flags, io) => withClient(flags, io, async (client) => {
    const topics = await listTopics(client, { internal: flags.bool("internal") });
    if (flags.bool("json")) {
      await printJson(io, topics.map((topic) => ({ name: topic.name, id: topic.id, partitions: topic.partitions.length, replicationFactor: replicationOf(topic), internal: topic.internal })));
    } else {
      await printTable(io, ["TOPIC", "PARTITIONS", "REPLICAS", "ID"], topics.map((topic) => [topic.name, topic.partitions.length, replicationOf(topic), topic.id]));
    }
    return ExitCode.ok;
  }),
};

function replicationOf(topic: TopicInfo): number {
  return topic.partitions[0]?.replicas.length ?? 0;
}

const create: Command = {
  name: "topics create",
  summary: "Create topics.",
  positionals: "TOPIC…",
  flags: [
    { name: "partitions", short: "p", kind: "int", value: "N", description: "partitions (default: the broker's num.partitions)" },
    { name: "replication-factor", short: "r", kind: "int", value: "N", description: "replicas per partition (default: the broker's default.replication.factor)" },
    { name: "config", short: "c", kind: "list", value: "key=value", description: "a topic config (retention.ms=…, cleanup.policy=compact…)" },
    { name: "if-not-exists", kind: "bool", description: "a topic that already exists is not an error" },
    { name: "dry-run", kind: "bool", description: "only validate (CreateTopics validateOnly)" },
    ...connectionFlags, helpFlag,
  ],
  run: (flags, io) => withClient(flags, io, async (client) => {
    const names = requirePositionals(flags, 1, "topic name");
    const configs = parsePairs(flags.list("config"), "config");
    const results = await createTopics(client, names.map((name) => ({
      name, partitions: flags.int("partitions"), replicationFactor: flags.int("replication-factor"), configs,
    })), { validateOnly: flags.bool("dry-run") });
    let code: number = ExitCode.ok;
    for (const result of results) {
      if (result.errorCode === ErrorCode.NONE) {
        await io.write(`${flags.bool("dry-run") ? "would create" : "created"} topic ${result.name}${result.partitions > 0 ? ` (${result.partitions} partitions, replication factor ${result.replicationFactor})` : ""}\n`);
      } else if (!(result.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS && flags.bool("if-not-exists"))) {
        failure(io, `topic ${result.name}`, result.errorCode, result.errorMessage);
        code = ExitCode.failed;
      }
    }
    return code;
  }),
};

const describe: Command = {
  name: "topics describe",
  summary: "Show topics: id, partitions (leader, replicas, in-sync replicas, log start and end offsets), config overrides.",
  positionals: "TOPIC…",
  flags: [jsonFlag, ...connectionFlags, helpFlag],
  run: (flags, io) => withClient(flags, io, async (client) => {
    const names = requirePositionals(flags, 1, "topic name");
    const described = [];
    for (const topic of await describeTopics(client, names)) described.push(await describeOne(client, topic));
    if (flags.bool("json")) {
      await printJson(io, described);
      return ExitCode.ok;
    }
    for (const topic of described) {
      const overrides = Object.entries(topic.configs).map(([key, value]) => `${key}=${value}`).join(",");
      await io.write(`Topic: ${topic.name}\tId: ${topic.id}\tPartitions: ${topic.partitions.length}\tReplicationFactor: ${topic.replicationFactor}\tConfigs: ${overrides || "-"}\n`);
      await printTable(io, ["PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "LOG-START", "LOG-END"], topic.partitions.map((partition) => [
        partition.partition, partition.leader, partition.leaderEpoch, partition.replicas.join(","), partition.isr.join(","), partition.logStartOffset, partition.logEndOffset,
      ]));
    }
    return ExitCode.ok;
  }),
};

async function describeOne(client: KafkaClient, topic: TopicInfo) {
  const partitions = topic.partitions.map((partition) => partition.partition);
  const queries = partitions.flatMap((partition) => [
    { topic: topic.name, partition, timestamp: OffsetSpec.earliest },
    { topic: topic.name, partition, timestamp: OffsetSpec.latest },
  ]);
  const offsets = await listOffsets(client, queries);
  const [configs] = await describeConfigs(client, [{ kind: "topic", name: topic.name }]);
  const overrides = Object.fromEntries((configs?.configs ?? []).filter((entry) => entry.source === "DYNAMIC_TOPIC_CONFIG").map((entry) => [entry.name, entry.value]));
  return {
    name: topic.name,
    id: topic.id,
    internal: topic.internal,
    replicationFactor: replicationOf(topic),
    configs: overrides,
    partitions: topic.partitions.map((partition, index) => ({
      partition: partition.partition,
      leader: partition.leader,
      leaderEpoch: partition.leaderEpoch,
      replicas: partition.replicas,
      isr: partition.isr,
      logStartOffset: offsets[index * 2]!.offset,
      logEndOffset: offsets[index * 2 + 1]!.offset,
    })),
  };
}

const alter: Command = {
  name: "topics alter",
  summary: "Change a topic: more partitions, config overrides set or removed.",
  positionals: "TOPIC",
  flags: [
    { name: "partitions", short: "p", kind: "int", value: "N", description: "grow to N partitions (Kafka cannot shrink a topic)" },
    { name: "config", short: "c", kind: "list", value: "key=value", description: "set a config override" },
    { name: "delete-config", kind: "list", value: "key", description: "remove a config override (back to the broker default)" },
    ...connectionFlags, helpFlag,
  ],
  run: (flags, io) => withClient(flags, io, async (client) => {
    const [name] = requirePositionals(flags, 1, "topic name");
    const changes: ConfigChange[] = [
      ...Object.entries(parsePairs(flags.list("config"), "config")).map(([key, value]) => ({ name: key, operation: "set" as const, value })),
      ...flags.list("delete-config").map((key) => ({ name: key, operation: "delete" as const })),
    ];
    const partitions = flags.int("partitions");
    if (partitions === undefined && changes.length === 0) throw new UsageError("nothing to change: give --partitions, --config or --delete-config");
    await describeTopics(client, [name!]); // a clear UNKNOWN_TOPIC_OR_PARTITION before anything changes
    let code: number = ExitCode.ok;
    if (changes.length > 0) {
      const [result] = await incrementalAlterConfigs(client, [{ kind: "topic", name: name!, changes }]);
      if (result!.errorCode !== ErrorCode.NONE) {
        failure(io, `configs of ${name}`, result!.errorCode, result!.errorMessage);
        code = ExitCode.failed;
      } else {
        await io.write(`altered configs of ${name}: ${changes.map((change) => (change.operation === "set" ? `${change.name}=${change.value}` : `-${change.name}`)).join(" ")}\n`);
      }
    }
    if (partitions !== undefined && code === ExitCode.ok) {
      const [result] = await createPartitions(client, [{ topic: name!, count: partitions }]);
      if (result!.errorCode !== ErrorCode.NONE) {
        failure(io, `partitions of ${name}`, result!.errorCode, result!.errorMessage);
        code = ExitCode.failed;
      } else {
        await io.write(`${name} now has ${partitions} partitions\n`);
      }
    }
    return code;
  }),
};

const remove: Command = {
  name: "topics delete",
  summary: "Delete topics and all their records.",
  positionals: "TOPIC…",
  flags: [{ name: "if-exists", kind: "bool", description: "a topic that does not exist is not an error" }, ...connectionFlags, helpFlag],
  run: (flags, io) => withClient(flags, io, async (client) => {
    const names = requirePositionals(flags, 1, "topic name");
    let code: number = ExitCode.ok;
    for (const result of await deleteTopics(client, names)) {
      if (result.errorCode === ErrorCode.NONE) await io.write(`deleted topic ${result.name}\n`);
      else if (!(result.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && flags.bool("if-exists"))) {
        failure(io, `topic ${result.name}`, result.errorCode, result.errorMessage);
        code = ExitCode.failed;
      }
    }
    return code;
  }),
};

export const topicCommands: readonly Command[] = [create, list, describe, alter, remove];

