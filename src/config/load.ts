// Loading the broker configuration. Precedence, later wins:
//   schema defaults < config file (Java properties) < RUNNEL_* environment < --set key=value
// Unknown keys and bad values are refused with a ConfigError naming the key.
//
// Environment names follow the Kafka container convention: strip RUNNEL_, lower-case,
// "___" → "-", "__" → "_", "_" → ".". RUNNEL_LOG_SEGMENT_BYTES=1000 sets log.segment.bytes.
// A few RUNNEL_* variables are runtime switches, not config keys (see RUNTIME_ENV).

import { readFileSync } from "node:fs";
import { ConfigError, formatValue, parseValue } from "./parse.ts";
import {
  brokerSchema,
  ConfigSource,
  topicSchema,
  type BrokerConfig,
  type BrokerConfigKey,
  type ConfigDef,
  type ConfigSourceValue,
  type TopicConfig,
  type TopicConfigKey,
} from "./schema.ts";
import { parseConnectionOverrides } from "./connection-limits.ts";
import { ignoredBrokerKeys, ignoredTopicKeys, warnIgnoredKey } from "./deprecated.ts";

/** RUNNEL_* variables that switch runtime behaviour and are not configuration keys. */
export const RUNTIME_ENV = new Set(["RUNNEL_NATIVE", "RUNNEL_NATIVE_LIBRARY", "RUNNEL_LIBC", "RUNNEL_LOG_LEVEL", "RUNNEL_LOG_FORMAT", "RUNNEL_BOOTSTRAP", "RUNNEL_TEST_CLIENTS", "RUNNEL_BIN"]);

export interface LoadedBrokerConfig {
  values: BrokerConfig;
  /** Keys set explicitly (file, env, --set), with their original text. */
  explicit: Map<BrokerConfigKey, string>;
}

export function isBrokerKey(key: string): key is BrokerConfigKey {
  return Object.hasOwn(brokerSchema, key);
}

export function isTopicKey(key: string): key is TopicConfigKey {
  return Object.hasOwn(topicSchema, key);
}

/** Parse a Java-properties text: key=value or key: value lines, # and ! comments. */
export function parseProperties(text: string, origin: string): [string, string][] {
  const entries: [string, string][] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith("!")) continue;
    const match = /^([^=:\s]+)\s*[=:]\s*(.*)$/.exec(line);
    if (!match) throw new ConfigError(line, `${origin}:${index + 1}: expected key=value`);
    entries.push([match[1]!, match[2]!]);
  }
  return entries;
}

export function envKeyToConfigKey(name: string): string {
  return name
    .slice("RUNNEL_".length)
    .toLowerCase()
    .replaceAll("___", "\u0001")
    .replaceAll("__", "\u0002")
    .replaceAll("_", ".")
    .replaceAll("\u0001", "-")
    .replaceAll("\u0002", "_");
}

export interface ConfigSources {
  file?: string;
  env?: Record<string, string | undefined>;
  overrides?: [string, string][];
}

export function loadBrokerConfig(sources: ConfigSources = {}): LoadedBrokerConfig {
  const layered = new Map<string, string>();
  if (sources.file) {
    const text = readFileSync(sources.file, "utf8");
    for (const [key, value] of parseProperties(text, sources.file)) layered.set(key, value);
  }
  for (const [name, value] of Object.entries(sources.env ?? {})) {
    if (!name.startsWith("RUNNEL_") || RUNTIME_ENV.has(name) || value === undefined) continue;
    layered.set(envKeyToConfigKey(name), value);
  }
  for (const [key, value] of sources.overrides ?? []) layered.set(key, value);

  const values = {} as Record<string, unknown>;
  for (const [key, def] of Object.entries(brokerSchema) as [string, ConfigDef<unknown>][]) {
    values[key] = def.default;
  }
  const explicit = new Map<BrokerConfigKey, string>();
  for (const [key, text] of layered) {
    if (ignoredBrokerKeys.has(key)) {
      warnIgnoredKey(key, text);
      continue;
    }
    if (!isBrokerKey(key)) {
      const hint = isTopicKey(key) ? " (a topic-level key; set it per topic or use its log.* broker key)" : "";
      throw new ConfigError(key, `unknown configuration key${hint}`);
    }
    values[key] = parseValue(key, brokerSchema[key], text);
    explicit.set(key, text);
  }
  const config = values as BrokerConfig;
  applyAliases(config);
  return { values: config, explicit };
}

