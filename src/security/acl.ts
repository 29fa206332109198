// Kafka's ACL model: resource types, pattern types, operations and permission types with Kafka's
// wire ids, an ACL binding (resource pattern + access control entry), the filters of
// DescribeAcls/DeleteAcls and the validation CreateAcls applies. No I/O: the authorizer
// (authorizer.ts) decides with these, the metadata image stores the bindings.

export const ResourceType = { UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6, USER: 7 } as const;
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;
export const AclOperation = {
  UNKNOWN: 0, ANY: 1, ALL: 2, READ: 3, WRITE: 4, CREATE: 5, DELETE: 6, ALTER: 7, DESCRIBE: 8, CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10, ALTER_CONFIGS: 11, IDEMPOTENT_WRITE: 12, CREATE_TOKENS: 13, DESCRIBE_TOKENS: 14,
} as const;
export const PermissionType = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

export type ResourceTypeId = (typeof ResourceType)[keyof typeof ResourceType];
export type OperationId = (typeof AclOperation)[keyof typeof AclOperation];

/** The name of the one CLUSTER resource. */
export const clusterResourceName = "kafka-cluster";
/** A LITERAL name or principal/host that matches every one. */
export const wildcard = "*";

export interface AclBinding {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly patternType: number;
  /** "User:alice", "User:*". */
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permissionType: number;
}

export interface AclBindingFilter {
  resourceType: number;
  resourceName: string | null;
  patternType: number;
  principal: string | null;
  host: string | null;
  operation: number;
  permissionType: number;
}

const nameOf = (table: Record<string, number>, id: number): string =>
  Object.entries(table).find(([, value]) => value === id)?.[0] ?? `UNKNOWN(${id})`;
export const resourceTypeName = (id: number): string => nameOf(ResourceType, id);
export const operationName = (id: number): string => nameOf(AclOperation, id);
export const patternTypeName = (id: number): string => nameOf(PatternType, id);
export const permissionTypeName = (id: number): string => nameOf(PermissionType, id);

/** Parse a name ("topic", "TOPIC", "transactional-id", "Transactional_Id") into the id of `table`. */
export function idOfName(table: Record<string, number>, text: string): number | undefined {
  return table[text.toUpperCase().replace(/-/g, "_")];
}

/**
 * Operations an ALLOW of `granted` also allows (Kafka's implied operations): READ, WRITE, DELETE
 * and ALTER each imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS; ALL implies everything.
 */
export function allowImplies(granted: number, requested: number): boolean {
  if (granted === requested || granted === AclOperation.ALL) return true;
  if (requested === AclOperation.DESCRIBE) {
    return granted === AclOperation.READ || granted === AclOperation.WRITE || granted === AclOperation.DELETE || granted === AclOperation.ALTER;
  }
  return requested === AclOperation.DESCRIBE_CONFIGS && granted === AclOperation.ALTER_CONFIGS;
}

/** A DENY of `denied` denies `requested` (DENY ALL denies everything; nothing else is implied). */
export function denyCovers(denied: number, requested: number): boolean {
  return denied === requested || denied === AclOperation.ALL;
}

/** Whether the binding's resource pattern applies to the resource `name` of its type. */
export function patternMatches(binding: Pick<AclBinding, "resourceName" | "patternType">, name: string): boolean {
  if (binding.patternType === PatternType.LITERAL) return binding.resourceName === name || binding.resourceName === wildcard;
  if (binding.patternType === PatternType.PREFIXED) return name.startsWith(binding.resourceName);
  return false;
}

export function filterMatches(filter: AclBindingFilter, binding: AclBinding): boolean {
  if (filter.resourceType !== ResourceType.ANY && filter.resourceType !== binding.resourceType) return false;
  if (!patternFilterMatches(filter, binding)) return false;
  if (filter.principal !== null && filter.principal !== binding.principal) return false;
  if (filter.host !== null && filter.host !== binding.host) return false;
  if (filter.operation !== AclOperation.ANY && filter.operation !== binding.operation) return false;
  return filter.permissionType === PermissionType.ANY || filter.permissionType === binding.permissionType;
}

function patternFilterMatches(filter: AclBindingFilter, binding: AclBinding): boolean {
  switch (filter.patternType) {
    case PatternType.ANY:
      return filter.resourceName === null || filter.resourceName === binding.resourceName;
    case PatternType.MATCH:
      // Every binding that applies to the named resource: its literal name, the wildcard, a prefix of it.
      return filter.resourceName === null || patternMatches(binding, filter.resourceName);
    default:
      return filter.patternType === binding.patternType && (filter.resourceName === null || filter.resourceName === binding.resourceName);
  }
}

/** "User:alice" → ["User", "alice"]; null when not TYPE:NAME. */
export function parsePrincipal(text: string): [string, string] | null {
  const colon = text.indexOf(":");
  if (colon <= 0 || colon === text.length - 1) return null;
  return [text.slice(0, colon), text.slice(colon + 1)];
}

/** Why CreateAcls refuses a binding (Kafka answers INVALID_REQUEST with this), or null when valid. */
export function invalidBindingReason(binding: AclBinding): string | null {
  const concreteTypes: number[] = [ResourceType.TOPIC, ResourceType.GROUP, ResourceType.CLUSTER, ResourceType.TRANSACTIONAL_ID, ResourceType.DELEGATION_TOKEN, ResourceType.USER];
  if (!concreteTypes.includes(binding.resourceType)) return `resource type ${resourceTypeName(binding.resourceType)} is not a concrete type`;
  if (binding.patternType !== PatternType.LITERAL && binding.patternType !== PatternType.PREFIXED) return `pattern type ${patternTypeName(binding.patternType)} is not LITERAL or PREFIXED`;
  if (binding.operation <= AclOperation.ANY || binding.operation > AclOperation.DESCRIBE_TOKENS) return `operation ${operationName(binding.operation)} is not a concrete operation`;
  if (binding.permissionType !== PermissionType.ALLOW && binding.permissionType !== PermissionType.DENY) return `permission type ${permissionTypeName(binding.permissionType)} is not ALLOW or DENY`;
  if (binding.resourceName === "") return "empty resource name";
  if (binding.resourceType === ResourceType.CLUSTER && binding.resourceName !== clusterResourceName) return `the cluster resource is named ${clusterResourceName}`;
  if (parsePrincipal(binding.principal) === null) return `principal "${binding.principal}" is not TYPE:NAME`;
  if (binding.host === "") return "empty host";
  return null;
}

export function sameBinding(left: AclBinding, right: AclBinding): boolean {
  return left.resourceType === right.resourceType && left.resourceName === right.resourceName && left.patternType === right.patternType
    && left.principal === right.principal && left.host === right.host && left.operation === right.operation && left.permissionType === right.permissionType;
}
