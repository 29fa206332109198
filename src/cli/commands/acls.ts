// `runnel acls list|add|remove`: ACL bindings through DescribeAcls, CreateAcls and DeleteAcls,
// with kafka-acls.sh's flags: one resource (--topic, --group, --cluster, --transactional-id,
// --user), --resource-pattern-type literal|prefixed (list/remove also any|match),
// --allow-principal / --deny-principal User:NAME, --allow-host / --deny-host (default *),
// --operation (repeatable; Kafka's names: Read, Write, Create, Delete, Alter, Describe,
// ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All).

import { createAcls, deleteAcls, describeAcls } from "../../client/index.ts";
import { ErrorCode, errorName } from "../../protocol/errors.ts";
import {
  AclOperation, clusterResourceName, idOfName, operationName, PatternType, patternTypeName, PermissionType, permissionTypeName,
  ResourceType, resourceTypeName, type AclBinding, type AclBindingFilter,
} from "../../security/acl.ts";
import { type Command, ExitCode, withClient } from "../command.ts";
import { connectionFlags, helpFlag, UsageError, type FlagSpec, type ParsedFlags } from "../flags.ts";
import { printJson, printTable } from "../output.ts";

const resourceFlags: FlagSpec[] = [
  { name: "topic", kind: "string", value: "TOPIC", description: "a topic (* for every topic)" },
  { name: "group", kind: "string", value: "GROUP", description: "a consumer group (* for every group)" },
  { name: "transactional-id", kind: "string", value: "ID", description: "a transactional id" },
  { name: "user", kind: "string", value: "USER", description: "a user (SCRAM credentials)" },
  { name: "cluster", kind: "bool", description: "the cluster" },
  { name: "resource-pattern-type", kind: "string", value: "TYPE", description: "literal (default) or prefixed; list/remove: also any, match" },
];
const entryFlags: FlagSpec[] = [
  { name: "allow-principal", kind: "list", value: "User:NAME", description: "principal allowed (repeatable)" },
  { name: "deny-principal", kind: "list", value: "User:NAME", description: "principal denied (repeatable)" },
  { name: "allow-host", kind: "string", value: "HOST", description: "host of allow entries (default *)" },
  { name: "deny-host", kind: "string", value: "HOST", description: "host of deny entries (default *)" },
  { name: "operation", kind: "list", value: "OP", description: "Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All (repeatable)" },
];

/** "DescribeConfigs" / "describe-configs" / "DESCRIBE_CONFIGS" → the operation id. */
function operationOf(text: string): number {
  const id = idOfName(AclOperation, text.replace(/([a-z])([A-Z])/g, "$1_$2"));
  if (id === undefined || id <= AclOperation.ANY) throw new UsageError(`--operation ${text}: not an ACL operation`);
  return id;
}

/** The resource named by the flags; `optional`: none given is "any resource" (list). */
function resourceOf(flags: ParsedFlags, optional: boolean): { type: number; name: string | null } {
  const given: { type: number; name: string | null }[] = [];
  if (flags.has("topic")) given.push({ type: ResourceType.TOPIC, name: flags.string("topic")! });
  if (flags.has("group")) given.push({ type: ResourceType.GROUP, name: flags.string("group")! });
  if (flags.has("transactional-id")) given.push({ type: ResourceType.TRANSACTIONAL_ID, name: flags.string("transactional-id")! });
  if (flags.has("user")) given.push({ type: ResourceType.USER, name: flags.string("user")! });
  if (flags.bool("cluster")) given.push({ type: ResourceType.CLUSTER, name: clusterResourceName });
  if (given.length > 1) throw new UsageError("give one resource: --topic, --group, --transactional-id, --user or --cluster");
  if (given.length === 0) {
    if (optional) return { type: ResourceType.ANY, name: null };
    throw new UsageError("give a resource: --topic, --group, --transactional-id, --user or --cluster");
  }
  return given[0]!;
}

function patternOf(flags: ParsedFlags, allowFilters: boolean): number {
  const text = flags.string("resource-pattern-type", allowFilters && !flags.has("topic") && !flags.has("group") ? "any" : "literal");
  const id = idOfName(PatternType, text);
  const allowed: number[] = allowFilters ? [PatternType.ANY, PatternType.MATCH, PatternType.LITERAL, PatternType.PREFIXED] : [PatternType.LITERAL, PatternType.PREFIXED];
  if (id === undefined || !allowed.includes(id)) throw new UsageError(`--resource-pattern-type ${text}: not one of ${allowed.map(patternTypeName).join(", ").toLowerCase()}`);
  return id;
}