function applyAliases(config: BrokerConfig): void {
  if (config["broker.id"] >= 0) config["node.id"] = config["broker.id"];
  if (config["log.dir"] !== null) config["log.dirs"] = [config["log.dir"]];
  if (config["log.dirs"].length !== 1) {
    throw new ConfigError("log.dirs", "exactly one data directory is supported");
  }
  parseConnectionOverrides(config["max.connections.per.ip.overrides"]);
}

/** Data directory of this broker. */
export function dataDir(config: BrokerConfig): string {
  return config["log.dirs"][0]!;
}

const HOUR_MS = 60 * 60 * 1000;

/** The broker-level default of each topic key (Kafka's broker → topic mapping). */
export function topicDefaults(config: BrokerConfig): TopicConfig {
  const defaults = {} as Record<string, unknown>;
  for (const [key, def] of Object.entries(topicSchema) as [string, ConfigDef<unknown>][]) {
    defaults[key] = def.default;
  }
  for (const [key, def] of Object.entries(brokerSchema) as [BrokerConfigKey, ConfigDef<unknown>][]) {
    if (def.topicKey) defaults[def.topicKey] = config[key];
  }
  const topic = defaults as TopicConfig;
  topic["segment.ms"] = config["log.roll.ms"] ?? config["log.roll.hours"] * HOUR_MS;
  topic["retention.ms"] = config["log.retention.ms"]
    ?? (config["log.retention.minutes"] !== null ? config["log.retention.minutes"] * 60000 : null)
    ?? (config["log.retention.hours"] < 0 ? -1 : config["log.retention.hours"] * HOUR_MS);
  if (config["log.flush.interval.ms"] !== null) topic["flush.ms"] = config["log.flush.interval.ms"];
  return topic;
}

/** The broker keys that feed a topic key (for DescribeConfigs synonyms and sources). */
export function brokerKeysFor(topicKey: TopicConfigKey): BrokerConfigKey[] {
  switch (topicKey) {
    case "segment.ms": return ["log.roll.ms", "log.roll.hours"];
    case "retention.ms": return ["log.retention.ms", "log.retention.minutes", "log.retention.hours"];
    case "flush.ms": return ["log.flush.interval.ms"];
    default:
      return (Object.entries(brokerSchema) as [BrokerConfigKey, ConfigDef<unknown>][])
        .filter(([, def]) => def.topicKey === topicKey)
        .map(([key]) => key);
  }
}

/**
 * Validate topic-level overrides (CreateTopics configs, AlterConfigs); returns parsed values.
 * Deprecated keys Kafka 3.x ignores (config/deprecated.ts) are accepted, warned about and left out.
 */
export function parseTopicOverrides(overrides: Record<string, string | null>): Partial<TopicConfig> {
  const parsed = {} as Record<string, unknown>;
  for (const [key, text] of Object.entries(overrides)) {
    if (ignoredTopicKeys.has(key)) {
      warnIgnoredKey(key, text);
      continue;
    }
    if (!isTopicKey(key)) throw new ConfigError(key, "unknown topic configuration key");
    if (text === null) continue;
    parsed[key] = parseValue(key, topicSchema[key], text);
  }
  return parsed as Partial<TopicConfig>;
}

export interface ResolvedTopicConfig {
  values: TopicConfig;
  source: Record<TopicConfigKey, ConfigSourceValue>;
}

/** A topic's effective config: its overrides over the broker's defaults, with sources. */
export function resolveTopicConfig(
  broker: LoadedBrokerConfig,
  overrides: Record<string, string>,
): ResolvedTopicConfig {
  const values = { ...topicDefaults(broker.values), ...parseTopicOverrides(overrides) } as TopicConfig;
  const source = {} as Record<TopicConfigKey, ConfigSourceValue>;
  for (const key of Object.keys(topicSchema) as TopicConfigKey[]) {
    if (Object.hasOwn(overrides, key)) source[key] = ConfigSource.DYNAMIC_TOPIC_CONFIG;
    else if (brokerKeysFor(key).some((brokerKey) => broker.explicit.has(brokerKey))) {
      source[key] = ConfigSource.STATIC_BROKER_CONFIG;
    } else source[key] = ConfigSource.DEFAULT_CONFIG;
  }
  return { values, source };
}

export function formatTopicValue(key: TopicConfigKey, value: unknown): string | null {
  return formatValue(topicSchema[key], value);
}

export function formatBrokerValue(key: BrokerConfigKey, value: unknown): string | null {
  return formatValue(brokerSchema[key], value);
}
