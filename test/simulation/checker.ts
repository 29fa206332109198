// The invariants of docs/replication.md §8, checked as the simulation runs. Most checks are
// incremental (each event checks what it changed against global ledgers of what was committed);
// `fullCheck` re-reads every log for log matching.

import type { PartitionRegistration } from "../../src/cluster/controller/partition-change.ts";
import type { MemoryRaftLog, QuorumState, RaftEntry } from "../../src/raft/index.ts";
import type { Image, MetadataRecord } from "./image.ts";
import { entryKey } from "./image.ts";
import { InvariantViolation } from "./trace.ts";

/** What an election looks at in one version (in memory or on disk) of a voter's log. */
export interface LogView {
  readonly node: number;
  readonly label: "memory" | "disk";
  readonly lastEpoch: number;
  readonly endOffset: bigint;
  readonly holdsCommitted: boolean;
  /** The voter set this version of the log puts in effect (its latest voters entry, else the snapshot's, else the static set). */
  readonly voters: readonly number[];
}

function atLeastAsUpToDate(candidate: LogView, voter: LogView): boolean {
  return candidate.lastEpoch !== voter.lastEpoch ? candidate.lastEpoch > voter.lastEpoch : candidate.endOffset >= voter.endOffset;
}

/** One record of a partition log in the simulation: its value is a unique producer record id. */
export interface PartitionEntry {
  readonly offset: bigint;
  readonly epoch: number;
  readonly value: string;
}

interface PartitionLedger {
  /** offset → value of every record ever below some replica's high watermark. */
  committed: string[];
  /** offset → the leader epoch in which it was first seen committed. */
  committedInEpoch: number[];
  /** Records acknowledged to a producer with acks=all: offset → value and the leader epoch of the ack. */
  acked: Map<number, { value: string; epoch: number }>;
  leaders: Map<number, number>;
}

export class Checker {
  /** Raft: offset → identity of every committed entry, and the image hash after applying it. */
  private readonly committedKeys: string[] = [];
  private readonly hashes: number[] = [0];
  private readonly raftLeaders = new Map<number, number>();
  private readonly votes = new Map<string, number>();
  private readonly persistedEpochs = new Map<number, number>();
  private readonly partitions = new Map<number, PartitionLedger>();
  checks = 0;

  fail(message: string): never {
    throw new InvariantViolation(message);
  }

  // ── Metadata quorum ────────────────────────────────────────────────────────────────────────

  /** Quorum state reached the disk: the epoch never decreases, one vote per epoch. */
  onQuorumPersisted(node: number, state: QuorumState): void {
    this.checks++;
    const previous = this.persistedEpochs.get(node) ?? 0;
    if (state.epoch < previous) this.fail(`n${node} persisted epoch ${state.epoch} after ${previous}`);
    this.persistedEpochs.set(node, state.epoch);
    if (state.votedId === null) return;
    const key = `${node}:${state.epoch}`;
    const vote = this.votes.get(key);
    if (vote !== undefined && vote !== state.votedId) this.fail(`n${node} voted for ${vote} and ${state.votedId} in epoch ${state.epoch}`);
    this.votes.set(key, state.votedId);
  }

  /** A node became leader: alone in its epoch, and holding every committed entry. */
  onRaftLeader(node: number, epoch: number, log: MemoryRaftLog, image: Image): void {
    this.checks++;
    const other = this.raftLeaders.get(epoch);
    if (other !== undefined && other !== node) this.fail(`two Raft leaders in epoch ${epoch}: n${other} and n${node}`);
    this.raftLeaders.set(epoch, node);
    const committedEnd = this.committedKeys.length;
    if (log.endOffset < BigInt(committedEnd)) this.fail(`leader n${node} (epoch ${epoch}) log ends at ${log.endOffset}, ${committedEnd} entries are committed`);
    // Entries below the log start are in the snapshot, which onSnapshotLoaded checked by hash.
    const start = Number(log.startOffset);
    if (image.applied < log.startOffset) this.fail(`leader n${node} applied ${image.applied}, below its log start ${log.startOffset}`);
    const entries = log.allEntries();
    for (let offset = start; offset < committedEnd; offset++) {
      const key = entryKey(entries[offset - start]!);
      if (key !== this.committedKeys[offset]) this.fail(`leader n${node} (epoch ${epoch}) has ${key} at ${offset}, committed was ${this.committedKeys[offset]}`);
    }
  }

