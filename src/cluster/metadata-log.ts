// The metadata log as the rest of the node sees it (docs/replication.md §2, §4): an ordered log
// of metadata records that one leader appends to and every node applies once committed. Today a
// one-node cluster uses LocalMetadataLog (local-metadata-log.ts: committed = fsynced on this
// node's disk); the Raft-backed log of a many-node cluster implements the same interface, so the
// publisher, the controller and everything behind them run unchanged.
//
//   append(records) ─▶ leader's log ─▶ committed (durable on a majority; locally: fsynced)
//                                           │
//                        onCommit listeners ◀┘ in offset order, each batch once
//
// A Raft implementation must keep the same promises: batches are delivered once, in offset order,
// only when committed; `start()` first replays what was committed before (the newest usable
// snapshot as one batch marked `snapshot`, then the batches after it);
// `append` rejects with KafkaError NOT_CONTROLLER when this node is not the leader or loses
// leadership before the records commit (they may still commit later under a new leader — the
// caller learns of that through onCommit, never through the rejected promise).

import type { MetadataRecord } from "./records.ts";

export interface CommittedBatch {
  /** Offsets of the first and the last record of the batch. */
  readonly baseOffset: bigint;
  readonly lastOffset: bigint;
  /** The leader (Raft) epoch that wrote it. */
  readonly epoch: number;
  readonly records: readonly MetadataRecord[];
  /**
   * The batch is a snapshot: its records rebuild the whole image as of `lastOffset` from the empty
   * image (delivered first by `start`; later, by a Raft follower that fell behind the leader's log).
   */
  readonly snapshot?: boolean;
}

export interface MetadataLeader {
  /** Node id of the metadata log's leader (the active controller), -1 while there is none. */
  readonly leaderId: number;
  readonly epoch: number;
}

export interface MetadataLog {
  readonly nodeId: number;
  /** Offset of the last committed record; -1 when nothing is committed. */
  readonly committedOffset: bigint;
  /**
   * On the leader: the offset the first record of the next `append` will get (a broker's epoch is
   * the offset of its registration record, known when the controller builds it).
   */
  readonly nextOffset: bigint;
  /** The current leader of the metadata log (this node when `leaderId === nodeId`). */
  readonly leader: MetadataLeader;
  /**
   * Receive committed batches in offset order: the ones committed before (replayed by `start`),
   * then every new one. Register before `start`.
   */
  onCommit(listener: (batch: CommittedBatch) => void): void;
  /** Called on every leadership change, and once at registration with the current leader. */
  onLeaderChange(listener: (leader: MetadataLeader) => void): () => void;
  /**
   * Append `records` as one batch (all or nothing). Resolves with the offset of the last record
   * once the batch is committed and delivered to the commit listeners. Only on the leader.
   */
  append(records: readonly MetadataRecord[]): Promise<bigint>;
  /**
   * Keep `records` — the image as of committed offset `lastOffset` (epoch `epoch`), as records that
   * rebuild it from nothing — as a snapshot, from which a later start replays. Resolves once it
   * is durable; a snapshot at or below the newest one kept is ignored.
   */
  saveSnapshot(lastOffset: bigint, epoch: number, records: readonly MetadataRecord[]): Promise<void>;
  /** Replay the committed records to the listeners, then accept appends. */
  start(): Promise<void>;
  close(): Promise<void>;
}
