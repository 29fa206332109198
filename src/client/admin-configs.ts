// Configs of topics and brokers: DescribeConfigs, AlterConfigs (replaces a resource's whole set
// of overrides: Kafka's legacy call) and IncrementalAlterConfigs (SET/DELETE/APPEND/SUBTRACT
// one key at a time). A broker resource goes to that broker; a topic resource to any broker.

import { ErrorCode } from "../protocol/errors.ts";
import { AlterConfigsApi } from "../protocol/generated/alter-configs.ts";
import { DescribeConfigsApi } from "../protocol/generated/describe-configs.ts";
import { IncrementalAlterConfigsApi } from "../protocol/generated/incremental-alter-configs.ts";
import type { KafkaClient } from "./client.ts";
import type { KafkaConnection } from "./connection.ts";
import { responseError } from "./errors.ts";

/** Kafka's ConfigResource.Type codes. */
export const ResourceType = { topic: 2, broker: 4 } as const;
export type ResourceKind = keyof typeof ResourceType;

/** Kafka's DescribeConfigs sources. */
export const configSourceNames: Record<number, string> = {
  0: "UNKNOWN",
  1: "DYNAMIC_TOPIC_CONFIG",
  2: "DYNAMIC_BROKER_CONFIG",
  3: "DYNAMIC_DEFAULT_BROKER_CONFIG",
  4: "STATIC_BROKER_CONFIG",
  5: "DEFAULT_CONFIG",
  6: "DYNAMIC_BROKER_LOGGER_CONFIG",
  7: "CLIENT_METRICS_CONFIG",
  8: "GROUP_CONFIG",
};

export const AlterOperation = { set: 0, delete: 1, append: 2, subtract: 3 } as const;
export type AlterOperationName = keyof typeof AlterOperation;

export interface ConfigResource {
  kind: ResourceKind;
  name: string;
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  source: string;
  isSensitive: boolean;
}

export interface DescribedConfigs {
  resource: ConfigResource;
  errorCode: number;
  errorMessage: string | null;
  configs: ConfigEntry[];
}

export interface AlterOutcome {
  resource: ConfigResource;
  errorCode: number;
  errorMessage: string | null;
}

export interface ConfigChange {
  name: string;
  operation: AlterOperationName;
  /** Ignored by delete. */
  value?: string | null;
}

function connectionFor(client: KafkaClient, resource: ConfigResource): Promise<KafkaConnection> {
  if (resource.kind === "broker" && /^\d+$/.test(resource.name)) return client.connectionToNode(Number(resource.name));
  return client.anyConnection();
}

function kindOf(code: number): ResourceKind {
  return code === ResourceType.broker ? "broker" : "topic";
}

export async function describeConfigs(
  client: KafkaClient,
  resources: readonly (ConfigResource & { keys?: readonly string[] })[],
): Promise<DescribedConfigs[]> {
  return Promise.all(resources.map((resource) => client.retry(`DescribeConfigs ${resource.kind} ${resource.name}`, async () => {
    const connection = await connectionFor(client, resource);
    const response = await connection.request(DescribeConfigsApi, {
      resources: [{ resourceType: ResourceType[resource.kind], resourceName: resource.name, configurationKeys: resource.keys ? [...resource.keys] : null }],
    });
    const result = response.results[0];
    if (!result) throw responseError(ErrorCode.UNKNOWN_SERVER_ERROR, "DescribeConfigs: empty answer");
    return {
      resource: { kind: kindOf(result.resourceType), name: result.resourceName },
      errorCode: result.errorCode,
      errorMessage: result.errorMessage,
      configs: result.configs.map((entry) => ({
        name: entry.name,
        value: entry.value,
        readOnly: entry.readOnly,
        isDefault: entry.isDefault || entry.configSource === 5,
        source: configSourceNames[entry.configSource] ?? String(entry.configSource),
        isSensitive: entry.isSensitive,
      })).sort((left, right) => left.name.localeCompare(right.name)),
    };
  })));
}

/** Replaces every override of each resource by `configs` (Kafka's AlterConfigs semantics). */
export async function alterConfigs(
  client: KafkaClient,
  resources: readonly (ConfigResource & { configs: Readonly<Record<string, string>> })[],
  options: { validateOnly?: boolean } = {},
): Promise<AlterOutcome[]> {
  return Promise.all(resources.map((resource) => client.retry(`AlterConfigs ${resource.kind} ${resource.name}`, async () => {
    const connection = await connectionFor(client, resource);
    const response = await connection.request(AlterConfigsApi, {
      resources: [{
        resourceType: ResourceType[resource.kind],
        resourceName: resource.name,
        configs: Object.entries(resource.configs).map(([name, value]) => ({ name, value })),
      }],
      validateOnly: options.validateOnly ?? false,
    });
    const result = response.responses[0]!;
    return { resource: { kind: resource.kind, name: resource.name }, errorCode: result.errorCode, errorMessage: result.errorMessage };
  })));
}

/** Changes single keys, leaving other overrides alone. */
export async function incrementalAlterConfigs(
  client: KafkaClient,
  resources: readonly (ConfigResource & { changes: readonly ConfigChange[] })[],
  options: { validateOnly?: boolean } = {},
): Promise<AlterOutcome[]> {
  return Promise.all(resources.map((resource) => client.retry(`IncrementalAlterConfigs ${resource.kind} ${resource.name}`, async () => {
    const connection = await connectionFor(client, resource);
    const response = await connection.request(IncrementalAlterConfigsApi, {
      resources: [{
        resourceType: ResourceType[resource.kind],
        resourceName: resource.name,
        configs: resource.changes.map((change) => ({
          name: change.name,
          configOperation: AlterOperation[change.operation],
          value: change.operation === "delete" ? null : change.value ?? null,
        })),
      }],
      validateOnly: options.validateOnly ?? false,
    });
    const result = response.responses[0]!;
    return { resource: { kind: resource.kind, name: resource.name }, errorCode: result.errorCode, errorMessage: result.errorMessage };
  })));
}