function bindingsOf(flags: ParsedFlags): AclBinding[] {
  const resource = resourceOf(flags, false);
  const patternType = patternOf(flags, false);
  const operations = flags.list("operation").map(operationOf);
  if (operations.length === 0) throw new UsageError("give at least one --operation");
  const entries = [
    ...flags.list("allow-principal").map((principal) => ({ principal, host: flags.string("allow-host", "*"), permissionType: PermissionType.ALLOW })),
    ...flags.list("deny-principal").map((principal) => ({ principal, host: flags.string("deny-host", "*"), permissionType: PermissionType.DENY })),
  ];
  if (entries.length === 0) throw new UsageError("give --allow-principal or --deny-principal");
  return entries.flatMap((entry) => operations.map((operation) => ({
    resourceType: resource.type, resourceName: resource.name!, patternType, principal: entry.principal, host: entry.host, operation, permissionType: entry.permissionType,
  })));
}

function filtersOf(flags: ParsedFlags): AclBindingFilter[] {
  const resource = resourceOf(flags, true);
  const patternType = patternOf(flags, true);
  const operations = flags.list("operation").map(operationOf);
  const principals = [
    ...flags.list("allow-principal").map((principal) => ({ principal, permissionType: PermissionType.ALLOW as number })),
    ...flags.list("deny-principal").map((principal) => ({ principal, permissionType: PermissionType.DENY as number })),
  ];
  const who = principals.length > 0 ? principals : [{ principal: null, permissionType: PermissionType.ANY as number }];
  return who.flatMap((entry) => (operations.length > 0 ? operations : [AclOperation.ANY as number]).map((operation) => ({
    resourceType: resource.type, resourceName: resource.name, patternType, principal: entry.principal, host: null, operation, permissionType: entry.permissionType,
  })));
}

const rowOf = (binding: AclBinding) => [
  resourceTypeName(binding.resourceType), binding.resourceName, patternTypeName(binding.patternType), binding.principal, binding.host,
  operationName(binding.operation), permissionTypeName(binding.permissionType),
];
const header = ["RESOURCE-TYPE", "NAME", "PATTERN", "PRINCIPAL", "HOST", "OPERATION", "PERMISSION"];

const list: Command = {
  name: "acls list",
  summary: "List ACL bindings (DescribeAcls), all or those matching the flags.",
  flags: [...resourceFlags, ...entryFlags, { name: "json", kind: "bool", description: "print JSON instead of a table" }, ...connectionFlags, helpFlag],
  run: (flags, io) => withClient(flags, io, async (client) => {
    const bindings = (await Promise.all(filtersOf(flags).map((filter) => describeAcls(client, filter)))).flat();
    if (flags.bool("json")) await printJson(io, bindings.map((binding) => Object.fromEntries(header.map((name, index) => [name.toLowerCase(), rowOf(binding)[index]]))));
    else await printTable(io, header, bindings.map(rowOf));
    return ExitCode.ok;
  }),
};

const add: Command = {
  name: "acls add",
  summary: "Add ACL bindings (CreateAcls).",
  flags: [...resourceFlags, ...entryFlags, ...connectionFlags, helpFlag],
  notes: "Example:\n  runnel acls add --allow-principal User:alice --operation Read --operation Describe --topic orders- --resource-pattern-type prefixed",
  run: (flags, io) => withClient(flags, io, async (client) => {
    const bindings = bindingsOf(flags);
    const results = await createAcls(client, bindings);
    let code: number = ExitCode.ok;
    for (const [index, result] of results.entries()) {
      const row = rowOf(bindings[index]!).join(" ");
      if (result.errorCode === ErrorCode.NONE) await io.write(`added ${row}\n`);
      else {
        io.error(`runnel: ${row}: ${errorName(result.errorCode)}${result.errorMessage ? `: ${result.errorMessage}` : ""}`);
        code = ExitCode.failed;
      }
    }
    return code;
  }),
};

const remove: Command = {
  name: "acls remove",
  summary: "Remove the ACL bindings matching the flags (DeleteAcls).",
  flags: [...resourceFlags, ...entryFlags, ...connectionFlags, helpFlag],
  run: (flags, io) => withClient(flags, io, async (client) => {
    const removed = await deleteAcls(client, filtersOf(flags));
    for (const binding of removed) await io.write(`removed ${rowOf(binding).join(" ")}\n`);
    return ExitCode.ok;
  }),
};

export const aclCommands: readonly Command[] = [list, add, remove];
