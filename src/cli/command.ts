// What a `runnel` subcommand is (its flags, help and run function) and what they share:
// the Kafka client built from --bootstrap/--client-id/--timeout-ms, and the exit codes.
//
// Exit codes: 0 done; 1 the operation failed (a broker answered with an error, a topic or group
// did not exist, a broker could not be reached, records were not acknowledged); 2 the command
// line was wrong (unknown flag, missing argument). Scripts can trust them.

import { readFileSync } from "node:fs";
import { KafkaClient } from "../client/client.ts";
import { clientSecurityFromProperties, parseProperties, type ClientSecurity } from "../client/security.ts";
import type { TopicInfo } from "../client/metadata.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { type CommandSpec, ParsedFlags, UsageError } from "./flags.ts";
import type { CliIo } from "./io.ts";

export const ExitCode = { ok: 0, failed: 1, usage: 2 } as const;

export interface Command extends CommandSpec {
  run(flags: ParsedFlags, io: CliIo): Promise<number>;
}

export const defaultBootstrap = "127.0.0.1:9092";

export function clientFrom(flags: ParsedFlags, io: CliIo): KafkaClient {
  const bootstrap = flags.string("bootstrap") ?? io.env.RUNNEL_BOOTSTRAP ?? defaultBootstrap;
  const timeoutMs = flags.int("timeout-ms", 30_000);
  if (timeoutMs <= 0) throw new UsageError("--timeout-ms must be positive");
  const security = securityFrom(flags.string("command-config") ?? io.env.RUNNEL_COMMAND_CONFIG);
  try {
    return new KafkaClient({
      security,
      bootstrap,
      clientId: flags.string("client-id", "runnel-cli"),
      apiTimeoutMs: timeoutMs,
      requestTimeoutMs: Math.min(timeoutMs, 30_000),
      connectTimeoutMs: Math.min(timeoutMs, 10_000),
    });
  } catch (error) {
    throw new UsageError(`--bootstrap: ${(error as Error).message}`);
  }
}

/** TLS and SASL from a client properties file (Kafka tools' --command-config). */
function securityFrom(path: string | undefined): ClientSecurity {
  if (path === undefined) return {};
  try {
    return clientSecurityFromProperties(parseProperties(readFileSync(path, "utf8")));
  } catch (error) {
    throw new UsageError(`--command-config ${path}: ${(error as Error).message}`);
  }
}

/** Runs `action` with a client, closing it afterwards whatever happens. */
export async function withClient<T>(flags: ParsedFlags, io: CliIo, action: (client: KafkaClient) => Promise<T>): Promise<T> {
  const client = clientFrom(flags, io);
  try {
    return await action(client);
  } finally {
    await client.close();
  }
}

/** The positional arguments, at least `min` of them. */
export function requirePositionals(flags: ParsedFlags, min: number, what: string): string[] {
  if (flags.positionals.length < min) throw new UsageError(`missing ${what}`);
  return flags.positionals;
}

/** Parses key=value pairs (--config). */
export function parsePairs(pairs: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf("=");
    if (equals <= 0) throw new UsageError(`--${flag} takes key=value, not "${pair}"`);
    out[pair.slice(0, equals).trim()] = pair.slice(equals + 1);
  }
  return out;
}

/** A topic, partition or group the command names does not exist (exit code 1, not retried). */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotFoundError";
  }
}

/**
 * The metadata of a topic that must exist (created on the way when `allowAutoTopicCreation` and
 * the broker allows it). A missing topic fails at once; a leader being elected is waited for.
 */
export function existingTopic(client: KafkaClient, topic: string, options: { allowAutoTopicCreation?: boolean } = {}): Promise<TopicInfo> {
  return client.retry(`metadata of ${topic}`, async () => {
    try {
      return await client.topicMetadata(topic, { allowAutoTopicCreation: options.allowAutoTopicCreation, refresh: true });
    } catch (error) {
      if (error instanceof KafkaError && error.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw new NotFoundError(`topic ${topic} does not exist`);
      throw error;
    }
  });
}
