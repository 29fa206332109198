// The authorizer's rules (src/security/authorizer.ts) and the ACL filters of Describe/DeleteAcls
// (src/security/acl.ts): implied operations, DENY over ALLOW, LITERAL / wildcard / PREFIXED
// patterns, principal and host wildcards, super.users, allow.everyone.if.no.acl.found, and
// authorizeAny (IDEMPOTENT_WRITE through WRITE on some topic).

import { describe, expect, test } from "bun:test";
import { AclOperation as Op, filterMatches, invalidBindingReason, PatternType, PermissionType, ResourceType, type AclBinding } from "../../src/security/acl.ts";
import { Authorizer } from "../../src/security/authorizer.ts";

let nextId = 0;
function bindings(...list: Partial<AclBinding>[]): Map<string, AclBinding> {
  return new Map(list.map((partial) => [`id-${nextId++}`, {
    resourceType: ResourceType.TOPIC, resourceName: "orders", patternType: PatternType.LITERAL, principal: "User:alice", host: "*",
    operation: Op.READ, permissionType: PermissionType.ALLOW, ...partial,
  }]));
}

function authorizer(acls: Map<string, AclBinding>, options: { superUsers?: string[]; allowIfNone?: boolean } = {}): Authorizer {
  return new Authorizer({ enabled: true, superUsers: new Set(options.superUsers ?? []), allowEveryoneIfNoAclFound: options.allowIfNone ?? false }, () => acls);
}

const ask = (auth: Authorizer, principal: string, operation: number, resourceName = "orders", resourceType: number = ResourceType.TOPIC, host = "10.0.0.1") =>
  auth.authorize({ principal, host, operation, resourceType, resourceName });

describe("authorize", () => {
  test("READ allows READ and the DESCRIBE it implies, nothing else", () => {
    const auth = authorizer(bindings({ operation: Op.READ }));
    expect(ask(auth, "User:alice", Op.READ)).toBe(true);
    expect(ask(auth, "User:alice", Op.DESCRIBE)).toBe(true);
    expect(ask(auth, "User:alice", Op.WRITE)).toBe(false);
    expect(ask(auth, "User:alice", Op.DESCRIBE_CONFIGS)).toBe(false);
    expect(ask(auth, "User:bob", Op.READ)).toBe(false);
  });

  test("WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS; ALL implies everything", () => {
    for (const granted of [Op.WRITE, Op.DELETE, Op.ALTER]) expect(ask(authorizer(bindings({ operation: granted })), "User:alice", Op.DESCRIBE)).toBe(true);
    expect(ask(authorizer(bindings({ operation: Op.ALTER_CONFIGS })), "User:alice", Op.DESCRIBE_CONFIGS)).toBe(true);
    expect(ask(authorizer(bindings({ operation: Op.DESCRIBE })), "User:alice", Op.READ)).toBe(false);
    const all = authorizer(bindings({ operation: Op.ALL }));
    for (const operation of [Op.READ, Op.WRITE, Op.CREATE, Op.DELETE, Op.ALTER, Op.DESCRIBE, Op.ALTER_CONFIGS]) expect(ask(all, "User:alice", operation)).toBe(true);
  });

  test("a DENY wins over any ALLOW; DENY of DESCRIBE does not deny READ", () => {
    const denied = authorizer(bindings({ operation: Op.ALL }, { operation: Op.WRITE, permissionType: PermissionType.DENY }));
    expect(ask(denied, "User:alice", Op.WRITE)).toBe(false);
    expect(ask(denied, "User:alice", Op.READ)).toBe(true);
    const denyAll = authorizer(bindings({ operation: Op.READ }, { principal: "User:*", operation: Op.ALL, permissionType: PermissionType.DENY }));
    expect(ask(denyAll, "User:alice", Op.READ)).toBe(false);
    const denyDescribe = authorizer(bindings({ operation: Op.READ }, { operation: Op.DESCRIBE, permissionType: PermissionType.DENY }));
    expect(ask(denyDescribe, "User:alice", Op.READ)).toBe(true);
    expect(ask(denyDescribe, "User:alice", Op.DESCRIBE)).toBe(false);
  });

  test("LITERAL, the * wildcard and PREFIXED patterns", () => {
    const auth = authorizer(bindings(
      { resourceName: "payments-", patternType: PatternType.PREFIXED },
      { resourceName: "*", operation: Op.DESCRIBE },
    ));
    expect(ask(auth, "User:alice", Op.READ, "payments-eu")).toBe(true);
    expect(ask(auth, "User:alice", Op.READ, "payments")).toBe(false);
    expect(ask(auth, "User:alice", Op.READ, "orders")).toBe(false);
    expect(ask(auth, "User:alice", Op.DESCRIBE, "anything")).toBe(true);
    // "*" is only a wildcard in LITERAL bindings; a PREFIXED "*" matches names starting with "*".
    expect(ask(authorizer(bindings({ resourceName: "*", patternType: PatternType.PREFIXED })), "User:alice", Op.READ, "orders")).toBe(false);
  });

  test("principal User:* and hosts", () => {
    const auth = authorizer(bindings({ principal: "User:*", host: "10.0.0.1" }));
    expect(ask(auth, "User:anyone", Op.READ, "orders", ResourceType.TOPIC, "10.0.0.1")).toBe(true);
    expect(ask(auth, "User:anyone", Op.READ, "orders", ResourceType.TOPIC, "10.0.0.2")).toBe(false);
  });

  test("resource types do not mix (a group named like a topic)", () => {
    const auth = authorizer(bindings({ resourceType: ResourceType.GROUP }));
    expect(ask(auth, "User:alice", Op.READ, "orders", ResourceType.GROUP)).toBe(true);
    expect(ask(auth, "User:alice", Op.READ, "orders", ResourceType.TOPIC)).toBe(false);
  });

  test("super.users may do anything; no ACL on a resource follows allow.everyone.if.no.acl.found", () => {
    const acls = bindings({ resourceName: "orders" });
    expect(ask(authorizer(acls, { superUsers: ["User:admin"] }), "User:admin", Op.DELETE, "orders")).toBe(true);
    expect(ask(authorizer(acls, { allowIfNone: false }), "User:bob", Op.READ, "other")).toBe(false);
    expect(ask(authorizer(acls, { allowIfNone: true }), "User:bob", Op.READ, "other")).toBe(true);
    // An ACL exists for "orders" (alice's): bob is denied even with allow.everyone.if.no.acl.found.
    expect(ask(authorizer(acls, { allowIfNone: true }), "User:bob", Op.READ, "orders")).toBe(false);
    expect(new Authorizer({ enabled: false, superUsers: new Set(), allowEveryoneIfNoAclFound: false }, () => acls)
      .authorize({ principal: "User:bob", host: "h", operation: Op.DELETE, resourceType: ResourceType.TOPIC, resourceName: "orders" })).toBe(true);
  });

  test("authorizeAny: WRITE on some topic grants IDEMPOTENT_WRITE's check; a wildcard DENY does not", () => {
    expect(authorizer(bindings({ operation: Op.WRITE })).authorizeAny("User:alice", "h", Op.WRITE, ResourceType.TOPIC)).toBe(true);
    expect(authorizer(bindings({ operation: Op.READ })).authorizeAny("User:alice", "h", Op.WRITE, ResourceType.TOPIC)).toBe(false);
    expect(authorizer(bindings({ operation: Op.WRITE }, { resourceName: "*", operation: Op.WRITE, permissionType: PermissionType.DENY }))
      .authorizeAny("User:alice", "h", Op.WRITE, ResourceType.TOPIC)).toBe(false);
  });
});

