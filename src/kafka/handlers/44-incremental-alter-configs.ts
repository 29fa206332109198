// IncrementalAlterConfigs (key 44), versions 0-1 (flexible from 1). SET, DELETE, APPEND and
// SUBTRACT on topic configs with Kafka's rules (APPEND/SUBTRACT only on list keys such as
// cleanup.policy; duplicate keys are INVALID_REQUEST); the resulting overrides are validated
// (INVALID_CONFIG naming the key), honour validateOnly, are written to the metadata log by the
// controller and
// applied live to the partition logs. Broker resources are read-only (see ../config-resources.ts).

import { IncrementalAlterConfigsApi } from "../../protocol/generated/incremental-alter-configs.ts";
import type { IncrementalAlterConfigsRequestAlterConfigsResource } from "../../protocol/generated/incremental-alter-configs.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { applyIncrementalChanges, refuseBrokerChanges, refuseDuplicateKeys, alterEachResource, ResourceType } from "../config-resources.ts";
import type { BrokerContext } from "../context.ts";
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
      refuseBrokerChanges(broker, resource.resourceName, resource.configs.map((config) => config.name));
      return;
    default:
      throw new KafkaError(ErrorCode.INVALID_REQUEST, `resource type ${resource.resourceType} is not supported`);
  }
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
