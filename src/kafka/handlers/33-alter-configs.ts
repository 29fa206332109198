// AlterConfigs (key 33), versions 0-2 (flexible from 2). The legacy, non-incremental form: the
// configs sent REPLACE every override of the topic (keys not sent go back to their defaults), as
// Kafka does. Validated against the topic schema (INVALID_CONFIG naming the key), honours
// validateOnly, written to the metadata log by the controller and applied live to the partition logs (e.g.
// retention.ms). A null value leaves the key unset. Broker resources are read-only (see
// ../config-resources.ts); other resource types get INVALID_REQUEST.

import { AlterConfigsApi } from "../../protocol/generated/alter-configs.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { refuseBrokerChanges, refuseDuplicateKeys, alterEachResource, ResourceType } from "../config-resources.ts";
import { defineHandler } from "../handler.ts";
import { AclOperation } from "../../security/acl.ts";
import { configAccessError } from "../security.ts";
import type { BrokerContext } from "../context.ts";
import type { AlterConfigsRequestAlterConfigsResource } from "../../protocol/generated/alter-configs.ts";

async function alter(broker: BrokerContext, resource: AlterConfigsRequestAlterConfigsResource, validateOnly: boolean): Promise<void> {
  refuseDuplicateKeys(resource.configs.map((config) => config.name));
  switch (resource.resourceType) {
    case ResourceType.TOPIC: {
      const overrides: Record<string, string> = {};
      for (const config of resource.configs) if (config.value !== null) overrides[config.name] = config.value;
      await broker.admin.alterTopicConfigs(resource.resourceName, overrides, validateOnly);
      return;
    }
    case ResourceType.BROKER:
      refuseBrokerChanges(broker, resource.resourceName, resource.configs.map((config) => config.name));
      return;
    default:
      throw new KafkaError(ErrorCode.INVALID_REQUEST, `resource type ${resource.resourceType} is not supported`);
  }
}

export default defineHandler({
  api: AlterConfigsApi,
  minVersion: 0,
  maxVersion: 2,
  async handle(request, ctx) {
    const responses = await alterEachResource(request.resources, (resource) => {
      const denied = configAccessError(ctx, resource.resourceType, resource.resourceName, AclOperation.ALTER_CONFIGS);
      if (denied !== ErrorCode.NONE) throw new KafkaError(denied, "Authorization failed.");
      return alter(ctx.broker, resource, request.validateOnly);
    });
    return { throttleTimeMs: 0, responses };
  },
});
