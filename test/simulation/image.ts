// The simulated cluster's metadata state machine: what the Raft log of the simulation carries (a
// small subset of docs/replication.md §2's records) and the image every node applies it to. The
// partition rules themselves are the real ones (src/cluster/controller/partition-change.ts).

import type { PartitionRegistration } from "../../src/cluster/controller/partition-change.ts";
import type { RaftEntry, Voter } from "../../src/raft/index.ts";

export type MetadataRecord =
  /** A broker incarnation registered (fenced until caught up); its broker epoch is the entry's offset. */
  | { t: "register"; broker: number; incarnation: number; clean: boolean }
  | { t: "fence"; broker: number }
  | { t: "unfence"; broker: number }
  | { t: "partition"; partition: number; registration: PartitionRegistration }
  | { t: "probe"; id: number }
  /** Kafka's NoOpRecord (KIP-835): an idle controller still writes, so the quorum keeps committing. */
  | { t: "noop" };

/** One Raft entry's value: records applied atomically, and a unique id (entry identity for checks). */
export interface MetadataBatch {
  u: number;
  records: MetadataRecord[];
}

export interface BrokerRegistration {
  incarnation: number;
  /** Offset of the registering entry (Kafka's broker epoch). */
  epoch: bigint;
  fenced: boolean;
  clean: boolean;
}

export interface Image {
  brokers: Map<number, BrokerRegistration>;
  partitions: Map<number, PartitionRegistration>;
  probes: Set<number>;
  /** Offset of the next entry to apply. */
  applied: bigint;
  /** A running hash of every applied entry's identity (what a snapshot is checked against). */
  hash: number;
  /** The voter set of the latest committed voters entry (KIP-853's VotersRecord); null: the static set. */
  voters: readonly Voter[] | null;
}

export function emptyImage(): Image {
  return { brokers: new Map(), partitions: new Map(), probes: new Set(), applied: 0n, hash: 0, voters: null };
}

export function cloneImage(image: Image): Image {
  return { brokers: new Map([...image.brokers].map(([id, broker]) => [id, { ...broker }])), partitions: new Map(image.partitions), probes: new Set(image.probes), applied: image.applied, hash: image.hash, voters: image.voters };
}

export function applyRecord(image: Image, record: MetadataRecord, offset: bigint): void {
  switch (record.t) {
    case "register":
      image.brokers.set(record.broker, { incarnation: record.incarnation, epoch: offset, fenced: true, clean: record.clean });
      return;
    case "fence":
    case "unfence": {
      const broker = image.brokers.get(record.broker);
      if (broker !== undefined) broker.fenced = record.t === "fence";
      return;
    }
    case "partition":
      image.partitions.set(record.partition, record.registration);
      return;
    case "probe":
      image.probes.add(record.id);
      return;
    case "noop":
      return;
  }
}

const decoded = new WeakMap<RaftEntry, MetadataBatch | null>();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeBatch(batch: MetadataBatch): Uint8Array {
  return encoder.encode(JSON.stringify(batch));
}

/** The batch of a data entry (decoded once per entry object: the simulated network shares them). */
export function batchOf(entry: RaftEntry): MetadataBatch | null {
  if (entry.kind !== "data") return null;
  let batch = decoded.get(entry);
  if (batch === undefined) {
    batch = JSON.parse(decoder.decode(entry.value)) as MetadataBatch;
    decoded.set(entry, batch);
  }
  return batch;
}

const keys = new WeakMap<RaftEntry, string>();

/** An entry's identity: its epoch and the unique id of its batch, or the leader it announces. */
export function entryKey(entry: RaftEntry): string {
  let key = keys.get(entry);
  if (key === undefined) {
    key = entry.kind === "data" ? `${entry.epoch}:${batchOf(entry)!.u}`
      : entry.kind === "voters" ? `${entry.epoch}:V${entry.voters.map((voter) => voter.id).join(",")}`
      : `${entry.epoch}:LC${entry.leaderId}`;
    keys.set(entry, key);
  }
  return key;
}

export function chainHash(hash: number, key: string): number {
  let h = hash ^ 0x811c9dc5;
  for (let index = 0; index < key.length; index++) h = Math.imul(h ^ key.charCodeAt(index), 0x01000193);
  return h >>> 0;
}

/** Apply one committed entry to the image. */
export function applyEntry(image: Image, entry: RaftEntry): void {
  const batch = batchOf(entry);
  if (batch !== null) for (const record of batch.records) applyRecord(image, record, entry.offset);
  if (entry.kind === "voters") image.voters = entry.voters;
  image.applied = entry.offset + 1n;
  image.hash = chainHash(image.hash, entryKey(entry));
}

interface EncodedImage {
  brokers: [number, { incarnation: number; epoch: string; fenced: boolean; clean: boolean }][];
  partitions: [number, PartitionRegistration][];
  probes: number[];
  applied: string;
  hash: number;
  voters: readonly Voter[] | null;
}

export function encodeImage(image: Image): Uint8Array {
  const encoded: EncodedImage = {
    brokers: [...image.brokers].map(([id, broker]) => [id, { ...broker, epoch: String(broker.epoch) }]),
    partitions: [...image.partitions],
    probes: [...image.probes],
    applied: String(image.applied),
    hash: image.hash,
    voters: image.voters,
  };
  return encoder.encode(JSON.stringify(encoded));
}

export function decodeImage(bytes: Uint8Array): Image {
  const encoded = JSON.parse(decoder.decode(bytes)) as EncodedImage;
  return {
    brokers: new Map(encoded.brokers.map(([id, broker]) => [id, { ...broker, epoch: BigInt(broker.epoch) }])),
    partitions: new Map(encoded.partitions),
    probes: new Set(encoded.probes),
    applied: BigInt(encoded.applied),
    hash: encoded.hash,
    voters: encoded.voters ?? null,
  };
}

/** The voter set a snapshot of the simulated image records (MemoryRaftLog's SnapshotVotersReader). */
export function snapshotVoters(bytes: Uint8Array): readonly Voter[] | null {
  return decodeImage(bytes).voters;
}
