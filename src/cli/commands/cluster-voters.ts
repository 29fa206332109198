// `runnel cluster add-controller NODE` and `runnel cluster remove-controller NODE` (Kafka's
// kafka-metadata-quorum names; `add-voter` / `remove-voter` are aliases): change the metadata
// quorum's voters one at a time (KIP-853's AddRaftVoter / RemoveRaftVoter, docs/elastic.md). The
// node to add must be running as an observer (started with controller.quorum.bootstrap.servers);
// the command returns once the new voter set is committed and prints the quorum's voters and
// observers then. A removed voter keeps serving as a broker (decommission it to move its replicas)
// and can be stopped.

import { addRaftVoter, describeQuorum, removeRaftVoter } from "../../client/index.ts";
import type { KafkaClient } from "../../client/client.ts";
import { type Command, ExitCode, requirePositionals, withClient } from "../command.ts";
import { connectionFlags, helpFlag, type ParsedFlags, UsageError } from "../flags.ts";
import type { CliIo } from "../io.ts";

function nodeId(flags: ParsedFlags): number {
  const [text] = requirePositionals(flags, 1, "NODE (the node id)");
  if (!/^\d+$/.test(text!)) throw new UsageError(`"${text}" is not a node id`);
  return Number(text);
}

/** "host:port" of --controller-listener, when given. */
function endpointFlag(flags: ParsedFlags): { host: string; port: number } | undefined {
  const text = flags.string("controller-listener");
  if (text === undefined) return undefined;
  const match = /^(.+):(\d{1,5})$/.exec(text);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) throw new UsageError(`--controller-listener "${text}" is not host:port`);
  return { host: match[1]!, port: Number(match[2]) };
}

async function printVoters(client: KafkaClient, io: CliIo, started: number): Promise<void> {
  const quorum = await describeQuorum(client);
  const ids = (replicas: { replicaId: number }[]) => replicas.map((replica) => replica.replicaId).sort((a, b) => a - b).join(",");
  await io.write(`done in ${((Date.now() - started) / 1000).toFixed(1)}s: leader ${quorum.leaderId} (epoch ${quorum.leaderEpoch}), voters [${ids(quorum.voters)}], observers [${ids(quorum.observers)}]\n`);
}

function voterCommand(name: string, adding: boolean, aliasOf?: string): Command {
  return {
    name: `cluster ${name}`,
    summary: aliasOf !== undefined ? `The same as \`runnel cluster ${aliasOf}\`.` : adding
      ? "Make a node (running as an observer, caught up) a voter of the metadata quorum (KIP-853 AddRaftVoter)."
      : "Remove a voter from the metadata quorum (KIP-853 RemoveRaftVoter); it stays a broker and can then be stopped.",
    positionals: "NODE",
    flags: [
      ...(adding ? [{ name: "controller-listener", kind: "string" as const, value: "HOST:PORT", description: "the node's CONTROLLER listener (default: the one it registered)" }] : []),
      ...connectionFlags, helpFlag,
    ],
    run: (flags, io) => withClient(flags, io, async (client) => {
      const node = nodeId(flags);
      const timeoutMs = flags.int("timeout-ms", 30_000);
      const started = Date.now();
      if (adding) await addRaftVoter(client, node, endpointFlag(flags), timeoutMs);
      else await removeRaftVoter(client, node, timeoutMs);
      await io.write(`${adding ? "added" : "removed"} voter ${node}\n`);
      await printVoters(client, io, started);
      return ExitCode.ok;
    }),
  };
}

export const clusterVoterCommands: readonly Command[] = [
  voterCommand("add-controller", true), voterCommand("remove-controller", false),
  voterCommand("add-voter", true, "add-controller"), voterCommand("remove-voter", false, "remove-controller"),
];
