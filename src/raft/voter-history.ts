// The voter set as log state (KIP-853): the base set in effect at the log start (the latest
// snapshot's voters, else the static `controller.quorum.voters`) and every voters entry held in the
// log after it. The set in effect is the latest one, committed or not; truncating the log drops the
// entries truncated, so the set goes back with them (KRaft's VoterSetHistory).

import { assert } from "../util/assert.ts";
import type { RaftLog } from "./log.ts";
import type { NodeId, RaftEntry, Voter } from "./types.ts";

interface VotersAt {
  readonly offset: bigint;
  readonly voters: readonly Voter[];
}

/** The static voters as Voter records (their endpoints are known to the driver, not the core). */
export function staticVoters(ids: readonly NodeId[]): Voter[] {
  return ids.map((id) => ({ id, host: "", port: -1 }));
}

export class VoterHistory {
  private base: readonly Voter[];
  private readonly entries: VotersAt[] = [];

  constructor(private readonly staticSet: readonly Voter[], log: RaftLog) {
    this.base = log.snapshotVoters() ?? staticSet;
    this.scan(log, log.startOffset);
  }

  /** The voter set in effect (the latest one in the log). */
  get current(): readonly Voter[] {
    return this.entries.length > 0 ? this.entries[this.entries.length - 1]!.voters : this.base;
  }

  get currentIds(): NodeId[] {
    return this.current.map((voter) => voter.id);
  }

  /** Offset of the latest voters entry in the log, or -1 when the set in effect is the base one. */
  get latestOffset(): bigint {
    return this.entries.length > 0 ? this.entries[this.entries.length - 1]!.offset : -1n;
  }

  /** True when a voters entry other than the base came from the log (the set is no longer the static one). */
  get fromLog(): boolean {
    return this.entries.length > 0 || this.base !== this.staticSet;
  }

  includes(id: NodeId): boolean {
    return this.current.some((voter) => voter.id === id);
  }

  appended(entries: readonly RaftEntry[]): void {
    for (const entry of entries) {
      if (entry.kind !== "voters") continue;
      assert(this.entries.length === 0 || this.entries[this.entries.length - 1]!.offset < entry.offset, "voters entries in offset order");
      this.entries.push({ offset: entry.offset, voters: entry.voters });
    }
  }

  /** The log was cut at `offset`: the sets appended from there on are gone. */
  truncated(offset: bigint): void {
    while (this.entries.length > 0 && this.entries[this.entries.length - 1]!.offset >= offset) this.entries.pop();
  }

  /** A local snapshot now covers the entries below `startOffset`: the last of them becomes the base. */
  compacted(startOffset: bigint): void {
    while (this.entries.length > 0 && this.entries[0]!.offset < startOffset) this.base = this.entries.shift()!.voters;
  }

  /** A snapshot fetched from the leader replaced the whole log. */
  replaced(log: RaftLog): void {
    this.entries.length = 0;
    this.base = log.snapshotVoters() ?? this.staticSet;
    this.scan(log, log.startOffset);
  }

  private scan(log: RaftLog, from: bigint): void {
    let offset = from;
    while (offset < log.endOffset) {
      const entries = log.read(offset, 4096, Number.MAX_SAFE_INTEGER);
      if (entries.length === 0) break;
      this.appended(entries);
      offset = entries[entries.length - 1]!.offset + 1n;
    }
  }
}
