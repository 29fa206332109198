// Command-line arguments of `runnel start` (also `bun run start`). Shorthands become config keys:
//   --node-id N      → node.id
//   --data-dir DIR   → log.dirs
//   --kafka-port N   → the PLAINTEXT entry of listeners
//   --http-port N    → the HTTP entry of listeners
//   --internal-port N → the CONTROLLER (inter-node) entry of listeners
//   --host H         → the host of both entries
//   --set key=value  → any broker key (repeatable); --config FILE → a server.properties file

import { ConfigError, formatListener, parseListener, type Listener } from "../config/index.ts";
import { brokerSchema } from "../config/schema.ts";

export interface StartArgs {
  configFile?: string;
  overrides: [string, string][];
  help: boolean;
}

export const USAGE = `usage: runnel [start] [options]
  --node-id N         this node's id (node.id, default 1)
  --data-dir DIR      data directory (log.dirs, default ./data)
  --kafka-port N      Kafka protocol port (default 9092; 0 picks a free port)
  --http-port N       HTTP API port (default 8080; 0 picks a free port)
  --internal-port N   inter-node (CONTROLLER) port of a broker that is not a voter (joins with
                      --set controller.quorum.bootstrap.servers=host:port,...)
  --host H            address to bind (default 127.0.0.1)
  --config FILE       a server.properties file
  --set key=value     any broker configuration key, Kafka's names (repeatable)
  --log-level L       error, warn, info (default), debug ($RUNNEL_LOG_LEVEL)
  --log-format F      text (default) or json: one JSON object per line ($RUNNEL_LOG_FORMAT)
  -h, --help          this text
Environment: RUNNEL_<KEY> sets a key (RUNNEL_LOG_SEGMENT_BYTES → log.segment.bytes).
Precedence, later wins: defaults < --config file < RUNNEL_* environment < --set and shorthands.
SIGTERM or SIGINT shuts the broker down cleanly (a second one exits at once).`;

function requireValue(argv: string[], index: number, flag: string): string {
  const value = argv[index + 1];
  if (value === undefined || value.startsWith("--")) throw new ConfigError(flag, "needs a value");
  return value;
}

function parsePort(flag: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new ConfigError(flag, `"${text}" is not a port number`);
  return Number(text);
}

export function parseStartArgs(argv: string[]): StartArgs {
  const overrides: [string, string][] = [];
  let configFile: string | undefined;
  let host: string | undefined;
  let kafkaPort: number | undefined;
  let httpPort: number | undefined;
  let internalPort: number | undefined;
  let help = false;
  let index = argv[0] === "start" ? 1 : 0;
  for (; index < argv.length; index++) {
    const arg = argv[index]!;
    const [flag, inline] = arg.includes("=") && arg.startsWith("--") && !arg.startsWith("--set=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = () => inline ?? requireValue(argv, index++, flag);
    switch (flag) {
      case "-h": case "--help": help = true; break;
      case "--node-id": {
        const text = value();
        if (!/^\d+$/.test(text)) throw new ConfigError(flag, `"${text}" is not a node id`);
        overrides.push(["node.id", text]);
        break;
      }
      case "--data-dir": overrides.push(["log.dirs", value()]); break;
      case "--kafka-port": kafkaPort = parsePort(flag, value()); break;
      case "--http-port": httpPort = parsePort(flag, value()); break;
      case "--internal-port": internalPort = parsePort(flag, value()); break;
      case "--host": host = value(); break;
      case "--config": configFile = value(); break;
      case "--set": case "--set=": {
        const pair = arg.startsWith("--set=") ? arg.slice("--set=".length) : value();
        const equals = pair.indexOf("=");
        if (equals <= 0) throw new ConfigError(pair, "--set takes key=value");
        overrides.push([pair.slice(0, equals).trim(), pair.slice(equals + 1)]);
        break;
      }
      default: throw new ConfigError(arg, `unknown argument (see --help)`);
    }
  }
  if (host !== undefined || kafkaPort !== undefined || httpPort !== undefined || internalPort !== undefined) {
    overrides.push(["listeners", shorthandListeners(overrides, host, kafkaPort, httpPort, internalPort)]);
  }
  return { configFile, overrides, help };
}

/** Apply --host/--kafka-port/--http-port to the listeners entries (from --set or defaults). */
function shorthandListeners(
  overrides: [string, string][],
  host: string | undefined,
  kafkaPort: number | undefined,
  httpPort: number | undefined,
  internalPort?: number,
): string {
  const explicit = overrides.findLast(([key]) => key === "listeners")?.[1];
  const entries: Listener[] = explicit !== undefined
    ? explicit.split(",").filter((text) => text.trim()).map((text) => parseListener("listeners", text))
    : brokerSchema.listeners.default.map((text) => parseListener("listeners", text));
  const set = (name: string, port: number | undefined) => {
    let entry = entries.find((candidate) => candidate.name === name);
    if (!entry) entries.push((entry = { name, host: host ?? "127.0.0.1", port: port ?? 0 }));
    if (port !== undefined) entry.port = port;
  };
  set("PLAINTEXT", kafkaPort);
  set("HTTP", httpPort);
  if (internalPort !== undefined) set("CONTROLLER", internalPort);
  if (host !== undefined) for (const entry of entries) entry.host = host;
  return entries.map(formatListener).join(",");
}
