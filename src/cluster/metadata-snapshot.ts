// Snapshots of the metadata image (docs/replication.md §2), in the metadata log's directory under
// Kafka's name `<end offset, 20 digits>-<epoch, 10 digits>.checkpoint`: the image as records that
// rebuild it from nothing, as of the end offset (exclusive: the snapshot holds every record below
// it). The file is a sequence of RecordBatch v2, laid out as Kafka lays out a KRaft snapshot:
//
//   offset 0        control batch: SnapshotHeaderRecord (control type 3)
//   offsets 1 … n   the records (values: records.ts JSON), in batches of about 512 KiB
//   offset n + 1    control batch: SnapshotFooterRecord (control type 4)
//
// Every batch carries its CRC-32C; a file is usable only when every CRC matches, the offsets run
// 0 … n+1 without a gap, and it begins with the header and ends with the footer (a file cut at a
// batch boundary is refused too). Written atomically (temp file, datasync, rename, directory
// fsync): after a crash either the whole snapshot is there or none.
//
// Why snapshots on a one-node cluster: the image is the only copy of the topic list, ids and
// config overrides. With a snapshot kept beside the log, damage to either alone loses nothing:
// damage to the log below the newest snapshot is never read, a damaged newest snapshot falls back
// to the one before it plus the log after it. (A cluster has the other voters' copies too.)

import { join } from "node:path";
import type { NativeApi } from "../native/types.ts";
import { verifyBatchCrc } from "../protocol/record-batch.ts";
import { batchesIn, decodeLogRecords, encodeBatch, type LogRecord } from "../protocol/record-batch.ts";
import type { StorageFs } from "../storage/index.ts";
import { ConfigResourceType, decodeRecord, encodeRecord, record, type MetadataRecord } from "./records.ts";
import type { MetadataImage } from "./image.ts";

export const snapshotSuffix = ".checkpoint";
const controlAttribute = 0x20;
const snapshotHeaderType = 3;
const snapshotFooterType = 4;
const batchBytesTarget = 512 * 1024;
const noHeaders = new Uint8Array([0]);

export interface SnapshotId {
  /** Offset of the first record the snapshot does not hold (last contained offset + 1). */
  endOffset: bigint;
  /** The metadata log epoch of the last record it holds. */
  epoch: number;
}

export function snapshotFileName(id: SnapshotId): string {
  return `${String(id.endOffset).padStart(20, "0")}-${String(id.epoch).padStart(10, "0")}${snapshotSuffix}`;
}

/** The snapshots in `directory`, newest first. */
export function listSnapshots(fs: StorageFs, directory: string): SnapshotId[] {
  const found: SnapshotId[] = [];
  for (const name of fs.readdir(directory)) {
    const match = /^(\d{20})-(\d{10})\.checkpoint$/.exec(name);
    if (match) found.push({ endOffset: BigInt(match[1]!), epoch: Number(match[2]) });
  }
  return found.sort((left, right) => (left.endOffset === right.endOffset ? right.epoch - left.epoch : left.endOffset > right.endOffset ? -1 : 1));
}

/** Records that rebuild `image` when applied to the empty image (offset and epoch aside). */
export function imageRecords(image: MetadataImage): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  for (const broker of [...image.brokers.values()].sort((left, right) => left.id - right.id)) {
    records.push(record("RegisterBrokerRecord", {
      brokerId: broker.id,
      incarnationId: broker.incarnationId,
      brokerEpoch: broker.epoch,
      endPoints: broker.endpoints.map((endpoint) => ({ ...endpoint })),
      rack: broker.rack,
      fenced: broker.fenced,
      inControlledShutdown: broker.inControlledShutdown,
      cleanShutdown: broker.cleanShutdown,
    }));
  }
  for (const [resourceName, configs] of image.brokerConfigs) {
    for (const [name, value] of Object.entries(configs)) {
      records.push(record("ConfigRecord", { resourceType: ConfigResourceType.BROKER, resourceName, name, value }));
    }
  }
  for (const topic of image.topicsById.values()) {
    records.push(record("TopicRecord", { name: topic.name, topicId: topic.id }));
    for (const [name, value] of Object.entries(topic.configs)) {
      records.push(record("ConfigRecord", { resourceType: ConfigResourceType.TOPIC, resourceName: topic.name, name, value }));
    }
    for (const partition of topic.partitions) {
      records.push(record("PartitionRecord", {
        partitionId: partition.partition,
        topicId: topic.id,
        replicas: [...partition.replicas],
        isr: [...partition.isr],
        removingReplicas: [...partition.removingReplicas],
        addingReplicas: [...partition.addingReplicas],
        leader: partition.leader,
        leaderEpoch: partition.leaderEpoch,
        partitionEpoch: partition.partitionEpoch,
      }));
    }
  }
  for (const [name, credentials] of image.scramCredentials) {
    for (const credential of credentials.values()) {
      records.push(record("UserScramCredentialRecord", { name, mechanism: credential.mechanism, salt: credential.salt, storedKey: credential.storedKey, serverKey: credential.serverKey, iterations: credential.iterations }));
    }
  }
  for (const [id, binding] of image.acls) records.push(record("AccessControlEntryRecord", { id, ...binding }));
  for (const quota of image.clientQuotas.values()) {
    for (const [key, value] of Object.entries(quota.values)) {
      records.push(record("ClientQuotaRecord", { entity: quota.entity.map((part) => ({ ...part })), key, value, remove: false }));
    }
  }
  if (image.quorumVoters !== null) records.push(record("VotersRecord", { voters: image.quorumVoters.map((voter) => ({ ...voter })) }));
  if (image.nextProducerId > 0n) {
    records.push(record("ProducerIdsRecord", { brokerId: -1, brokerEpoch: -1n, nextProducerId: image.nextProducerId }));
  }
  return records;
}

