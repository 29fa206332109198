// The records of the metadata log (docs/replication.md §2): Kafka's KRaft metadata record names
// and fields, the subset Runnel uses. Each record is the value of one Kafka record in a RecordBatch
// v2 of `__cluster_metadata-0`, encoded as UTF-8 JSON:
//
//   {"type":"TopicRecord","version":0,"data":{"name":"orders","topicId":"…"}}
//
// with int64 fields as decimal strings (JSON numbers lose precision past 2^53). Departure from
// Kafka, which frames them in its binary ApiMessageAndVersion: no tool outside Runnel reads them,
// and JSON stays readable with kcat. Decoding checks every field's type, so a damaged or foreign
// record is refused with a clear error instead of corrupting the image.

import { isUuidString } from "../protocol/primitives.ts";

/** A listener of a broker as its registration advertises it (Kafka's BrokerEndpoint). */
export interface Endpoint {
  name: string;
  host: string;
  port: number;
  /** Kafka's SecurityProtocol id: 0 PLAINTEXT. */
  securityProtocol: number;
}

/** ConfigRecord resource types (Kafka's ConfigResource.Type ids). */
export const ConfigResourceType = { TOPIC: 2, BROKER: 4 } as const;

/** PartitionRecord.leader / PartitionChangeRecord.leader value for "no leader". */
export const NO_LEADER = -1;

export interface RecordData {
  RegisterBrokerRecord: {
    brokerId: number;
    /** Random per process start: tells a restart from a duplicate registration. */
    incarnationId: string;
    /** The offset of this record once committed; carried by the broker's later requests. */
    brokerEpoch: bigint;
    endPoints: Endpoint[];
    rack: string | null;
    fenced: boolean;
    inControlledShutdown: boolean;
    /** The broker's storage found its clean-shutdown marker (KIP-966's unclean-restart rule). */
    cleanShutdown: boolean;
  };
  BrokerRegistrationChangeRecord: {
    brokerId: number;
    brokerEpoch: bigint;
    /** Absent: no change. */
    fenced?: boolean;
    inControlledShutdown?: boolean;
  };
  UnregisterBrokerRecord: { brokerId: number; brokerEpoch: bigint };
  TopicRecord: { name: string; topicId: string };
  PartitionRecord: {
    partitionId: number;
    topicId: string;
    replicas: number[];
    isr: number[];
    removingReplicas: number[];
    addingReplicas: number[];
    /** NO_LEADER (-1) when no replica may lead. */
    leader: number;
    leaderEpoch: number;
    partitionEpoch: number;
  };
  /**
   * Only the fields that change. A `leader` (even the same one) bumps the leader epoch by one;
   * every change bumps the partition epoch by one (Kafka's replay rules).
   */
  PartitionChangeRecord: {
    partitionId: number;
    topicId: string;
    isr?: number[];
    leader?: number;
    replicas?: number[];
    removingReplicas?: number[];
    addingReplicas?: number[];
  };
  ConfigRecord: { resourceType: number; resourceName: string; name: string; value: string | null };
  RemoveTopicRecord: { topicId: string };
  /** The next producer id block starts at `nextProducerId`; ids below it are handed out. */
  ProducerIdsRecord: { brokerId: number; brokerEpoch: bigint; nextProducerId: bigint };
  NoOpRecord: Record<string, never>;
  /** A user's SCRAM credential for one mechanism (1 SCRAM-SHA-256, 2 SCRAM-SHA-512), as Kafka stores it. */
  UserScramCredentialRecord: { name: string; mechanism: number; salt: Uint8Array; storedKey: Uint8Array; serverKey: Uint8Array; iterations: number };
  RemoveUserScramCredentialRecord: { name: string; mechanism: number };
  /** One ACL binding (Kafka's ids for resource type, pattern type, operation, permission). */
  AccessControlEntryRecord: {
    id: string; resourceType: number; resourceName: string; patternType: number; principal: string; host: string; operation: number; permissionType: number;
  };
  RemoveAccessControlEntryRecord: { id: string };
  /** One quota value of a client entity (user and/or client-id; a null name is the default); remove: unset. */
  ClientQuotaRecord: { entity: { entityType: string; entityName: string | null }[]; key: string; value: number; remove: boolean };
  /**
   * The metadata quorum's voter set (KIP-853's VotersRecord): the Raft layer writes it as a voters
   * control entry, the image keeps the latest so every snapshot records the set in effect at its
   * end (the Raft core reads it back from there: raft/voter-history.ts). Absent: the static
   * controller.quorum.voters apply.
   */
  VotersRecord: { voters: QuorumVoterRecord[] };
}

