// Config resources as the Kafka admin APIs see them (DescribeConfigs 32, AlterConfigs 33,
// IncrementalAlterConfigs 44): resource types, config sources and synonyms, the broker resource
// check, and how incremental operations turn into a topic's new set of overrides. Shared by those
// three handlers so that each stays thin; the config values themselves come from src/config/ and
// the topic overrides live in the metadata image.
//
// What Runnel serves:
//   TOPIC (2)   every key of the topic schema, with its effective value, its source
//               (DYNAMIC_TOPIC_CONFIG for an override, STATIC_BROKER_CONFIG when a broker key set
//               in server.properties feeds it, DEFAULT_CONFIG otherwise) and Kafka's synonym list
//               (the override, then each feeding broker key: static if set, default if it has one).
//               Alterable: overrides replace (AlterConfigs) or are edited (Incremental…); applied
//               live to every partition log and written to the metadata log by the controller.
//   BROKER (4)  every broker key, read-only: Runnel has no dynamic broker configuration, so any
//               change is refused with INVALID_REQUEST "Cannot update these configs dynamically",
//               as Kafka refuses static keys. Resource name: this node's id, or "" (the cluster
//               default, which has no dynamic entries: an empty list).
//   BROKER_LOGGER (8) and others: INVALID_REQUEST.

import {
  brokerKeysFor,
  brokerSchema,
  ConfigError,
  ConfigSource,
  formatBrokerValue,
  formatTopicValue,
  ignoredTopicKeys,
  isTopicKey,
  warnIgnoredKey,
  topicSchema,
  type BrokerConfigKey,
  type ConfigDef,
  type ConfigKind,
  type ConfigSourceValue,
  type TopicConfigKey,
} from "../config/index.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { AssertionError } from "../util/assert.ts";
import type { BrokerContext } from "./context.ts";

export const ResourceType = { UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, BROKER: 4, CLUSTER: 5, BROKER_LOGGER: 8 } as const;

/** Kafka's DescribeConfigs configType (ConfigDef.Type as sent from v3). */
const configTypeOf: Record<ConfigKind, number> = { boolean: 1, string: 2, int: 3, long: 5, double: 6, list: 7 };

/** IncrementalAlterConfigs operations. */
export const ConfigOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

export interface ConfigSynonym {
  name: string;
  value: string | null;
  source: number;
}

export interface DescribedConfig {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: ConfigSynonym[];
  configType: number;
  documentation: string | null;
}

export interface DescribeOptions {
  /** Keys asked for; null or empty for all. Unknown keys are left out, as Kafka does. */
  keys: readonly string[] | null;
  includeSynonyms: boolean;
  includeDocumentation: boolean;
}

/** Kafka reads a null AND an empty key list as "every key". */
function wanted(keys: readonly string[] | null, name: string): boolean {
  return keys === null || keys.length === 0 || keys.includes(name);
}

