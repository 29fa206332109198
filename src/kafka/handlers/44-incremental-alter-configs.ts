// IncrementalAlterConfigs (key 44), versions 0-1 (flexible from 1). SET, DELETE, APPEND and
// SUBTRACT on topic configs with Kafka's rules (APPEND/SUBTRACT only on list keys such as
// cleanup.policy; duplicate keys are INVALID_REQUEST); the resulting overrides are validated
// (INVALID_CONFIG naming the key), honour validateOnly, are written to the metadata log by the
// controller and
// applied live to the partition logs. Broker resources are read-only (see ../config-resources.ts),
// except broker.decommissioning on a broker id (drains that broker: docs/elastic.md).

import { IncrementalAlterConfigsApi } from "../../protocol/generated/incremental-alter-configs.ts";
import type { IncrementalAlterConfigsRequestAlterConfigsResource } from "../../protocol/generated/incremental-alter-configs.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { applyIncrementalChanges, refuseBrokerChanges, refuseDuplicateKeys, alterEachResource, ResourceType } from "../config-resources.ts";
import type { BrokerContext } from "../context.ts";
import { decommissioningKey } from "../../cluster/controller/reassignment-operations.ts";
import { defineHandler } from "../handler.ts";
import { AclOperation } from "../../security/acl.ts";
import { configAccessError } from "../security.ts";

async function alter(
  broker: BrokerContext,
  resource: IncrementalAlterConfigsRequestAlterConfigsResource,
  validateOnly: boolean,
): Promise<void> {
  switch (resource.resourceType) {
    case ResourceType.TOPIC: {
      const overrides = applyIncrementalChanges(broker, resource.resourceName, resource.configs);
      await broker.admin.alterTopicConfigs(resource.resourceName, overrides, validateOnly);
      return;
    }
    case ResourceType.BROKER:
      refuseDuplicateKeys(resource.configs.map((config) => config.name));
      if (resource.configs.length === 1 && resource.configs[0]!.name === decommissioningKey) {
        await decommission(broker, resource, validateOnly);
        return;
      }
      refuseBrokerChanges(broker, resource.resourceName, resource.configs.map((config) => config.name));
      return;
    default:
      throw new KafkaError(ErrorCode.INVALID_REQUEST, `resource type ${resource.resourceType} is not supported`);
  }
}

/**
 * `broker.decommissioning` on broker resource N (SET true / DELETE), the one dynamic broker key:
 * the controller's balancer drains broker N while it is set (docs/elastic.md).
 */
async function decommission(broker: BrokerContext, resource: IncrementalAlterConfigsRequestAlterConfigsResource, validateOnly: boolean): Promise<void> {
  const config = resource.configs[0]!;
  if (!/^\d+$/.test(resource.resourceName)) throw new KafkaError(ErrorCode.INVALID_REQUEST, `${decommissioningKey} is set on a broker id, not "${resource.resourceName}"`);
  const on = config.configOperation === 0 && config.value === "true";
  if (!on && !(config.configOperation === 1 || (config.configOperation === 0 && config.value === "false"))) {
    throw new KafkaError(ErrorCode.INVALID_CONFIG, `${decommissioningKey} is SET to true or false, or DELETEd`);
  }
  if (!validateOnly) await broker.admin.setDecommissioning(Number(resource.resourceName), on);
}

export default defineHandler({
  api: IncrementalAlterConfigsApi,
  minVersion: 0,
  maxVersion: 1,
  async handle(request, ctx) {
    const responses = await alterEachResource(request.resources, (resource) => {
      const denied = configAccessError(ctx, resource.resourceType, resource.resourceName, AclOperation.ALTER_CONFIGS);
      if (denied !== ErrorCode.NONE) throw new KafkaError(denied, "Authorization failed.");
      return alter(ctx.broker, resource, request.validateOnly);
    });
    return { throttleTimeMs: 0, responses };
  },
});
