// The authorizer: may this principal, from this host, do this operation on this resource? Kafka's
// StandardAuthorizer rules:
//   1. super.users may do anything;
//   2. no ACL at all on the resource (by any principal, literal, wildcard or prefix) → the answer is
//      allow.everyone.if.no.acl.found;
//   3. a matching DENY (the operation or ALL) wins over any ALLOW;
//   4. a matching ALLOW of the operation, of ALL, or of an operation that implies it (READ, WRITE,
//      DELETE, ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS) allows;
//   5. otherwise denied.
// A binding matches a principal when it names it or "User:*", and a host when it names it or "*".
// The bindings come from the metadata image (AccessControlEntryRecord); the index by resource
// type is rebuilt once per published set of bindings, never per request.

import { allowImplies, denyCovers, patternMatches, PermissionType, wildcard, type AclBinding } from "./acl.ts";

export interface AuthorizerOptions {
  /** Off: every request is allowed (no listener authenticates and no authorizer.class.name). */
  enabled: boolean;
  superUsers: ReadonlySet<string>;
  allowEveryoneIfNoAclFound: boolean;
}

export interface AuthorizationRequest {
  principal: string;
  host: string;
  operation: number;
  resourceType: number;
  resourceName: string;
}

const indexes = new WeakMap<object, Map<number, AclBinding[]>>();

function indexOf(bindings: ReadonlyMap<string, AclBinding>): Map<number, AclBinding[]> {
  let index = indexes.get(bindings);
  if (index) return index;
  index = new Map();
  for (const binding of bindings.values()) {
    let list = index.get(binding.resourceType);
    if (!list) index.set(binding.resourceType, (list = []));
    list.push(binding);
  }
  indexes.set(bindings, index);
  return index;
}

export class Authorizer {
  constructor(
    readonly options: AuthorizerOptions,
    /** The current bindings by id (the published image's). */
    private readonly bindings: () => ReadonlyMap<string, AclBinding>,
  ) {}

  get enabled(): boolean {
    return this.options.enabled;
  }

  authorize(request: AuthorizationRequest): boolean {
    if (!this.options.enabled || this.options.superUsers.has(request.principal)) return true;
    const candidates = indexOf(this.bindings()).get(request.resourceType) ?? [];
    let anyForResource = false;
    let allowed = false;
    for (const binding of candidates) {
      if (!patternMatches(binding, request.resourceName)) continue;
      anyForResource = true;
      if (binding.principal !== request.principal && binding.principal !== `${principalType(request.principal)}:${wildcard}`) continue;
      if (binding.host !== wildcard && binding.host !== request.host) continue;
      if (binding.permissionType === PermissionType.DENY && denyCovers(binding.operation, request.operation)) return false;
      if (binding.permissionType === PermissionType.ALLOW && allowImplies(binding.operation, request.operation)) allowed = true;
    }
    return anyForResource ? allowed : this.options.allowEveryoneIfNoAclFound;
  }

  /**
   * Whether the principal may do the operation on SOME resource of the type (Kafka's
   * authorizeByResourceType: IDEMPOTENT_WRITE is granted by WRITE on any topic). A DENY of a
   * whole prefix or the wildcard is honoured; single literal denies are not (as Kafka).
   */
  authorizeAny(principal: string, host: string, operation: number, resourceType: number): boolean {
    if (!this.options.enabled || this.options.superUsers.has(principal)) return true;
    const candidates = indexOf(this.bindings()).get(resourceType) ?? [];
    if (candidates.length === 0) return this.options.allowEveryoneIfNoAclFound;
    const applies = (binding: AclBinding) =>
      (binding.principal === principal || binding.principal === `${principalType(principal)}:${wildcard}`)
      && (binding.host === wildcard || binding.host === host);
    for (const binding of candidates) {
      if (!applies(binding) || binding.permissionType !== PermissionType.DENY || !denyCovers(binding.operation, operation)) continue;
      if (binding.resourceName === wildcard) return false;
    }
    return candidates.some((binding) => applies(binding) && binding.permissionType === PermissionType.ALLOW && allowImplies(binding.operation, operation));
  }
}

function principalType(principal: string): string {
  const colon = principal.indexOf(":");
  return colon < 0 ? "User" : principal.slice(0, colon);
}

/** `super.users`: "User:alice;User:bob" (Kafka separates them with semicolons). */
export function parseSuperUsers(text: string): Set<string> {
  return new Set(text.split(";").map((entry) => entry.trim()).filter((entry) => entry.length > 0));
}
