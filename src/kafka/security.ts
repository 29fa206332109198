// What the Kafka handlers share about security: the broker's authorizer and SASL settings
// (built once from the config by node.ts), and `authorize(ctx, …)`, the one check every handler
// calls before touching a resource. Handlers answer a refusal with Kafka's code for the resource
// (TOPIC_/GROUP_/CLUSTER_/TRANSACTIONAL_ID_AUTHORIZATION_FAILED); see docs/security.md.

import type { LoadedBrokerConfig } from "../config/index.ts";
import { usesSasl, type KafkaListener } from "../config/index.ts";
import type { MetadataPublisher } from "../cluster/publisher.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { AclOperation, clusterResourceName, ResourceType } from "../security/acl.ts";
import { Authorizer, parseSuperUsers } from "../security/authorizer.ts";
import type { UserCredentials } from "../security/sasl.ts";
import type { RequestContext } from "./handler.ts";

export interface BrokerSecurity {
  readonly authorizer: Authorizer;
  /** sasl.enabled.mechanisms. */
  readonly saslMechanisms: readonly string[];
  /** connections.max.reauth.ms; 0: sessions never expire. */
  readonly reauthMs: number;
  /** connection.failed.authentication.delay.ms. */
  readonly failedAuthenticationDelayMs: number;
  /** The users' SCRAM credentials, from the published image. */
  readonly credentials: UserCredentials;
}

/**
 * The authorizer is on when authorizer.class.name names one, or, left empty, when any listener
 * authenticates its clients (SASL, or TLS with ssl.client.auth required/requested): a broker that
 * knows who its clients are enforces ACLs. allow.everyone.if.no.acl.found defaults to false then.
 */
export function createBrokerSecurity(config: LoadedBrokerConfig, listeners: readonly KafkaListener[], metadata: MetadataPublisher): BrokerSecurity {
  const values = config.values;
  const authenticates = listeners.some((listener) => usesSasl(listener.securityProtocol)
    || (listener.securityProtocol === "SSL" && values["ssl.client.auth"] !== "none"));
  const enabled = values["authorizer.class.name"] !== "" || authenticates;
  return {
    authorizer: new Authorizer({
      enabled,
      superUsers: parseSuperUsers(values["super.users"]),
      allowEveryoneIfNoAclFound: values["allow.everyone.if.no.acl.found"] ?? !enabled,
    }, () => metadata.image.acls),
    saslMechanisms: values["sasl.enabled.mechanisms"],
    reauthMs: values["connections.max.reauth.ms"],
    failedAuthenticationDelayMs: values["connection.failed.authentication.delay.ms"],
    credentials: (user) => [...(metadata.image.scramCredentials.get(user)?.values() ?? [])],
  };
}

/** Whether this request's principal may do `operation` on the resource (always, without an authorizer). */
export function authorize(ctx: RequestContext, operation: number, resourceType: number, resourceName: string): boolean {
  const authorizer = ctx.broker.security?.authorizer;
  if (!authorizer?.enabled) return true;
  return authorizer.authorize({ principal: ctx.session.principal, host: ctx.session.remoteHost, operation, resourceType, resourceName });
}

export function authorizeCluster(ctx: RequestContext, operation: number): boolean {
  return authorize(ctx, operation, ResourceType.CLUSTER, clusterResourceName);
}

/** Kafka's IDEMPOTENT_WRITE rule: on the cluster, or WRITE on any topic. */
export function authorizeIdempotentWrite(ctx: RequestContext): boolean {
  const authorizer = ctx.broker.security?.authorizer;
  if (!authorizer?.enabled) return true;
  return authorizeCluster(ctx, AclOperation.IDEMPOTENT_WRITE)
    || authorizer.authorizeAny(ctx.session.principal, ctx.session.remoteHost, AclOperation.WRITE, ResourceType.TOPIC);
}

export const authorizationError = {
  topic: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  group: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  cluster: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  transactionalId: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
} as const;
