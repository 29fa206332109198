// DescribeConfigs (key 32), versions 0-4 (flexible from 4).
// Topic resources: every topic key with its effective value and source (v1+), synonyms when asked
// (v1+), type and documentation (v3+); broker resources: every broker key, read-only. See
// ../config-resources.ts for the rules. Not served: BROKER_LOGGER and other resource types
// (INVALID_REQUEST for that resource). Password keys (ssl.key.password, ssl.keystore.key,
// sasl.jaas.config) are described as sensitive, with a null value, as Kafka does.

import { DescribeConfigsApi } from "../../protocol/generated/describe-configs.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import {
  describeBrokerConfigs,
  describeTopicConfigs,
  resourceError,
  ResourceType,
  type DescribedConfig,
} from "../config-resources.ts";
import { defineHandler } from "../handler.ts";
import { AclOperation } from "../../security/acl.ts";
import { configAccessError } from "../security.ts";

export default defineHandler({
  api: DescribeConfigsApi,
  minVersion: 0,
  maxVersion: 4,
  handle(request, ctx) {
    // v0 has no includeSynonyms field; Kafka reads it as false there.
    const includeSynonyms = ctx.version >= 1 && request.includeSynonyms;
    const includeDocumentation = ctx.version >= 3 && request.includeDocumentation;
    // isDefault exists only in v0 (v1+ carry configSource instead); the codec refuses it elsewhere.
    const forVersion = (configs: DescribedConfig[]) =>
      ctx.version === 0 ? configs : configs.map((config) => ({ ...config, isDefault: false }));
    const results = request.resources.map((resource) => {
      const options = { keys: resource.configurationKeys, includeSynonyms, includeDocumentation };
      const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
      const denied = configAccessError(ctx, resource.resourceType, resource.resourceName, AclOperation.DESCRIBE_CONFIGS);
      if (denied !== ErrorCode.NONE) return { ...base, errorCode: denied, errorMessage: "Authorization failed.", configs: [] };
      try {
        switch (resource.resourceType) {
          case ResourceType.TOPIC:
            return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs: forVersion(describeTopicConfigs(ctx.broker, resource.resourceName, options)) };
          case ResourceType.BROKER:
            return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs: forVersion(describeBrokerConfigs(ctx.broker, resource.resourceName, options)) };
          default:
            return {
              ...base,
              errorCode: ErrorCode.INVALID_REQUEST,
              errorMessage: `resource type ${resource.resourceType} is not supported`,
              configs: [],
            };
        }
      } catch (error) {
        return { ...base, ...resourceError(error), configs: [] };
      }
    });
    return { throttleTimeMs: 0, results };
  },
});
