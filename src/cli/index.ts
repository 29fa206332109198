// `runnel <command>`: the dispatch of the single binary's commands. `runnel start` (and `runnel`
// with no command, or with flags only: what `bun run start` has always done) starts a broker
// through the `start` hook main.ts passes in (the node sits above this layer); every other
// command is a Kafka client (src/client/) and works against any Kafka-compatible cluster.
//
// Exit codes: 0 done, 1 the operation failed, 2 bad command line (see command.ts).

import { ConnectionError, DeadlineError } from "../client/errors.ts";
import { KafkaError } from "../protocol/errors.ts";
import { isLogLevel, setLogFormat, setLogLevel } from "../util/logger.ts";
import { USAGE as START_USAGE } from "./args.ts";
import { type Command, ExitCode, NotFoundError } from "./command.ts";
import { aclCommands } from "./commands/acls.ts";
import { benchCommand } from "./commands/bench.ts";
import { clusterCommand } from "./commands/cluster.ts";
import { clusterMoveCommands } from "./commands/cluster-moves.ts";
import { clusterVoterCommands } from "./commands/cluster-voters.ts";
import { consumeCommand } from "./commands/consume.ts";
import { groupCommands } from "./commands/groups.ts";
import { produceCommand } from "./commands/produce.ts";
import { topicCommands } from "./commands/topics.ts";
import { userCommands } from "./commands/users.ts";
import { versionCommand } from "./commands/version.ts";
import { parseFlags, UsageError, usageOf } from "./flags.ts";
import { type CliIo, ProcessIo } from "./io.ts";

export interface CliHooks {
  /** Runs a broker; resolves with an exit code, or -1 while it keeps running. */
  start(argv: string[]): Promise<number>;
}

export const commands: readonly Command[] = [
  ...topicCommands, ...groupCommands, produceCommand, consumeCommand, clusterCommand, ...clusterMoveCommands, ...clusterVoterCommands, ...userCommands, ...aclCommands, benchCommand, versionCommand,
];

export function globalUsage(): string {
  const rows: [string, string][] = [["start", "Start a broker (the default when no command is given)."]];
  for (const command of commands) rows.push([command.name, command.summary]);
  const width = Math.max(...rows.map(([name]) => name.length));
  return [
    "usage: runnel <command> [flags]      (runnel <command> --help for its flags)",
    "",
    "commands:",
    ...rows.map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`),
    "",
    "Client commands reach a cluster with --bootstrap host:port (default $RUNNEL_BOOTSTRAP or 127.0.0.1:9092).",
    "Exit codes: 0 done, 1 the operation failed, 2 bad command line.",
  ].join("\n");
}

/** Splits `--log-level X` / `--log-format Y` off a start command line and applies them. */
export function applyLogFlags(argv: readonly string[]): string[] {
  const rest: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    const match = /^--log-(level|format)(?:=(.*))?$/.exec(arg);
    if (!match) {
      rest.push(arg);
      continue;
    }
    const value = match[2] ?? argv[++index];
    if (match[1] === "level") {
      if (value === undefined || !isLogLevel(value)) throw new UsageError(`--log-level: "${value}" is not one of silent, error, warn, info, debug`);
      setLogLevel(value);
    } else {
      if (value !== "text" && value !== "json") throw new UsageError(`--log-format: "${value}" is not text or json`);
      setLogFormat(value);
    }
  }
  return rest;
}

function findCommand(argv: readonly string[]): { command: Command; rest: string[] } | null {
  const two = `${argv[0]} ${argv[1]}`;
  const found = commands.find((command) => command.name === two) ?? commands.find((command) => command.name === argv[0]);
  if (!found) return null;
  return { command: found, rest: argv.slice(found.name.split(" ").length) };
}

function groupUsage(word: string): string | null {
  const members = commands.filter((command) => command.name.startsWith(`${word} `));
  if (members.length === 0) return null;
  return [`usage: runnel ${word} <${members.map((command) => command.name.split(" ")[1]).join("|")}> [flags]`, "", ...members.map((command) => `  ${command.name.padEnd(22)}  ${command.summary}`)].join("\n");
}

async function runCommand(command: Command, argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const flags = parseFlags(argv, command.flags);
    if (flags.bool("help")) {
      await io.write(`${usageOf(command)}\n`);
      return ExitCode.ok;
    }
    return await command.run(flags, io);
  } catch (error) {
    return report(error, command.name, io);
  } finally {
    await io.flush();
  }
}

function report(error: unknown, name: string, io: CliIo): number {
  if (error instanceof UsageError) {
    io.error(`runnel ${name}: ${error.message}`);
    return ExitCode.usage;
  }
  if (error instanceof NotFoundError || error instanceof KafkaError || error instanceof ConnectionError || error instanceof DeadlineError) {
    io.error(`runnel ${name}: ${error.message}`);
    return ExitCode.failed;
  }
  io.error(`runnel ${name}: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return ExitCode.failed;
}

/** Runs `runnel argv…`; resolves with the exit code (-1: a broker keeps running). */
export async function runCli(argv: readonly string[], hooks: CliHooks, io: CliIo = new ProcessIo()): Promise<number> {
  try {
    return await dispatch(argv, hooks, io);
  } finally {
    await io.flush();
  }
}

async function dispatch(argv: readonly string[], hooks: CliHooks, io: CliIo): Promise<number> {
  const first = argv[0];
  if (first === undefined || first === "start" || (first.startsWith("-") && !["-h", "--help", "--version"].includes(first))) {
    if (argv.includes("-h") || argv.includes("--help")) {
      await io.write(`${START_USAGE}\n`);
      return ExitCode.ok;
    }
    try {
      return await hooks.start(applyLogFlags(argv));
    } catch (error) {
      if (error instanceof UsageError) return report(error, "start", io);
      throw error;
    }
  }
  if (first === "help" || first === "-h" || first === "--help") {
    await io.write(`${globalUsage()}\n`);
    return ExitCode.ok;
  }
  if (first === "--version") return runCommand(versionCommand, [], io);
  const found = findCommand(argv);
  if (found) return runCommand(found.command, found.rest, io);
  const usage = groupUsage(first);
  io.error(usage ?? `runnel: unknown command "${first}"\n\n${globalUsage()}`);
  return ExitCode.usage;
}