function controlRecord(offset: bigint, timestamp: bigint, type: number, value: Uint8Array): LogRecord {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setInt16(2, type); // version 0, type
  return { offset, timestamp, key, value, headers: noHeaders };
}

/** The bytes of a snapshot file holding `records`. */
export function encodeSnapshot(native: NativeApi, records: readonly MetadataRecord[], epoch: number, timestamp: bigint): Uint8Array {
  const template = { attributes: 0, producerId: -1n, producerEpoch: -1, baseSequence: -1, partitionLeaderEpoch: epoch };
  const control = { ...template, attributes: controlAttribute };
  // SnapshotHeaderRecord v0: version (int16), lastContainedLogTimestamp (int64), no tagged fields.
  const headerValue = new Uint8Array(11);
  new DataView(headerValue.buffer).setBigInt64(2, timestamp);
  const parts = [encodeBatch([controlRecord(0n, timestamp, snapshotHeaderType, headerValue)], control)];
  let pending: LogRecord[] = [];
  let pendingBytes = 0;
  let offset = 1n;
  for (const metadataRecord of records) {
    const value = encodeRecord(metadataRecord);
    pending.push({ offset: offset++, timestamp, key: null, value, headers: noHeaders });
    pendingBytes += value.length;
    if (pendingBytes >= batchBytesTarget) {
      parts.push(encodeBatch(pending, template));
      pending = [];
      pendingBytes = 0;
    }
  }
  if (pending.length > 0) parts.push(encodeBatch(pending, template));
  // SnapshotFooterRecord v0: version (int16), no tagged fields.
  parts.push(encodeBatch([controlRecord(offset, timestamp, snapshotFooterType, new Uint8Array(3))], control));
  const bytes = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let position = 0;
  for (const part of parts) {
    bytes.set(part, position);
    position += part.length;
  }
  return bytes;
}

function controlType(batch: Uint8Array): number | null {
  const records = decodeLogRecords(batch);
  if (records === null || records.length !== 1 || records[0]!.key === null || records[0]!.key.length !== 4) return null;
  const key = records[0]!.key;
  return new DataView(key.buffer, key.byteOffset, key.length).getInt16(2);
}

/** The records of a snapshot file; throws with the reason when the file is not a complete, intact snapshot. */
export function decodeSnapshot(native: NativeApi, bytes: Uint8Array): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  let expected = 0n;
  let consumed = 0;
  let header = false;
  let footer = false;
  for (const batch of batchesIn(bytes)) {
    if (footer) throw new Error("batches after the footer");
    if (!verifyBatchCrc(batch.bytes, native)) throw new Error(`CRC mismatch in the batch at offset ${batch.header.baseOffset}`);
    if (batch.header.baseOffset !== expected) throw new Error(`batch at offset ${batch.header.baseOffset}, expected ${expected}`);
    expected = batch.header.baseOffset + BigInt(batch.header.lastOffsetDelta) + 1n;
    consumed += batch.bytes.length;
    const control = (batch.header.attributes & controlAttribute) !== 0;
    if (!header) {
      if (!control || controlType(batch.bytes) !== snapshotHeaderType) throw new Error("no snapshot header");
      header = true;
      continue;
    }
    if (control) {
      if (controlType(batch.bytes) !== snapshotFooterType) throw new Error(`unexpected control batch at offset ${batch.header.baseOffset}`);
      footer = true;
      continue;
    }
    const stored = decodeLogRecords(batch.bytes, batch.header);
    if (stored === null) throw new Error(`compressed batch at offset ${batch.header.baseOffset}`);
    for (const logRecord of stored) {
      if (logRecord.value === null) throw new Error(`record at offset ${logRecord.offset} has no value`);
      records.push(decodeRecord(logRecord.value));
    }
  }
  if (!header) throw new Error("empty or unreadable");
  if (!footer) throw new Error("no snapshot footer (cut short)");
  if (consumed !== bytes.length) throw new Error(`${bytes.length - consumed} bytes after the footer`);
  return records;
}

export async function writeSnapshot(fs: StorageFs, native: NativeApi, directory: string, id: SnapshotId, records: readonly MetadataRecord[], timestamp: bigint): Promise<string> {
  const path = join(directory, snapshotFileName(id));
  await fs.writeFileAtomic(path, encodeSnapshot(native, records, id.epoch, timestamp));
  return path;
}
