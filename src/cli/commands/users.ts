// `runnel users list|set|delete`: SASL/SCRAM users through DescribeUserScramCredentials and
// AlterUserScramCredentials (KIP-554), as `kafka-configs.sh --entity-type users --alter
// --add-config 'SCRAM-SHA-256=[password=…]'` does. The password is salted and hashed here: it
// never reaches the broker. Give it with --password, or on stdin with --password-stdin.

import { alterScramUsers, describeScramUsers } from "../../client/index.ts";
import { ErrorCode, errorName } from "../../protocol/errors.ts";
import { type Command, ExitCode, requirePositionals, withClient } from "../command.ts";
import { connectionFlags, helpFlag, UsageError, type FlagSpec, type ParsedFlags } from "../flags.ts";
import type { CliIo } from "../io.ts";
import { printJson, printTable } from "../output.ts";

const mechanismsFlag: FlagSpec = { name: "mechanism", short: "m", kind: "list", value: "MECH", description: "SCRAM-SHA-256 and/or SCRAM-SHA-512 (default both)" };

function mechanismsOf(flags: ParsedFlags): string[] {
  const given = flags.list("mechanism").map((mechanism) => mechanism.toUpperCase());
  for (const mechanism of given) if (mechanism !== "SCRAM-SHA-256" && mechanism !== "SCRAM-SHA-512") throw new UsageError(`--mechanism ${mechanism}: SCRAM-SHA-256 or SCRAM-SHA-512`);
  return given.length > 0 ? given : ["SCRAM-SHA-256", "SCRAM-SHA-512"];
}

async function firstLine(io: CliIo): Promise<string | null> {
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of io.stdin()) {
    text += decoder.decode(chunk, { stream: true });
    if (text.includes("\n") || text.length > 4096) break;
  }
  const line = text.split(/\r?\n/)[0] ?? "";
  return line === "" ? null : line;
}

async function report(io: CliIo, results: { user: string; errorCode: number; errorMessage: string | null }[], done: string): Promise<number> {
  let code: number = ExitCode.ok;
  for (const result of results) {
    if (result.errorCode === ErrorCode.NONE) await io.write(`${done} ${result.user}\n`);
    else {
      io.error(`runnel: user ${result.user}: ${errorName(result.errorCode)}${result.errorMessage ? `: ${result.errorMessage}` : ""}`);
      code = ExitCode.failed;
    }
  }
  return code;
}

const list: Command = {
  name: "users list",
  summary: "List SCRAM users and their mechanisms (DescribeUserScramCredentials).",
  positionals: "[USER…]",
  flags: [{ name: "json", kind: "bool", description: "print JSON instead of a table" }, ...connectionFlags, helpFlag],
  run: (flags, io) => withClient(flags, io, async (client) => {
    const users = await describeScramUsers(client, flags.positionals.length > 0 ? flags.positionals : null);
    if (flags.bool("json")) await printJson(io, users);
    else await printTable(io, ["USER", "MECHANISMS", "ERROR"], users.map((user) => [
      user.user, user.credentials.map((credential) => `${credential.mechanism}(${credential.iterations})`).join(","), user.errorCode === ErrorCode.NONE ? "" : errorName(user.errorCode),
    ]));
    return users.some((user) => user.errorCode !== ErrorCode.NONE) ? ExitCode.failed : ExitCode.ok;
  }),
};

const set: Command = {
  name: "users set",
  summary: "Create a SCRAM user or change its password (AlterUserScramCredentials).",
  positionals: "USER",
  flags: [
    { name: "password", short: "p", kind: "string", value: "PASSWORD", description: "the new password (visible to other local users in ps: prefer --password-stdin)" },
    { name: "password-stdin", kind: "bool", description: "read the password from the first line of stdin" },
    mechanismsFlag,
    { name: "iterations", kind: "int", value: "N", description: "PBKDF2 iterations, 4096..16384 (default 8192)" },
    ...connectionFlags, helpFlag,
  ],
  notes: "Example:\n  echo 's3cret' | runnel users set alice --password-stdin --command-config admin.properties",
  run: async (flags, io) => {
    const [user] = requirePositionals(flags, 1, "user name");
    let password = flags.string("password");
    if (flags.bool("password-stdin")) password = (await firstLine(io)) ?? undefined;
    if (!password) throw new UsageError("give the password with --password or --password-stdin");
    const iterations = flags.has("iterations") ? flags.int("iterations", 8192) : undefined;
    return withClient(flags, io, async (client) => {
      const results = await alterScramUsers(client, mechanismsOf(flags).map((mechanism) => ({ user: user!, mechanism, password, iterations })));
      return report(io, results, "set");
    });
  },
};

const remove: Command = {
  name: "users delete",
  summary: "Delete a SCRAM user's credentials (all mechanisms, or the ones given).",
  positionals: "USER",
  flags: [mechanismsFlag, ...connectionFlags, helpFlag],
  run: (flags, io) => withClient(flags, io, async (client) => {
    const [user] = requirePositionals(flags, 1, "user name");
    const existing = (await describeScramUsers(client, [user!]))[0];
    const present = new Set(existing?.credentials.map((credential) => credential.mechanism) ?? []);
    const mechanisms = flags.list("mechanism").length > 0 ? mechanismsOf(flags) : [...present];
    if (mechanisms.length === 0) {
      io.error(`runnel: user ${user} has no SCRAM credentials`);
      return ExitCode.failed;
    }
    return report(io, await alterScramUsers(client, mechanisms.map((mechanism) => ({ user: user!, mechanism }))), "deleted");
  }),
};

export const userCommands: readonly Command[] = [list, set, remove];
