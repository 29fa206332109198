// The controller's security operations, pure functions of the image (as topic-operations.ts):
// SCRAM credentials (AlterUserScramCredentials, KIP-554) and ACL bindings (CreateAcls,
// DeleteAcls). Each answers per item with Kafka's error codes; only valid items produce records.

import { ErrorCode } from "../../protocol/errors.ts";
import { filterMatches, invalidBindingReason, sameBinding, type AclBinding, type AclBindingFilter } from "../../security/acl.ts";
import { credentialFromSaltedPassword, scramIterationsMax, scramMechanismById } from "../../security/scram.ts";
import { assert } from "../../util/assert.ts";
import type { MetadataImage } from "../image.ts";
import { record, type MetadataRecord } from "../records.ts";
import type { Outcome } from "./topic-operations.ts";

export interface ScramDeletion {
  name: string;
  mechanism: number;
}

export interface ScramUpsertion {
  name: string;
  mechanism: number;
  iterations: number;
  salt: Uint8Array;
  saltedPassword: Uint8Array;
}

export interface ItemResult {
  errorCode: number;
  errorMessage: string | null;
}

export interface UserResult extends ItemResult {
  user: string;
}

/** One result per distinct user, in the order users first appear (Kafka answers per user). */
export function alterScramCredentials(image: MetadataImage, deletions: readonly ScramDeletion[], upsertions: readonly ScramUpsertion[]): Outcome<UserResult[]> {
  const results = new Map<string, UserResult>();
  const fail = (user: string, errorCode: number, errorMessage: string) => {
    if (!results.has(user) || results.get(user)!.errorCode === ErrorCode.NONE) results.set(user, { user, errorCode, errorMessage });
  };
  // A user named twice for one mechanism (in either list) is refused as a whole, as Kafka does.
  const seen = new Map<string, number>();
  for (const item of [...deletions, ...upsertions]) {
    const key = `${item.name}\u0000${item.mechanism}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    if (!results.has(item.name)) results.set(item.name, { user: item.name, errorCode: ErrorCode.NONE, errorMessage: null });
  }
  for (const item of [...deletions, ...upsertions]) {
    if (seen.get(`${item.name}\u0000${item.mechanism}`)! > 1) fail(item.name, ErrorCode.DUPLICATE_RESOURCE, `a user's credential for one mechanism may be altered once per request`);
    if (item.name === "") fail(item.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, "Username must not be empty");
    if (!scramMechanismById(item.mechanism)) fail(item.name, ErrorCode.UNSUPPORTED_SASL_MECHANISM, `unknown SCRAM mechanism ${item.mechanism}`);
  }
  for (const deletion of deletions) {
    if (!image.scramCredentials.get(deletion.name)?.has(deletion.mechanism)) {
      fail(deletion.name, ErrorCode.RESOURCE_NOT_FOUND, "Attempt to delete a user credential that does not exist");
    }
  }
  for (const upsertion of upsertions) {
    const mechanism = scramMechanismById(upsertion.mechanism);
    if (!mechanism) continue;
    if (upsertion.iterations < mechanism.minIterations) fail(upsertion.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, `Too few iterations (minimum ${mechanism.minIterations})`);
    if (upsertion.iterations > scramIterationsMax) fail(upsertion.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, `Too many iterations (maximum ${scramIterationsMax})`);
    if (upsertion.salt.length === 0) fail(upsertion.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, "empty salt");
    if (upsertion.saltedPassword.length !== mechanism.keyBytes) fail(upsertion.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, `a ${mechanism.name} salted password has ${mechanism.keyBytes} bytes`);
  }
  const records: MetadataRecord[] = [];
  for (const deletion of deletions) {
    if (results.get(deletion.name)!.errorCode !== ErrorCode.NONE) continue;
    records.push(record("RemoveUserScramCredentialRecord", { name: deletion.name, mechanism: deletion.mechanism }));
  }
  for (const upsertion of upsertions) {
    if (results.get(upsertion.name)!.errorCode !== ErrorCode.NONE) continue;
    const credential = credentialFromSaltedPassword(scramMechanismById(upsertion.mechanism)!, upsertion.salt, upsertion.saltedPassword, upsertion.iterations);
    records.push(record("UserScramCredentialRecord", { name: upsertion.name, ...credential }));
  }
  return { records, value: [...results.values()] };
}