/** Describe a topic's configs. Throws KafkaError UNKNOWN_TOPIC_OR_PARTITION. */
export function describeTopicConfigs(broker: BrokerContext, topicName: string, options: DescribeOptions): DescribedConfig[] {
  const topic = broker.metadata.image.topicsByName.get(topicName);
  if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic '${topicName}' does not exist`);
  const resolved = broker.topicConfigs.of(topic);
  const explicit = broker.config.explicit;
  const described: DescribedConfig[] = [];
  for (const key of Object.keys(topicSchema) as TopicConfigKey[]) {
    if (!wanted(options.keys, key)) continue;
    const def = topicSchema[key] as ConfigDef<unknown>;
    const value = formatTopicValue(key, resolved.values[key]);
    const synonyms: ConfigSynonym[] = [];
    if (Object.hasOwn(topic.configs, key)) {
      synonyms.push({ name: key, value, source: ConfigSource.DYNAMIC_TOPIC_CONFIG });
    }
    for (const brokerKey of brokerKeysFor(key)) {
      const brokerDef = brokerSchema[brokerKey] as ConfigDef<unknown>;
      if (explicit.has(brokerKey)) {
        synonyms.push({
          name: brokerKey,
          value: formatBrokerValue(brokerKey, broker.config.values[brokerKey]),
          source: ConfigSource.STATIC_BROKER_CONFIG,
        });
      }
      if (brokerDef.default !== null) {
        synonyms.push({ name: brokerKey, value: formatBrokerValue(brokerKey, brokerDef.default), source: ConfigSource.DEFAULT_CONFIG });
      }
    }
    const source: ConfigSourceValue = resolved.source[key];
    described.push({
      name: key,
      value,
      readOnly: false,
      isDefault: source === ConfigSource.DEFAULT_CONFIG,
      configSource: source,
      isSensitive: false,
      synonyms: options.includeSynonyms ? synonyms : [],
      configType: configTypeOf[def.kind],
      documentation: options.includeDocumentation ? def.doc : null,
    });
  }
  return described;
}

/** Throws KafkaError INVALID_REQUEST unless `name` is this node's id or "" (cluster default). */
export function checkBrokerResource(broker: BrokerContext, name: string): void {
  if (name === "" || name === String(broker.nodeId)) return;
  throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${broker.nodeId} or empty string, but received ${name}`);
}

/** Describe this broker's configs (all static: read-only). */
/** Kafka's PASSWORD-type broker keys: described with a null value and isSensitive. */
const sensitiveBrokerKeys: ReadonlySet<string> = new Set(["ssl.key.password", "ssl.keystore.key", "sasl.jaas.config"]);

export function describeBrokerConfigs(broker: BrokerContext, name: string, options: DescribeOptions): DescribedConfig[] {
  checkBrokerResource(broker, name);
  // The cluster-wide default resource ("") lists dynamic default configs only; there are none.
  if (name === "") return [];
  const described: DescribedConfig[] = [];
  for (const key of Object.keys(brokerSchema) as BrokerConfigKey[]) {
    if (!wanted(options.keys, key)) continue;
    const def = brokerSchema[key] as ConfigDef<unknown>;
    const sensitive = sensitiveBrokerKeys.has(key);
    const value = sensitive ? null : formatBrokerValue(key, broker.config.values[key]);
    const source = broker.config.explicit.has(key) ? ConfigSource.STATIC_BROKER_CONFIG : ConfigSource.DEFAULT_CONFIG;
    described.push({
      name: key,
      value,
      readOnly: true,
      isDefault: source === ConfigSource.DEFAULT_CONFIG,
      configSource: source,
      isSensitive: sensitive,
      synonyms: options.includeSynonyms ? [{ name: key, value, source }] : [],
      configType: configTypeOf[def.kind],
      documentation: options.includeDocumentation ? def.doc : null,
    });
  }
  return described;
}

/**
 * Refuse any change to broker configs: Runnel has none that can be updated dynamically. An empty
 * change set is accepted (nothing to do), as Kafka does.
 */
export function refuseBrokerChanges(broker: BrokerContext, name: string, keys: readonly string[]): void {
  checkBrokerResource(broker, name);
  if (keys.length === 0) return;
  const unknown = keys.filter((key) => !Object.hasOwn(brokerSchema, key));
  if (unknown.length > 0) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Unknown broker config name: ${unknown.join(", ")}`);
  throw new KafkaError(ErrorCode.INVALID_REQUEST, `Cannot update these configs dynamically: ${keys.join(", ")}`);
}

/** Throws KafkaError INVALID_REQUEST when a key appears twice in one resource. */
export function refuseDuplicateKeys(keys: readonly string[]): void {
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key)) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys: ${key}`);
    seen.add(key);
  }
}

export interface IncrementalChange {
  name: string;
  configOperation: number;
  value: string | null;
}

