// Command-line flags of the `runnel` subcommands: declared once per command (name, kind, help
// text), parsed into typed values, and printed as the command's --help. A flag error is a
// UsageError (exit code 2), so scripts can tell a typo from a failed operation.
//
//   --name value · --name=value · -n value · a bool flag alone (--exit) · a list flag repeated
//   (--config a=1 --config b=2) · "--" ends the flags.

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export type FlagKind = "string" | "int" | "bool" | "list";

export interface FlagSpec {
  /** Without dashes: "partitions" is --partitions. */
  readonly name: string;
  readonly kind: FlagKind;
  /** One letter: "b" is -b. */
  readonly short?: string;
  /** The value's placeholder in --help ("N", "host:port"). */
  readonly value?: string;
  readonly description: string;
}

export interface CommandSpec {
  /** "topics create" */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Positional arguments as shown in the usage line ("TOPIC…"). */
  readonly positionals?: string;
  readonly flags: readonly FlagSpec[];
  /** Paragraphs after the flags (examples, exit codes). */
  readonly notes?: string;
}

/** Flags every client command takes. */
export const connectionFlags: readonly FlagSpec[] = [
  { name: "bootstrap", short: "b", kind: "string", value: "host:port[,…]", description: "brokers to bootstrap from (default $RUNNEL_BOOTSTRAP or 127.0.0.1:9092)" },
  { name: "client-id", kind: "string", value: "ID", description: "client id sent to the broker (default runnel-cli)" },
  { name: "timeout-ms", kind: "int", value: "MS", description: "give up on an operation after this long (default 30000)" },
  { name: "command-config", kind: "string", value: "FILE", description: "client properties: security.protocol, sasl.mechanism, sasl.username/password, ssl.truststore.location… ($RUNNEL_COMMAND_CONFIG)" },
];

export const helpFlag: FlagSpec = { name: "help", short: "h", kind: "bool", description: "show this help" };

export class ParsedFlags {
  constructor(private readonly values: Map<string, string | string[] | boolean>, readonly positionals: string[]) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  string(name: string): string | undefined;
  string(name: string, fallback: string): string;
  string(name: string, fallback?: string): string | undefined {
    const value = this.values.get(name);
    return typeof value === "string" ? value : fallback;
  }

  int(name: string): number | undefined;
  int(name: string, fallback: number): number;
  int(name: string, fallback?: number): number | undefined {
    const text = this.string(name);
    if (text === undefined) return fallback;
    if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`--${name}: "${text}" is not an integer`);
    return Number(text);
  }

  bool(name: string): boolean {
    return this.values.get(name) === true;
  }

  list(name: string): string[] {
    const value = this.values.get(name);
    return Array.isArray(value) ? value : [];
  }
}

export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const byShort = new Map(specs.filter((spec) => spec.short).map((spec) => [spec.short!, spec]));
  const values = new Map<string, string | string[] | boolean>();
  const positionals: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === "--") {
      positionals.push(...argv.slice(index + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const long = arg.startsWith("--");
    const equals = arg.indexOf("=");
    const key = long ? arg.slice(2, equals > 0 ? equals : undefined) : arg.slice(1);
    const spec = long ? byName.get(key) : byShort.get(key);
    if (!spec) throw new UsageError(`unknown flag ${long ? `--${key}` : arg} (see --help)`);
    if (spec.kind === "bool") {
      if (long && equals > 0) throw new UsageError(`--${spec.name} takes no value`);
      values.set(spec.name, true);
      continue;
    }
    let value: string | undefined = long && equals > 0 ? arg.slice(equals + 1) : argv[++index];
    if (value === undefined) throw new UsageError(`--${spec.name} needs a value${spec.value ? ` (${spec.value})` : ""}`);
    if (spec.kind === "list") values.set(spec.name, [...((values.get(spec.name) as string[] | undefined) ?? []), value]);
    else values.set(spec.name, value);
    value = undefined;
  }
  return new ParsedFlags(values, positionals);
}

/** The --help text of a command. */
export function usageOf(command: CommandSpec): string {
  const lines = [`usage: runnel ${command.name}${command.positionals ? ` ${command.positionals}` : ""} [flags]`, "", command.summary, "", "flags:"];
  const labels = command.flags.map((spec) => `${spec.short ? `-${spec.short}, ` : "    "}--${spec.name}${spec.value ? ` ${spec.value}` : ""}`);
  const width = Math.max(...labels.map((label) => label.length));
  command.flags.forEach((spec, index) => {
    lines.push(`  ${labels[index]!.padEnd(width)}  ${spec.description}${spec.kind === "list" ? " (repeatable)" : ""}`);
  });
  if (command.notes) lines.push("", command.notes.trim());
  return lines.join("\n");
}