/** Create bindings: an invalid one answers INVALID_REQUEST; one that already exists is not duplicated. */
export function createAcls(image: MetadataImage, bindings: readonly AclBinding[], newId: () => string): Outcome<ItemResult[]> {
  const records: MetadataRecord[] = [];
  const created: AclBinding[] = [];
  const value = bindings.map((binding): ItemResult => {
    const reason = invalidBindingReason(binding);
    if (reason !== null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: reason };
    const exists = [...image.acls.values(), ...created].some((existing) => sameBinding(existing, binding));
    if (!exists) {
      records.push(record("AccessControlEntryRecord", { id: newId(), ...binding }));
      created.push(binding);
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null };
  });
  assert(value.length === bindings.length, "one result per binding");
  return { records, value };
}

/** Delete every binding each filter matches; per filter, the bindings it removed. */
export function deleteAcls(image: MetadataImage, filters: readonly AclBindingFilter[]): Outcome<AclBinding[][]> {
  const removed = new Set<string>();
  const records: MetadataRecord[] = [];
  const value = filters.map((filter) => {
    const matching: AclBinding[] = [];
    for (const [id, binding] of image.acls) {
      if (!filterMatches(filter, binding)) continue;
      matching.push(binding);
      if (!removed.has(id)) {
        removed.add(id);
        records.push(record("RemoveAccessControlEntryRecord", { id }));
      }
    }
    return matching;
  });
  return { records, value };
}

export interface QuotaAlteration {
  entity: { entityType: string; entityName: string | null }[];
  ops: { key: string; value: number; remove: boolean }[];
}

const userAndClientKeys = new Set(["producer_byte_rate", "consumer_byte_rate", "request_percentage", "controller_mutation_rate"]);
/** Keys whose values are whole numbers (Kafka's LONG quota configs). */
const wholeNumberKeys = new Set(["producer_byte_rate", "consumer_byte_rate", "connection_creation_rate"]);

function invalidQuotaReason(alteration: QuotaAlteration): string | null {
  const types = alteration.entity.map((part) => part.entityType);
  if (types.length === 0 || new Set(types).size !== types.length) return "an entity names each type once";
  const combination = [...types].sort().join(",");
  if (!["user", "client-id", "client-id,user", "ip"].includes(combination)) return `invalid entity combination ${combination}`;
  for (const op of alteration.ops) {
    const allowed = combination === "ip" ? op.key === "connection_creation_rate" : userAndClientKeys.has(op.key);
    if (!allowed) return `${op.key} is not a quota of ${combination}`;
    if (op.remove) continue;
    if (!Number.isFinite(op.value) || op.value <= 0) return `${op.key} must be positive`;
    if (wholeNumberKeys.has(op.key) && !Number.isInteger(op.value)) return `${op.key} must be a whole number`;
  }
  return null;
}

/** AlterClientQuotas: per entry, NONE or INVALID_REQUEST with the reason; valid entries become ClientQuotaRecords. */
export function alterClientQuotas(alterations: readonly QuotaAlteration[], validateOnly: boolean): Outcome<ItemResult[]> {
  const records: MetadataRecord[] = [];
  const value = alterations.map((alteration): ItemResult => {
    const reason = invalidQuotaReason(alteration);
    if (reason !== null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: reason };
    if (!validateOnly) {
      for (const op of alteration.ops) {
        records.push(record("ClientQuotaRecord", { entity: alteration.entity.map((part) => ({ ...part })), key: op.key, value: op.remove ? 0 : op.value, remove: op.remove }));
      }
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null };
  });
  return { records, value };
}
