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
import { QuotaManager, quotaUserOf, type EnforcedQuotaKey } from "../security/quotas.ts";
import { unsecuredValidatorOptionsOf, type UnsecuredValidatorOptions } from "../security/oauthbearer.ts";
import type { UserCredentials } from "../security/sasl.ts";
import type { ScramCredential } from "../security/scram.ts";
import { coordinatorError } from "./coordinator-check.ts";
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
  /** OAUTHBEARER's unsecured token validator options (from sasl.jaas.config). */
  readonly oauthBearer: UnsecuredValidatorOptions;
  /** Client byte-rate quotas (ClientQuotaRecord in the image). */
  readonly quotas: QuotaManager;
}

/**
 * The authorizer is on when authorizer.class.name names one, or, left empty, when any listener
 * authenticates its clients (SASL, or TLS with ssl.client.auth required/requested): a broker that
 * knows who its clients are enforces ACLs. allow.everyone.if.no.acl.found defaults to false then.
 */
export function createBrokerSecurity(
  config: LoadedBrokerConfig, listeners: readonly KafkaListener[], metadata: MetadataPublisher,
  /** bootstrap.scram.users, accepted for a user and mechanism the metadata does not have yet (security/bootstrap-users.ts). */
  bootstrapCredentials: ReadonlyMap<string, readonly ScramCredential[]> = new Map(),
): BrokerSecurity {
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
    oauthBearer: unsecuredValidatorOptionsOf(values["sasl.jaas.config"]),
    reauthMs: values["connections.max.reauth.ms"],
    failedAuthenticationDelayMs: values["connection.failed.authentication.delay.ms"],
    credentials: (user) => {
      const stored = metadata.image.scramCredentials.get(user);
      const configured = (bootstrapCredentials.get(user) ?? []).filter((credential) => !stored?.has(credential.mechanism));
      return [...(stored?.values() ?? []), ...configured];
    },
    quotas: new QuotaManager(
      { samples: values["quota.window.num"], sampleMs: values["quota.window.size.seconds"] * 1000 },
      () => metadata.image.clientQuotas,
      () => performance.now(),
    ),
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

/** CREATE on the cluster or on the topic (CreateTopics, auto-creation). */
export function authorizeCreateTopic(ctx: RequestContext, topic: string): boolean {
  return authorizeCluster(ctx, AclOperation.CREATE) || authorize(ctx, AclOperation.CREATE, ResourceType.TOPIC, topic);
}

/** WRITE (InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit, Produce) or DESCRIBE on a transactional id. */
export const authorizeTransactionalId = (ctx: RequestContext, operation: number, transactionalId: string): boolean =>
  authorize(ctx, operation, ResourceType.TRANSACTIONAL_ID, transactionalId);
export const authorizeTopic = (ctx: RequestContext, operation: number, topic: string): boolean => authorize(ctx, operation, ResourceType.TOPIC, topic);
export const authorizeGroup = (ctx: RequestContext, operation: number, group: string): boolean => authorize(ctx, operation, ResourceType.GROUP, group);

/** Whether the request's records carry a producer id (an idempotent or transactional producer): the first batch's header says. */
export function hasProducerId(records: Uint8Array | null): boolean {
  // RecordBatch v2: producerId is the int64 at byte 43; -1 when the producer is not idempotent.
  if (records === null || records.length < 51 || records[16] !== 2) return false;
  return (records[43]! & 0x80) === 0;
}

/** Operations a resource type has, for authorized-operations bit fields (Kafka's lists). */
const operationsOf: Record<number, readonly number[]> = {
  [ResourceType.TOPIC]: [AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE, AclOperation.DELETE, AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS],
  [ResourceType.GROUP]: [AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS],
  [ResourceType.CLUSTER]: [AclOperation.CREATE, AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.CLUSTER_ACTION, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE, AclOperation.CREATE_TOKENS, AclOperation.DESCRIBE_TOKENS],
};

/** Kafka's "authorized operations" of a resource: bit N set when operation id N is allowed. */
export function authorizedOperations(ctx: RequestContext, resourceType: number, resourceName: string): number {
  let bits = 0;
  for (const operation of operationsOf[resourceType] ?? []) {
    if (authorize(ctx, operation, resourceType, resourceName)) bits |= 1 << operation;
  }
  return bits;
}

/** What a response carries when the client did not ask for authorized operations. */
export const authorizedOperationsOmitted = -2147483648;

/**
 * The error a group request gets before reaching the coordinator: GROUP_AUTHORIZATION_FAILED when
 * the principal may not do `operation` on the group (Kafka checks this first), else the
 * coordinator check (coordinator-check.ts).
 */
export function groupRequestError(ctx: RequestContext, groupId: string, operation: number): number {
  if (!authorizeGroup(ctx, operation, groupId)) return ErrorCode.GROUP_AUTHORIZATION_FAILED;
  return coordinatorError(ctx.broker, groupId);
}

/**
 * Access to a config resource (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs): a topic's
 * configs need the operation on the topic, a broker's on the cluster. NONE or the refusal code.
 */
export function configAccessError(ctx: RequestContext, configResourceType: number, name: string, operation: number): number {
  const topicConfigResource = 2;
  if (configResourceType === topicConfigResource) {
    return authorizeTopic(ctx, operation, name) ? ErrorCode.NONE : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
  }
  return authorizeCluster(ctx, operation) ? ErrorCode.NONE : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
}

/**
 * Record `bytes` against the client's byte-rate quota; when it is over, mute its connection for the
 * throttle time (KIP-219: the response still goes out at once) and return that time for the
 * response's throttle_time_ms.
 */
export function throttleFor(ctx: RequestContext, key: EnforcedQuotaKey, bytes: number): number {
  if (bytes <= 0) return 0;
  return recordQuota(ctx, key, bytes);
}

/**
 * Record `value` against the client's `key` quota (clients without one: nothing, 0); over it, mute
 * the connection (a longer mute already running wins) and count the throttle in /metrics. Without
 * `decide` the value is only recorded (it weighs on the next decision).
 */
export function recordQuota(ctx: RequestContext, key: EnforcedQuotaKey, value: number, decide = true): number {
  const quotas = ctx.broker.security?.quotas;
  if (!quotas) return 0;
  const verdict = quotas.record(key, quotaUserOf(ctx.session.principal), ctx.header.clientId ?? "", value);
  if (verdict === null) return 0;
  const metrics = ctx.broker.metrics;
  if (key === "request_percentage") metrics?.quotaRequestSeconds.inc({ entity: verdict.entity }, value / 100);
  if (!decide || verdict.throttleMs <= 0) return 0;
  metrics?.quotaThrottledResponses.inc({ quota: key, entity: verdict.entity });
  metrics?.quotaThrottleSeconds.inc({ quota: key, entity: verdict.entity }, verdict.throttleMs / 1000);
  ctx.session.muteConnection(verdict.throttleMs);
  return verdict.throttleMs;
}