/** One voter of VotersRecord: its id and CONTROLLER endpoint. */
export interface QuorumVoterRecord {
  id: number;
  host: string;
  port: number;
}

/** The voter set the latest VotersRecord among `records` names, or null (snapshots without one). */
export function votersOfRecords(records: readonly MetadataRecord[]): QuorumVoterRecord[] | null {
  let found: QuorumVoterRecord[] | null = null;
  for (const metadataRecord of records) if (metadataRecord.type === "VotersRecord") found = metadataRecord.data.voters;
  return found;
}

export type RecordType = keyof RecordData;

export type MetadataRecord = {
  [Type in RecordType]: { type: Type; version: 0; data: RecordData[Type] };
}[RecordType];

/** Build a record of the current version. */
export function record<Type extends RecordType>(type: Type, data: RecordData[Type]): MetadataRecord {
  return { type, version: 0, data } as MetadataRecord;
}

// ----- encoding ---------------------------------------------------------------------------------

type FieldKind = "int32" | "int64" | "boolean" | "string" | "nullableString" | "uuid" | "int32Array" | "endpoints" | "bytes" | "double" | "quotaEntity" | "voters";

interface FieldSpec {
  kind: FieldKind;
  optional?: boolean;
}

const int32 = { kind: "int32" } as const;
const int64 = { kind: "int64" } as const;
const uuid = { kind: "uuid" } as const;
const replicaList = { kind: "int32Array" } as const;

const schemas: { [Type in RecordType]: Record<keyof RecordData[Type], FieldSpec> } = {
  RegisterBrokerRecord: {
    brokerId: int32, incarnationId: uuid, brokerEpoch: int64, endPoints: { kind: "endpoints" },
    rack: { kind: "nullableString" }, fenced: { kind: "boolean" }, inControlledShutdown: { kind: "boolean" },
    cleanShutdown: { kind: "boolean" },
  },
  BrokerRegistrationChangeRecord: {
    brokerId: int32, brokerEpoch: int64, fenced: { kind: "boolean", optional: true },
    inControlledShutdown: { kind: "boolean", optional: true },
  },
  UnregisterBrokerRecord: { brokerId: int32, brokerEpoch: int64 },
  TopicRecord: { name: { kind: "string" }, topicId: uuid },
  PartitionRecord: {
    partitionId: int32, topicId: uuid, replicas: replicaList, isr: replicaList, removingReplicas: replicaList,
    addingReplicas: replicaList, leader: int32, leaderEpoch: int32, partitionEpoch: int32,
  },
  PartitionChangeRecord: {
    partitionId: int32, topicId: uuid, isr: { ...replicaList, optional: true }, leader: { ...int32, optional: true },
    replicas: { ...replicaList, optional: true }, removingReplicas: { ...replicaList, optional: true },
    addingReplicas: { ...replicaList, optional: true },
  },
  ConfigRecord: { resourceType: { kind: "int32" }, resourceName: { kind: "string" }, name: { kind: "string" }, value: { kind: "nullableString" } },
  RemoveTopicRecord: { topicId: uuid },
  ProducerIdsRecord: { brokerId: int32, brokerEpoch: int64, nextProducerId: int64 },
  NoOpRecord: {},
  UserScramCredentialRecord: {
    name: { kind: "string" }, mechanism: int32, salt: { kind: "bytes" }, storedKey: { kind: "bytes" }, serverKey: { kind: "bytes" }, iterations: int32,
  },
  RemoveUserScramCredentialRecord: { name: { kind: "string" }, mechanism: int32 },
  AccessControlEntryRecord: {
    id: uuid, resourceType: int32, resourceName: { kind: "string" }, patternType: int32, principal: { kind: "string" }, host: { kind: "string" },
    operation: int32, permissionType: int32,
  },
  RemoveAccessControlEntryRecord: { id: uuid },
  ClientQuotaRecord: { entity: { kind: "quotaEntity" }, key: { kind: "string" }, value: { kind: "double" }, remove: { kind: "boolean" } },
  VotersRecord: { voters: { kind: "voters" } },
};

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The JSON text of a record (int64 fields as decimal strings). */
export function encodeRecordJson(metadataRecord: MetadataRecord): string {
  // Byte fields (SCRAM salts and keys) as base64 text.
  return JSON.stringify(metadataRecord, (_key, value) =>
    (typeof value === "bigint" ? value.toString() : value instanceof Uint8Array ? Buffer.from(value).toString("base64") : value));
}

