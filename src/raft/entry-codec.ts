// Raft entries as RecordBatch v2 batches of the `__cluster_metadata-0` partition log: one batch per
// entry, its base offset the entry's offset and its partitionLeaderEpoch the entry's epoch (so the
// storage's leader-epoch cache is the Raft log's epoch history too). A data entry is one record
// whose value is the entry's bytes (a metadata batch: metadata-codec.ts); a LeaderChange entry is a
// control batch whose record has Kafka's control key type 2 (LEADER_CHANGE) and, departing from
// Kafka's binary LeaderChangeMessage, a JSON value {leaderId, voters, grantingVoters} — nothing
// outside Runnel reads it. A voters entry (KIP-853) is a control batch of Kafka's KRAFT_VOTERS type
// 6 with, likewise, a JSON value {voters: [{id, host, port}]}.

import { batchesIn, decodeLogRecords, encodeBatch, plainBatch, readBatchHeader } from "../protocol/record-batch.ts";
import type { RaftEntry, Voter } from "./types.ts";

const controlAttribute = 0x20;
const leaderChangeType = 2;
const votersType = 6;
const noHeaders = new Uint8Array([0]);
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export function encodeEntry(entry: RaftEntry, timestampMs: bigint): Uint8Array {
  const template = { ...plainBatch, partitionLeaderEpoch: entry.epoch };
  if (entry.kind === "data") {
    return encodeBatch([{ offset: entry.offset, timestamp: timestampMs, key: null, value: entry.value, headers: noHeaders }], template);
  }
  const key = new Uint8Array(4);
  new DataView(key.buffer).setInt16(2, entry.kind === "voters" ? votersType : leaderChangeType);
  const value = textEncoder.encode(JSON.stringify(entry.kind === "voters"
    ? { voters: entry.voters }
    : { leaderId: entry.leaderId, voters: entry.voters, grantingVoters: entry.grantingVoters }));
  return encodeBatch([{ offset: entry.offset, timestamp: timestampMs, key, value, headers: noHeaders }], { ...template, attributes: controlAttribute });
}

/** The entries of stored batches (whole batches, as storage reads them), from `fromOffset` on. */
export function* decodeEntries(chunk: Uint8Array, fromOffset: bigint): Generator<RaftEntry> {
  for (const batch of batchesIn(chunk)) {
    const header = readBatchHeader(batch.bytes);
    const records = decodeLogRecords(batch.bytes, header);
    if (records === null) throw new Error(`__cluster_metadata-0: compressed batch at offset ${header.baseOffset}`);
    const control = (header.attributes & controlAttribute) !== 0;
    for (const record of records) {
      if (record.offset < fromOffset) continue;
      if (record.value === null) throw new Error(`__cluster_metadata-0: record at offset ${record.offset} has no value`);
      if (!control) {
        yield { kind: "data", offset: record.offset, epoch: header.partitionLeaderEpoch, value: record.value.slice() };
        continue;
      }
      const type = record.key !== null && record.key.byteLength >= 4 ? new DataView(record.key.buffer, record.key.byteOffset, 4).getInt16(2) : leaderChangeType;
      if (type === votersType) {
        const { voters } = JSON.parse(textDecoder.decode(record.value)) as { voters: Voter[] };
        yield { kind: "voters", offset: record.offset, epoch: header.partitionLeaderEpoch, voters };
        continue;
      }
      const change = JSON.parse(textDecoder.decode(record.value)) as { leaderId: number; voters: number[]; grantingVoters: number[] };
      yield { kind: "leaderChange", offset: record.offset, epoch: header.partitionLeaderEpoch, ...change };
    }
  }
}