  /** A node applied a committed entry: the same entry every node committed at that offset. */
  onRaftApplied(node: number, entry: RaftEntry, image: Image): void {
    this.checks++;
    const offset = Number(entry.offset);
    const key = entryKey(entry);
    if (offset > this.committedKeys.length) this.fail(`n${node} committed ${offset} with a gap (ledger ends at ${this.committedKeys.length})`);
    if (offset === this.committedKeys.length) this.committedKeys.push(key);
    else if (this.committedKeys[offset] !== key) this.fail(`n${node} committed ${key} at ${offset}, committed before was ${this.committedKeys[offset]}`);
    this.checkHash(node, offset + 1, image.hash);
  }

  /** A node loaded a snapshot: it must sum up exactly the committed entries below its offset. */
  onSnapshotLoaded(node: number, image: Image): void {
    this.checks++;
    this.checkHash(node, Number(image.applied), image.hash);
  }

  private checkHash(node: number, applied: number, hash: number): void {
    const known = this.hashes[applied];
    if (known === undefined) {
      if (applied !== this.hashes.length) this.fail(`n${node} applied up to ${applied}, ledger hashes end at ${this.hashes.length - 1}`);
      this.hashes.push(hash);
    } else if (known !== hash) {
      this.fail(`n${node} state after ${applied} entries differs from what was committed (hash ${hash} ≠ ${known})`);
    }
  }

  /**
   * Whether a log holds every committed entry. By log matching it is enough that it holds the last
   * committed entry (or starts at a snapshot past it).
   */
  holdsCommitted(log: MemoryRaftLog, snapshotEnd: bigint): boolean {
    const committedEnd = this.committedKeys.length;
    if (snapshotEnd >= BigInt(committedEnd) || log.startOffset >= BigInt(committedEnd)) return true;
    if (log.endOffset < BigInt(committedEnd)) return false;
    return entryKey(log.allEntries()[committedEnd - 1 - Number(log.startOffset)]!) === this.committedKeys[committedEnd - 1];
  }

  /**
   * The election-safety oracle (Raft's leader-completeness lemma, checked on every reachable log):
   * a log that could win an election right now — at least as up to date as some version (in memory
   * or on disk) of a majority of voters — must hold every committed entry. A commit that some
   * winnable log lacks is a commit that a crash and an election can undo, found before they happen.
   */
  checkElectionSafety(nodes: ReadonlyMap<number, readonly LogView[]>): void {
    this.checks++;
    for (const versions of nodes.values()) {
      for (const candidate of versions) {
        // Only a node in the voter set its own log puts in effect stands; it counts only those voters (KIP-853).
        if (candidate.holdsCommitted || !candidate.voters.includes(candidate.node)) continue;
        const majority = Math.floor(candidate.voters.length / 2) + 1;
        const supporters = candidate.voters.filter((voter) => (nodes.get(voter) ?? []).some((version) => atLeastAsUpToDate(candidate, version))).length;
        if (supporters >= majority) {
          this.fail(`election safety: n${candidate.node}'s ${candidate.label} log (last epoch ${candidate.lastEpoch}, end ${candidate.endOffset}, voters [${candidate.voters}]) lacks committed entries (${this.committedKeys.length} committed, last ${this.committedKeys[this.committedKeys.length - 1]}) yet ${supporters} of ${candidate.voters.length} voters would vote for it`);
        }
      }
    }
  }