export function encodeRecord(metadataRecord: MetadataRecord): Uint8Array {
  return encoder.encode(encodeRecordJson(metadataRecord));
}

export class MetadataRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MetadataRecordError";
  }
}

function isInt32(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff;
}

function convertField(type: string, name: string, spec: FieldSpec, value: unknown): unknown {
  const bad = () => new MetadataRecordError(`${type}.${name}: not a valid ${spec.kind}: ${JSON.stringify(value)}`);
  switch (spec.kind) {
    case "int32":
      if (!isInt32(value)) throw bad();
      return value;
    case "int64":
      if (typeof value !== "string" || !/^-?\d{1,19}$/.test(value)) throw bad();
      return BigInt(value);
    case "boolean":
      if (typeof value !== "boolean") throw bad();
      return value;
    case "string":
      if (typeof value !== "string") throw bad();
      return value;
    case "nullableString":
      if (value !== null && typeof value !== "string") throw bad();
      return value;
    case "uuid":
      if (typeof value !== "string" || !isUuidString(value)) throw bad();
      return value;
    case "int32Array":
      if (!Array.isArray(value) || !value.every(isInt32)) throw bad();
      return value;
    case "double":
      if (typeof value !== "number" || !Number.isFinite(value)) throw bad();
      return value;
    case "quotaEntity":
      if (!Array.isArray(value) || value.length === 0) throw bad();
      return value.map((part: unknown) => {
        const candidate = part as { entityType?: unknown; entityName?: unknown } | null;
        if (typeof candidate !== "object" || candidate === null || typeof candidate.entityType !== "string"
          || (candidate.entityName !== null && typeof candidate.entityName !== "string")) throw bad();
        return { entityType: candidate.entityType, entityName: candidate.entityName };
      });
    case "bytes":
      if (typeof value !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw bad();
      return new Uint8Array(Buffer.from(value, "base64"));
    case "voters":
      if (!Array.isArray(value) || value.length === 0) throw bad();
      return value.map((voter: unknown) => {
        const candidate = voter as Partial<QuorumVoterRecord> | null;
        if (typeof candidate !== "object" || candidate === null || !isInt32(candidate.id) || typeof candidate.host !== "string" || !isInt32(candidate.port)) throw bad();
        return { id: candidate.id, host: candidate.host, port: candidate.port };
      });
    case "endpoints":
      if (!Array.isArray(value)) throw bad();
      return value.map((endpoint: unknown) => {
        const candidate = endpoint as Partial<Endpoint> | null;
        if (typeof candidate !== "object" || candidate === null || typeof candidate.name !== "string"
          || typeof candidate.host !== "string" || !isInt32(candidate.port) || !isInt32(candidate.securityProtocol)) throw bad();
        return { name: candidate.name, host: candidate.host, port: candidate.port, securityProtocol: candidate.securityProtocol };
      });
  }
}

/** Parse and check one record's JSON. Throws MetadataRecordError naming what is wrong. */
export function decodeRecordJson(text: string): MetadataRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new MetadataRecordError(`not JSON: ${String(error)}`);
  }
  const envelope = parsed as { type?: unknown; version?: unknown; data?: unknown } | null;
  if (typeof envelope !== "object" || envelope === null) throw new MetadataRecordError("a record must be a JSON object");
  const type = envelope.type;
  if (typeof type !== "string" || !Object.hasOwn(schemas, type)) throw new MetadataRecordError(`unknown record type ${JSON.stringify(type)}`);
  if (envelope.version !== 0) throw new MetadataRecordError(`${type}: unknown version ${JSON.stringify(envelope.version)}`);
  const data = envelope.data as Record<string, unknown> | null;
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new MetadataRecordError(`${type}: data must be an object`);
  const schema = schemas[type as RecordType] as Record<string, FieldSpec>;
  const converted: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(schema)) {
    if (!Object.hasOwn(data, name)) {
      if (spec.optional) continue;
      throw new MetadataRecordError(`${type}: missing field ${name}`);
    }
    converted[name] = convertField(type, name, spec, data[name]);
  }
  for (const name of Object.keys(data)) {
    if (!Object.hasOwn(schema, name)) throw new MetadataRecordError(`${type}: unknown field ${name}`);
  }
  return { type, version: 0, data: converted } as MetadataRecord;
}

export function decodeRecord(bytes: Uint8Array): MetadataRecord {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new MetadataRecordError("not UTF-8");
  }
  return decodeRecordJson(text);
}
