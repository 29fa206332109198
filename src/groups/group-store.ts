// Where the coordinator writes what must survive a restart: committed offsets and group metadata
// (Kafka's OffsetCommit and GroupMetadata records on __consumer_offsets). The coordinator only
// sees this interface; `offsets-log.ts` implements it over the partition logs, `MemoryGroupStore`
// keeps records in memory for unit tests.

import type { CommittedOffset } from "./types.ts";

export interface StoredMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  /** The member's metadata for the chosen protocol. */
  subscription: Uint8Array;
  assignment: Uint8Array;
}

export interface GroupMetadataSnapshot {
  protocolType: string;
  generationId: number;
  protocolName: string | null;
  leader: string | null;
  /** Wall-clock ms of the last state change (the base of offset expiry for Empty groups). */
  stateTimestampMs: number;
  members: StoredMember[];
}

export type GroupRecord =
  | { kind: "offset"; groupId: string; topic: string; partition: number; value: CommittedOffset | null }
  | { kind: "group"; groupId: string; value: GroupMetadataSnapshot | null };

export interface GroupStore {
  /**
   * Appends the records of one group (in order, all in one batch) and resolves once they are in the
   * log (and durable when the log's flush policy makes appends durable). Rejects with a KafkaError
   * when the write failed; then none of the records is applied by the coordinator.
   */
  write(groupId: string, records: GroupRecord[], transaction?: ProducerIdentity): Promise<void>;
}

/** The transactional producer whose batch the records form (TxnOffsetCommit). */
export interface ProducerIdentity {
  producerId: bigint;
  producerEpoch: number;
}

export class MemoryGroupStore implements GroupStore {
  readonly records: GroupRecord[] = [];
  /** When set, the next write rejects with this error (fault injection in tests). */
  failNext: Error | null = null;

  async write(_groupId: string, records: GroupRecord[]): Promise<void> {
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = null;
      throw error;
    }
    this.records.push(...records);
  }
}
