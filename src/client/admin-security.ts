// Users and ACLs through Kafka's admin APIs: DescribeUserScramCredentials and
// AlterUserScramCredentials (KIP-554: the client salts and hashes the password, the broker never
// sees it), CreateAcls, DescribeAcls, DeleteAcls. They go to the controller (any broker forwards).

import { randomBytes } from "node:crypto";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { AlterUserScramCredentialsApi } from "../protocol/generated/alter-user-scram-credentials.ts";
import { CreateAclsApi } from "../protocol/generated/create-acls.ts";
import { DeleteAclsApi } from "../protocol/generated/delete-acls.ts";
import { DescribeAclsApi } from "../protocol/generated/describe-acls.ts";
import { DescribeUserScramCredentialsApi } from "../protocol/generated/describe-user-scram-credentials.ts";
import type { AclBinding, AclBindingFilter } from "../security/acl.ts";
import { saltedPassword, scramMechanismById, scramMechanismByName } from "../security/scram.ts";
import type { KafkaClient } from "./client.ts";

export interface ScramUserInfo {
  user: string;
  errorCode: number;
  errorMessage: string | null;
  credentials: { mechanism: string; iterations: number }[];
}

/** Every user (names: null) or the named ones. */
export async function describeScramUsers(client: KafkaClient, names: readonly string[] | null): Promise<ScramUserInfo[]> {
  const connection = await client.controllerConnection();
  const response = await connection.request(DescribeUserScramCredentialsApi, { users: names === null ? null : names.map((name) => ({ name })) });
  if (response.errorCode !== ErrorCode.NONE) throw new KafkaError(response.errorCode, response.errorMessage ?? "DescribeUserScramCredentials failed");
  return response.results.map((result) => ({
    user: result.user, errorCode: result.errorCode, errorMessage: result.errorMessage,
    credentials: result.credentialInfos.map((info) => ({ mechanism: scramMechanismById(info.mechanism)?.name ?? `UNKNOWN(${info.mechanism})`, iterations: info.iterations })),
  }));
}

export interface ScramChange {
  user: string;
  mechanism: string;
  /** Set (with a fresh salt) when given; deleted when absent. */
  password?: string;
  iterations?: number;
}

/** Set or delete credentials; one result per user (errorCode NONE when done). */
export async function alterScramUsers(client: KafkaClient, changes: readonly ScramChange[]): Promise<{ user: string; errorCode: number; errorMessage: string | null }[]> {
  const deletions = [];
  const upsertions = [];
  for (const change of changes) {
    const mechanism = scramMechanismByName(change.mechanism);
    if (!mechanism) throw new Error(`unknown SCRAM mechanism ${change.mechanism} (SCRAM-SHA-256 or SCRAM-SHA-512)`);
    if (change.password === undefined) {
      deletions.push({ name: change.user, mechanism: mechanism.id });
      continue;
    }
    const iterations = change.iterations ?? 8192;
    const salt = new Uint8Array(randomBytes(32));
    upsertions.push({ name: change.user, mechanism: mechanism.id, iterations, salt, saltedPassword: await saltedPassword(mechanism, change.password, salt, iterations) });
  }
  const connection = await client.controllerConnection();
  const response = await connection.request(AlterUserScramCredentialsApi, { deletions, upsertions });
  return response.results.map((result) => ({ user: result.user, errorCode: result.errorCode, errorMessage: result.errorMessage }));
}

export async function createAcls(client: KafkaClient, bindings: readonly AclBinding[]): Promise<{ errorCode: number; errorMessage: string | null }[]> {
  const connection = await client.controllerConnection();
  const response = await connection.request(CreateAclsApi, {
    creations: bindings.map((binding) => ({
      resourceType: binding.resourceType, resourceName: binding.resourceName, resourcePatternType: binding.patternType,
      principal: binding.principal, host: binding.host, operation: binding.operation, permissionType: binding.permissionType,
    })),
  });
  return response.results.map((result) => ({ errorCode: result.errorCode, errorMessage: result.errorMessage }));
}

function filterFields(filter: AclBindingFilter) {
  return {
    resourceTypeFilter: filter.resourceType, resourceNameFilter: filter.resourceName, patternTypeFilter: filter.patternType,
    principalFilter: filter.principal, hostFilter: filter.host, operation: filter.operation, permissionType: filter.permissionType,
  };
}

export async function describeAcls(client: KafkaClient, filter: AclBindingFilter): Promise<AclBinding[]> {
  const connection = await client.anyConnection();
  const response = await connection.request(DescribeAclsApi, filterFields(filter));
  if (response.errorCode !== ErrorCode.NONE) throw new KafkaError(response.errorCode, response.errorMessage ?? "DescribeAcls failed");
  return response.resources.flatMap((resource) => resource.acls.map((acl) => ({
    resourceType: resource.resourceType, resourceName: resource.resourceName, patternType: resource.patternType,
    principal: acl.principal, host: acl.host, operation: acl.operation, permissionType: acl.permissionType,
  })));
}

/** The bindings removed (throws the first filter's error). */
export async function deleteAcls(client: KafkaClient, filters: readonly AclBindingFilter[]): Promise<AclBinding[]> {
  const connection = await client.controllerConnection();
  const response = await connection.request(DeleteAclsApi, { filters: filters.map(filterFields) });
  const failed = response.filterResults.find((result) => result.errorCode !== ErrorCode.NONE);
  if (failed) throw new KafkaError(failed.errorCode, failed.errorMessage ?? "DeleteAcls failed");
  return response.filterResults.flatMap((result) => result.matchingAcls.map((acl) => ({
    resourceType: acl.resourceType, resourceName: acl.resourceName, patternType: acl.patternType,
    principal: acl.principal, host: acl.host, operation: acl.operation, permissionType: acl.permissionType,
  })));
}