test("filters: ANY, MATCH (what applies to a name), exact LITERAL/PREFIXED", () => {
  const literal: AclBinding = { resourceType: ResourceType.TOPIC, resourceName: "orders", patternType: PatternType.LITERAL, principal: "User:alice", host: "*", operation: Op.READ, permissionType: PermissionType.ALLOW };
  const prefixed: AclBinding = { ...literal, resourceName: "ord", patternType: PatternType.PREFIXED };
  const wildcard: AclBinding = { ...literal, resourceName: "*" };
  const filter = { resourceType: ResourceType.ANY, resourceName: null, patternType: PatternType.ANY, principal: null, host: null, operation: Op.ANY, permissionType: PermissionType.ANY };
  for (const binding of [literal, prefixed, wildcard]) expect(filterMatches(filter, binding)).toBe(true);
  const match = { ...filter, resourceName: "orders", patternType: PatternType.MATCH };
  expect([literal, prefixed, wildcard].map((binding) => filterMatches(match, binding))).toEqual([true, true, true]);
  expect(filterMatches({ ...match, resourceName: "payments" }, prefixed)).toBe(false);
  expect(filterMatches({ ...filter, resourceName: "ord", patternType: PatternType.PREFIXED }, prefixed)).toBe(true);
  expect(filterMatches({ ...filter, resourceName: "ord", patternType: PatternType.LITERAL }, prefixed)).toBe(false);
  expect(filterMatches({ ...filter, principal: "User:bob" }, literal)).toBe(false);
  expect(filterMatches({ ...filter, operation: Op.WRITE }, literal)).toBe(false);
});

test("CreateAcls validation names what is wrong", () => {
  const good: AclBinding = { resourceType: ResourceType.TOPIC, resourceName: "orders", patternType: PatternType.LITERAL, principal: "User:alice", host: "*", operation: Op.READ, permissionType: PermissionType.ALLOW };
  expect(invalidBindingReason(good)).toBeNull();
  expect(invalidBindingReason({ ...good, resourceType: ResourceType.ANY })).toMatch(/resource type/);
  expect(invalidBindingReason({ ...good, patternType: PatternType.MATCH })).toMatch(/pattern/);
  expect(invalidBindingReason({ ...good, operation: Op.ANY })).toMatch(/operation/);
  expect(invalidBindingReason({ ...good, permissionType: PermissionType.ANY })).toMatch(/permission/);
  expect(invalidBindingReason({ ...good, principal: "alice" })).toMatch(/principal/);
  expect(invalidBindingReason({ ...good, resourceType: ResourceType.CLUSTER, resourceName: "x" })).toMatch(/kafka-cluster/);
});
