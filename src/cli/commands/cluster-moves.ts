// `runnel cluster decommission NODE` and `runnel cluster reassignments`: draining a broker and
// watching replicas move (docs/elastic.md). Decommission marks the broker (IncrementalAlterConfigs
// of broker.decommissioning); the controller's balancer moves its replicas to the other brokers —
// each new replica catches up and joins the ISR before the old one leaves — and its leaderships go
// with them. Unless --no-wait, the command then prints progress every second (replicas and
// leaderships left on the broker, reassignments in progress, bytes still on it) until nothing is
// left: the broker can then be stopped. --cancel clears the mark (moves already done stay).

import { describeLogDirs, listPartitionReassignments, listTopics, setDecommissioning } from "../../client/index.ts";
import type { KafkaClient } from "../../client/client.ts";
import { type Command, ExitCode, requirePositionals, withClient } from "../command.ts";
import { connectionFlags, helpFlag, UsageError } from "../flags.ts";
import type { CliIo } from "../io.ts";
import { printJson, printTable } from "../output.ts";

export interface DrainProgress {
  replicas: number;
  leaders: number;
  reassigning: number;
  bytes: bigint | null;
}

async function drainProgress(client: KafkaClient, node: number): Promise<DrainProgress> {
  const topics = await listTopics(client, { internal: true });
  const partitions = topics.flatMap((topic) => topic.partitions);
  const ongoing = await listPartitionReassignments(client);
  // Bytes still on the broker: it may be unreachable (stopped early): unknown then.
  const bytes = await describeLogDirs(client, node).then((sizes) => sizes.reduce((sum, entry) => sum + entry.bytes, 0n)).catch(() => null);
  return {
    replicas: partitions.filter((partition) => partition.replicas.includes(node)).length,
    leaders: partitions.filter((partition) => partition.leader === node).length,
    reassigning: ongoing.length,
    bytes,
  };
}

async function watchDrain(client: KafkaClient, io: CliIo, node: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  const first = await drainProgress(client, node);
  for (;;) {
    const progress = await drainProgress(client, node);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const moved = Math.max(0, first.replicas - progress.replicas);
    await io.write(`${seconds}s\tbroker ${node}: ${progress.replicas} replicas left (${moved} moved), ${progress.leaders} leaderships, ${progress.reassigning} reassignments in progress, ${progress.bytes === null ? "?" : progress.bytes} bytes on it\n`);
    if (progress.replicas === 0 && progress.leaders === 0) {
      await io.write(`broker ${node} is drained after ${seconds}s: it can be stopped\n`);
      return ExitCode.ok;
    }
    if (Date.now() - started > timeoutMs) {
      io.error(`runnel: broker ${node} still holds ${progress.replicas} replicas after ${seconds}s (the drain goes on; run again to watch)`);
      return ExitCode.failed;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

const decommission: Command = {
  name: "cluster decommission",
  summary: "Drain a broker: move its replicas and leaderships to the others, then it can be stopped.",
  positionals: "NODE",
  flags: [
    { name: "no-wait", kind: "bool", description: "return once the drain has started" },
    { name: "cancel", kind: "bool", description: "stop draining the broker (moves already done stay)" },
    { name: "wait-ms", kind: "int", value: "MS", description: "give up watching after this long (default 600000)" },
    ...connectionFlags, helpFlag,
  ],
  run: (flags, io) => withClient(flags, io, async (client) => {
    const [text] = requirePositionals(flags, 1, "NODE (the broker id)");
    if (!/^\d+$/.test(text!)) throw new UsageError(`"${text}" is not a broker id`);
    const node = Number(text);
    if (flags.bool("cancel")) {
      await setDecommissioning(client, node, false);
      await io.write(`broker ${node} is no longer being decommissioned\n`);
      return ExitCode.ok;
    }
    await setDecommissioning(client, node, true);
    await io.write(`decommissioning broker ${node}\n`);
    if (flags.bool("no-wait")) return ExitCode.ok;
    return watchDrain(client, io, node, flags.int("wait-ms", 600_000));
  }),
};

const reassignments: Command = {
  name: "cluster reassignments",
  summary: "List the partition reassignments in progress (replicas being added and removed).",
  flags: [{ name: "json", kind: "bool", description: "print JSON" }, ...connectionFlags, helpFlag],
  run: (flags, io) => withClient(flags, io, async (client) => {
    const ongoing = await listPartitionReassignments(client);
    if (flags.bool("json")) {
      await printJson(io, ongoing);
      return ExitCode.ok;
    }
    await printTable(io, ["TOPIC", "PARTITION", "REPLICAS", "ADDING", "REMOVING"], ongoing.map((entry) => [
      entry.topic, entry.partition, entry.replicas.join(","), entry.addingReplicas.join(","), entry.removingReplicas.join(","),
    ]));
    return ExitCode.ok;
  }),
};

export const clusterMoveCommands: readonly Command[] = [decommission, reassignments];
