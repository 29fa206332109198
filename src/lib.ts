// Runnel as a library: `import { startBroker } from "runnel"` starts a broker inside the calling
// process (tests of Kafka applications, with kafkajs, @platformatic/kafka or any librdkafka
// client) on an ephemeral port with a temporary data directory.
//
//   await using broker = await startBroker();          // broker.bootstrap = "127.0.0.1:PORT"
//   …point any Kafka client at broker.bootstrap…
//   // stop() (or the end of the `await using` block) closes it and removes the data directory
//
// Configuration comes only from `config` (Kafka's key names, as --set takes them), never from the
// process's RUNNEL_* environment, so a test runs the same everywhere. Logging is process-wide:
// startBroker lowers it to "warn" unless `logLevel` or RUNNEL_LOG_LEVEL says otherwise.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBrokerConfig } from "./config/index.ts";
import { startNode, type RunningNode } from "./node.ts";
import { isLogLevel, setLogLevel, type LogLevel } from "./util/logger.ts";

export interface StartBrokerOptions {
  /** Broker configuration keys with Kafka's names: { "num.partitions": 3, "log.retention.ms": 60000 }. */
  config?: Readonly<Record<string, string | number | boolean>>;
  /** Data directory to use and keep; default: a fresh temporary directory that stop() removes. */
  dataDir?: string;
  /** Kafka listener port; default 0 (any free port). */
  port?: number;
  /** Address to bind; default 127.0.0.1. */
  host?: string;
  /** Process-wide log level; default "warn" (or RUNNEL_LOG_LEVEL when set). */
  logLevel?: LogLevel;
}

export interface InProcessBroker {
  /** "host:port", what Kafka clients take as their bootstrap servers. */
  readonly bootstrap: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** Closes listeners, connections and files; removes a temporary data directory. Idempotent. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startBroker(options: StartBrokerOptions = {}): Promise<InProcessBroker> {
  const envLevel = process.env.RUNNEL_LOG_LEVEL ?? "";
  setLogLevel(options.logLevel ?? (isLogLevel(envLevel) ? envLevel : "warn"));
  const temporary = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "runnel-"));
  const host = options.host ?? "127.0.0.1";
  const overrides: [string, string][] = [
    ["log.dirs", dataDir],
    ["listeners", `PLAINTEXT://${host}:${options.port ?? 0}`],
    ...Object.entries(options.config ?? {}).map(([key, value]): [string, string] => [key, String(value)]),
  ];
  let node: RunningNode;
  try {
    node = await startNode(loadBrokerConfig({ overrides }));
  } catch (error) {
    if (temporary) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  // Resolve only when fully ready: a test's first group request must not meet a coordinator
  // still loading (a broker process answers COORDINATOR_NOT_AVAILABLE then, clients retry).
  await node.ready;
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= node.close().finally(() => {
      if (temporary) rmSync(dataDir, { recursive: true, force: true });
    });
    return stopping;
  };
  return {
    bootstrap: `${node.kafka.host}:${node.kafka.port}`,
    host: node.kafka.host,
    port: node.kafka.port,
    dataDir,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

export type { LogLevel } from "./util/logger.ts";