  /** How many voter changes (KIP-853 voters entries) the quorum committed. */
  get committedVoterChanges(): number {
    return this.committedKeys.filter((key) => key.includes(":V")).length;
  }

  get raftCommitted(): number {
    return this.committedKeys.length;
  }

  /**
   * Log matching across the nodes' logs: entries with the same offset and epoch are the same entry
   * and follow the same entry (by induction, the same whole prefix).
   */
  fullRaftCheck(logs: ReadonlyMap<number, MemoryRaftLog>): void {
    this.checks++;
    const keys = new Map<string, string>();
    const predecessors = new Map<string, string>();
    for (const [node, log] of logs) {
      let previous: string | null = null; // unknown for the first entry after a snapshot
      for (const entry of log.allEntries()) {
        const position = `${entry.offset}:${entry.epoch}`;
        const key = entryKey(entry);
        const seen = keys.get(position);
        if (seen !== undefined && seen !== key) this.fail(`log matching: n${node} has ${key} at offset ${entry.offset} epoch ${entry.epoch}, another node ${seen}`);
        keys.set(position, key);
        if (previous !== null) {
          const seenPrevious = predecessors.get(position);
          if (seenPrevious !== undefined && seenPrevious !== previous) this.fail(`log matching: at offset ${entry.offset} epoch ${entry.epoch} n${node} follows ${previous}, another node ${seenPrevious}`);
          predecessors.set(position, previous);
        }
        previous = key;
      }
    }
  }

  /** A register record of an unclean restart takes the broker out of every ISR that keeps another member (KIP-966). */
  onBatchApplied(node: number, records: readonly MetadataRecord[], partitions: ReadonlyMap<number, PartitionRegistration>): void {
    for (const record of records) {
      if (record.t !== "register" || record.clean) continue;
      this.checks++;
      for (const [partition, registration] of partitions) {
        if (registration.isr.includes(record.broker) && registration.isr.length > 1) this.fail(`n${node}: b${record.broker} restarted uncleanly but stays in p${partition}'s ISR [${registration.isr}]`);
      }
    }
  }

  // ── Partitions ─────────────────────────────────────────────────────────────────────────────

  private ledger(partition: number): PartitionLedger {
    let ledger = this.partitions.get(partition);
    if (ledger === undefined) {
      ledger = { committed: [], committedInEpoch: [], acked: new Map(), leaders: new Map() };
      this.partitions.set(partition, ledger);
    }
    return ledger;
  }

  /**
   * A replica took leadership of `registration.leaderEpoch`: alone in its epoch, from the ISR, and
   * holding everything committed or acknowledged (acks=all) under earlier leader epochs. (A broker
   * catching up on metadata may act on a registration already superseded; such a leader of an old
   * epoch owes nothing to the newer epochs.)
   */
  onPartitionLeader(partition: number, broker: number, registration: PartitionRegistration, entries: readonly PartitionEntry[]): void {
    this.checks++;
    const ledger = this.ledger(partition);
    const epoch = registration.leaderEpoch;
    const other = ledger.leaders.get(epoch);
    if (other !== undefined && other !== broker) this.fail(`p${partition}: two leaders in leader epoch ${epoch}: b${other} and b${broker}`);
    ledger.leaders.set(epoch, broker);
    if (!registration.isr.includes(broker)) this.fail(`p${partition}: b${broker} leads epoch ${epoch} outside the ISR ${registration.isr}`);
    this.checkHoldsCommitted(partition, broker, entries, `new leader (epoch ${epoch})`, epoch);
    for (const [offset, acked] of ledger.acked) {
      if (acked.epoch >= epoch) continue;
      if (entries[offset]?.value !== acked.value) this.fail(`p${partition}: acks=all record ${acked.value} at ${offset} (acknowledged in epoch ${acked.epoch}) missing on new leader b${broker} of epoch ${epoch} (has ${entries[offset]?.value ?? "nothing"})`);
    }
  }