/**
 * A topic's new overrides after IncrementalAlterConfigs operations (Kafka's rules): SET replaces,
 * DELETE removes the override (back to the default), APPEND / SUBTRACT add or remove items of a
 * list-typed key, starting from its current effective value. Throws KafkaError INVALID_CONFIG
 * (unknown key, APPEND/SUBTRACT on a non-list key) or INVALID_REQUEST (bad operation, null value).
 */
export function applyIncrementalChanges(
  broker: BrokerContext,
  topicName: string,
  changes: readonly IncrementalChange[],
): Record<string, string> {
  const topic = broker.metadata.image.topicsByName.get(topicName);
  if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic '${topicName}' does not exist`);
  refuseDuplicateKeys(changes.map((change) => change.name));
  const resolved = broker.topicConfigs.of(topic);
  const overrides: Record<string, string> = { ...topic.configs };
  for (const change of changes) {
    const key = change.name;
    if (ignoredTopicKeys.has(key)) {
      // Accepted and ignored with a warning, as Kafka 3.x does (config/deprecated.ts).
      warnIgnoredKey(key, change.value);
      continue;
    }
    if (!isTopicKey(key)) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${key}`);
    const def = topicSchema[key] as ConfigDef<unknown>;
    switch (change.configOperation) {
      case ConfigOperation.SET:
        if (change.value === null) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Null value not supported for : ${key}`);
        overrides[key] = change.value;
        break;
      case ConfigOperation.DELETE:
        delete overrides[key];
        break;
      case ConfigOperation.APPEND:
      case ConfigOperation.SUBTRACT: {
        if (def.kind !== "list") {
          const verb = change.configOperation === ConfigOperation.APPEND ? "append" : "subtract";
          throw new KafkaError(ErrorCode.INVALID_CONFIG, `Config value ${verb} is not allowed for config key: ${key}`);
        }
        if (change.value === null) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Null value not supported for : ${key}`);
        const current = Object.hasOwn(overrides, key)
          ? splitList(overrides[key]!)
          : splitList(formatTopicValue(key, resolved.values[key]) ?? "");
        const items = splitList(change.value);
        const next = change.configOperation === ConfigOperation.APPEND
          ? [...current, ...items.filter((item) => !current.includes(item))]
          : current.filter((item) => !items.includes(item));
        overrides[key] = next.join(",");
        break;
      }
      default:
        throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unknown config operation ${change.configOperation} for ${key}`);
    }
  }
  return overrides;
}

function splitList(text: string): string[] {
  return text.split(",").map((item) => item.trim()).filter((item) => item.length > 0);
}

/** A thrown value as (errorCode, errorMessage) for a per-resource result. */
export function resourceError(error: unknown): { errorCode: number; errorMessage: string | null } {
  // KafkaError messages start with the error's name; the code already says it.
  if (error instanceof KafkaError) return { errorCode: error.code, errorMessage: error.message.replace(/^[A-Z_]+: /, "") };
  if (error instanceof ConfigError) return { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: error.message };
  // A programmer error closes the connection (the framework logs it); anything else (a failed
  // metadata write) is answered for this resource only.
  if (error instanceof AssertionError || !(error instanceof Error)) throw error;
  return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: error.message };
}

/**
 * Apply `alter` to each resource of an AlterConfigs / IncrementalAlterConfigs request, one at a
 * time in request order (two resources naming one topic apply in order), and answer each with
 * its own error code: one bad resource never fails the others.
 */
export async function alterEachResource<R extends { resourceType: number; resourceName: string }>(
  resources: readonly R[],
  alter: (resource: R) => Promise<void>,
) {
  const responses = [];
  for (const resource of resources) {
    const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
    try {
      await alter(resource);
      responses.push({ ...base, errorCode: ErrorCode.NONE as number, errorMessage: null as string | null });
    } catch (error) {
      responses.push({ ...base, ...resourceError(error) });
    }
  }
  return responses;
}