  /** A broker joins an ISR: it must hold every committed record (docs/replication.md §5, expand). */
  onIsrJoin(partition: number, broker: number, entries: readonly PartitionEntry[]): void {
    this.checks++;
    this.checkHoldsCommitted(partition, broker, entries, "ISR joiner", Number.POSITIVE_INFINITY);
  }

  private checkHoldsCommitted(partition: number, broker: number, entries: readonly PartitionEntry[], who: string, beforeEpoch: number): void {
    const ledger = this.ledger(partition);
    for (let offset = 0; offset < ledger.committed.length; offset++) {
      if (ledger.committedInEpoch[offset]! >= beforeEpoch) continue;
      if (entries[offset]?.value !== ledger.committed[offset]) this.fail(`p${partition}: ${who} b${broker} lacks ${ledger.committed[offset]} at ${offset}, committed in epoch ${ledger.committedInEpoch[offset]} (has ${entries[offset]?.value ?? "nothing"})`);
    }
  }

  /** A replica's high watermark moved (in its leader epoch `epoch`): never back, and what it passed is what was committed. */
  onPartitionHighWatermark(partition: number, broker: number, epoch: number, from: bigint, to: bigint, entries: readonly PartitionEntry[]): void {
    this.checks++;
    if (to < from) this.fail(`p${partition}: b${broker} high watermark moved back from ${from} to ${to}`);
    const ledger = this.ledger(partition);
    for (let offset = Number(from); offset < Number(to); offset++) {
      const value = entries[offset]?.value;
      if (value === undefined) this.fail(`p${partition}: b${broker} high watermark ${to} past its log end ${entries.length}`);
      if (offset < ledger.committed.length) {
        if (ledger.committed[offset] !== value) this.fail(`p${partition}: b${broker} committed ${value} at ${offset}, committed before was ${ledger.committed[offset]}`);
      } else if (offset === ledger.committed.length) {
        ledger.committed.push(value);
        ledger.committedInEpoch.push(epoch);
      } else {
        this.fail(`p${partition}: b${broker} commits ${offset} past the ledger end ${ledger.committed.length}`);
      }
    }
  }

  /** A leader moved its high watermark: every member of its ISR (as it sees it) holds what is now committed. */
  onLeaderHighWatermark(partition: number, leader: number, from: bigint, to: bigint, members: ReadonlyMap<number, readonly PartitionEntry[]>): void {
    this.checks++;
    const committed = this.ledger(partition).committed;
    for (const [member, entries] of members) {
      for (let offset = Number(from); offset < Number(to); offset++) {
        if (entries[offset]?.value !== committed[offset]) this.fail(`p${partition}: leader b${leader} committed up to ${to} but ISR member b${member} has ${entries[offset]?.value ?? "nothing"} at ${offset} (committed ${committed[offset]})`);
      }
    }
  }

  /** A replica truncates: never a committed record it holds (that would mean the leader lacks it). */
  onPartitionTruncate(partition: number, broker: number, offset: bigint, highWatermark: bigint, entries: readonly PartitionEntry[]): void {
    this.checks++;
    if (offset < highWatermark) this.fail(`p${partition}: b${broker} truncates to ${offset} below its high watermark ${highWatermark}`);
    const committed = this.ledger(partition).committed;
    for (let index = Number(offset); index < Math.min(entries.length, committed.length); index++) {
      if (entries[index]!.value === committed[index]) this.fail(`p${partition}: b${broker} truncates committed ${committed[index]} at ${index}`);
    }
  }

  onAck(partition: number, offset: bigint, value: string, epoch: number): void {
    const ledger = this.ledger(partition);
    ledger.acked.set(Number(offset), { value, epoch });
  }

  ackedCount(): number {
    let count = 0;
    for (const ledger of this.partitions.values()) count += ledger.acked.size;
    return count;
  }

  partitionCommitted(partition: number): number {
    return this.ledger(partition).committed.length;
  }
}
