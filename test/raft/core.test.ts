// The Raft core's rules, one at a time, on hand-driven clusters (the simulator checks them all
// together under faults, test/simulation/). Messages are delivered by the test in FIFO order; the
// injected random source is fixed, so timeouts are exact.

import { describe, expect, test } from "bun:test";
import { ErrorCode } from "../../src/protocol/errors.ts";
import type { NodeId, QuorumState, RaftBugs, RaftEntry, RaftMessage, RaftReady, RaftTimeouts } from "../../src/raft/index.ts";
import { INITIAL_QUORUM_STATE, MemoryRaftLog, RaftCore } from "../../src/raft/index.ts";
import { AssertionError } from "../../src/util/assert.ts";

const timeouts: RaftTimeouts = { fetchTimeoutMs: 1000, electionTimeoutMs: 500, electionBackoffMaxMs: 500, retryBackoffMs: 50, fetchMaxWaitMs: 400, requestTimeoutMs: 1000 };
const value = (text: string) => new TextEncoder().encode(text);

interface Member {
  core: RaftCore;
  log: MemoryRaftLog;
  persisted: QuorumState;
  committed: RaftEntry[];
  readies: RaftReady[];
}

type Options = { fetchMaxEntries?: number; bugs?: RaftBugs };

/**
 * A hand-driven cluster: time passes in 10 ms steps; each step ticks every node, delivers every
 * queued message (FIFO, except to or from isolated nodes) and flushes every disk (except stalled
 * ones). The random source of each node is a fixed number the test sets (0 = shortest timeout).
 */
class Harness {
  readonly members = new Map<NodeId, Member>();
  readonly inFlight: { from: NodeId; to: NodeId; message: RaftMessage }[] = [];
  readonly isolated = new Set<NodeId>();
  readonly stalledDisks = new Set<NodeId>();
  readonly randomOf = new Map<NodeId, number>();
  now = 0;

  constructor(readonly voters: NodeId[], observers: NodeId[] = [], private readonly options: Options = {}) {
    // The first voter times out first unless a test says otherwise: no split votes.
    for (const id of voters) this.randomOf.set(id, id === voters[0] ? 0 : 0.9);
    for (const id of [...voters, ...observers]) this.add(id, new MemoryRaftLog(), INITIAL_QUORUM_STATE);
  }

  add(id: NodeId, log: MemoryRaftLog, persisted: QuorumState): Member {
    const core = new RaftCore({
      nodeId: id, voters: this.voters, clusterId: "test", timeouts, fetchMaxEntries: this.options.fetchMaxEntries ?? 100, fetchMaxBytes: 1 << 20,
      snapshotChunkBytes: 4, bugs: this.options.bugs,
    }, log, persisted, this.now, () => this.randomOf.get(id) ?? 0.5);
    const member: Member = { core, log, persisted, committed: [], readies: [] };
    this.members.set(id, member);
    this.drain(id);
    return member;
  }

  member(id: NodeId): Member {
    return this.members.get(id)!;
  }

  /** Take a node's ready the way a driver does: persist the quorum state, then queue the messages. */
  drain(id: NodeId): RaftReady {
    const member = this.member(id);
    const ready = member.core.ready();
    if (ready.quorumState !== null) member.persisted = ready.quorumState;
    for (const outbound of ready.messages) this.inFlight.push({ from: id, to: outbound.to, message: outbound.message });
    member.committed.push(...ready.committed);
    member.readies.push(ready);
    return ready;
  }

  /** Deliver queued messages (only those matching `filter`), isolated nodes' ones dropped. */
  deliver(filter: (from: NodeId, to: NodeId, message: RaftMessage) => boolean = () => true): void {
    for (let step = 0; step < 10_000; step++) {
      const index = this.inFlight.findIndex(({ from, to, message }) => filter(from, to, message));
      if (index < 0) return;
      const [{ from, to, message }] = this.inFlight.splice(index, 1);
      if (this.isolated.has(from!) || this.isolated.has(to!)) continue;
      const member = this.member(to!);
      member.core.tick(this.now);
      member.core.step(from!, message!);
      this.drain(to!);
    }
  }

  drop(filter: (from: NodeId, to: NodeId, message: RaftMessage) => boolean = () => true): void {
    for (let index = this.inFlight.length - 1; index >= 0; index--) {
      const { from, to, message } = this.inFlight[index]!;
      if (filter(from, to, message)) this.inFlight.splice(index, 1);
    }
  }

  /** The driver's flush: everything written so far is now durable. */
  flush(id: NodeId): void {
    const member = this.member(id);
    member.core.markDurable({ offset: member.log.endOffset, epoch: member.log.epochBefore(member.log.endOffset) });
    this.drain(id);
  }

  /** Let `ms` pass in 10 ms steps, delivering and flushing as the cluster goes. */
  run(ms: number): void {
    for (let elapsed = 0; elapsed < ms; elapsed += 10) {
      this.now += 10;
      for (const [id, member] of this.members) {
        member.core.tick(this.now);
        this.drain(id);
      }
      for (let round = 0; round < 5; round++) {
        this.deliver();
        for (const id of this.members.keys()) if (!this.stalledDisks.has(id)) this.flush(id);
      }
    }
  }

  leader(): NodeId | undefined {
    return [...this.members].find(([, member]) => member.core.roleName === "leader")?.[0];
  }

  /** Make `id` time out first and run until it leads. */
  elect(id: NodeId): void {
    for (const voter of this.voters) this.randomOf.set(voter, voter === id ? 0 : 0.9);
    for (let elapsed = 0; elapsed < 5000 && this.member(id).core.roleName !== "leader"; elapsed += 10) this.run(10);
    expect(this.member(id).core.roleName).toBe("leader");
  }
}

describe("RaftCore", () => {
  test("a single voter elects itself and commits once its own log is durable", () => {
    const cluster = new Harness([1]);
    cluster.stalledDisks.add(1);
    cluster.run(1000);
    const member = cluster.member(1);
    expect(member.core.roleName).toBe("leader");
    expect(member.persisted).toEqual({ epoch: 1, votedId: 1, leaderId: 1 });
    expect(member.log.endOffset).toBe(1n); // the LeaderChange entry
    expect(member.core.committedOffset).toBe(0n); // not durable yet
    expect(member.core.propose([value("a"), value("b")])).toEqual({ ok: true, firstOffset: 1n, lastOffset: 2n, epoch: 1 });
    expect(cluster.drain(1).flushNeeded).toBe(true);
    cluster.flush(1);
    expect(member.core.committedOffset).toBe(3n);
    expect(member.committed.map((entry) => entry.kind)).toEqual(["leaderChange", "data", "data"]);
  });

  test("pre-vote changes nothing on the voters; the real vote is persisted in the ready that answers it", () => {
    const cluster = new Harness([1, 2, 3]);
    cluster.randomOf.set(1, 0);
    cluster.randomOf.set(2, 0.9);
    cluster.randomOf.set(3, 0.9);
    while (cluster.member(1).core.roleName !== "prospective") {
      cluster.now += 10;
      cluster.member(1).core.tick(cluster.now);
    }
    const prospective = cluster.drain(1);
    expect(prospective.quorumState).toBeNull();
    const preVotes = prospective.messages.map((outbound) => outbound.message);
    expect(preVotes.map((message) => message.kind === "VoteRequest" && message.preVote && message.candidateEpoch)).toEqual([1, 1]);
    cluster.deliver((_from, to) => to === 2);
    expect(cluster.member(2).persisted).toEqual(INITIAL_QUORUM_STATE); // a pre-vote grant persists nothing
    expect(cluster.member(2).core.epoch).toBe(0);
    cluster.deliver((_from, to) => to === 1); // the grant makes a majority with its own
    const candidate = cluster.member(1).readies.at(-1)!;
    expect(candidate.quorumState).toEqual({ epoch: 1, votedId: 1, leaderId: null });
    expect(candidate.messages.filter(({ message }) => message.kind === "VoteRequest" && !message.preVote)).toHaveLength(2);
    cluster.deliver((_from, to, message) => to === 2 && message.kind === "VoteRequest" && !message.preVote);
    const voter = cluster.member(2).readies.at(-1)!;
    expect(voter.quorumState).toEqual({ epoch: 1, votedId: 1, leaderId: null });
    expect(voter.messages.map(({ message }) => message.kind)).toEqual(["VoteResponse"]);
    cluster.run(100);
    expect(cluster.leader()).toBe(1);
    expect(cluster.member(3).persisted).toMatchObject({ epoch: 1, leaderId: 1 });
  });

  test("a voter votes once per epoch and only for a log at least as up to date as its own", () => {
    const cluster = new Harness([1, 2, 3]);
    cluster.elect(1);
    cluster.member(1).core.propose([value("x")]);
    cluster.run(100);
    expect(cluster.member(2).log.endOffset).toBe(2n);
    // Node 3 asks with an empty log (a new disk): refused, though the epoch moves to 2.
    const vote: RaftMessage = { kind: "VoteRequest", clusterId: "test", voterId: 2, candidateId: 3, candidateEpoch: 2, lastOffsetEpoch: -1, lastOffset: 0n, preVote: false };
    cluster.member(2).core.step(3, vote);
    expect(cluster.drain(2).messages.at(-1)!.message).toMatchObject({ kind: "VoteResponse", voteGranted: false, leaderEpoch: 2 });
    // 1 asks for epoch 2 with an up-to-date log: granted; 3 then asks with one too: refused (voted).
    cluster.member(2).core.step(1, { ...vote, candidateId: 1, lastOffsetEpoch: 1, lastOffset: 2n });
    expect(cluster.drain(2).messages.at(-1)!.message).toMatchObject({ voteGranted: true });
    cluster.member(2).core.step(3, { ...vote, lastOffsetEpoch: 1, lastOffset: 2n });
    expect(cluster.drain(2).messages.at(-1)!.message).toMatchObject({ voteGranted: false });
    expect(cluster.member(2).persisted).toEqual({ epoch: 2, votedId: 1, leaderId: null });
  });

  test("a pre-vote is refused while the voter hears from its leader, granted once it has not for the fetch timeout", () => {
    const cluster = new Harness([1, 2, 3]);
    cluster.elect(1);
    const preVote: RaftMessage = { kind: "VoteRequest", clusterId: "test", voterId: 2, candidateId: 3, candidateEpoch: 2, lastOffsetEpoch: 1, lastOffset: 1n, preVote: true };
    cluster.member(2).core.step(3, preVote);
    expect(cluster.drain(2).messages.at(-1)!.message).toMatchObject({ kind: "VoteResponse", voteGranted: false, leaderId: 1, leaderEpoch: 1 });
    cluster.isolated.add(1); // the leader goes silent (and 3 is cut off too, so nobody is elected meanwhile)
    cluster.isolated.add(3);
    cluster.run(timeouts.fetchTimeoutMs);
    expect(cluster.member(2).core.epoch).toBe(1);
    cluster.member(2).core.step(3, preVote);
    expect(cluster.drain(2).messages.at(-1)!.message).toMatchObject({ voteGranted: true });
    expect(cluster.member(2).core.epoch).toBe(1); // granting a pre-vote changes nothing
  });

  test("a new leader commits nothing until its own LeaderChange entry is on a majority (no figure 8)", () => {
    const cluster = new Harness([1, 2, 3], [], { fetchMaxEntries: 1 });
    cluster.elect(1);
    // 1 appends x; only 2 gets it, then 1 is cut off for good.
    cluster.isolated.add(3);
    cluster.member(1).core.propose([value("x")]);
    cluster.drain(1);
    cluster.stalledDisks.add(1);
    cluster.run(20);
    expect(cluster.member(2).log.endOffset).toBe(2n);
    cluster.isolated.delete(3);
    cluster.isolated.add(1);
    cluster.elect(2);
    const leader = cluster.member(2);
    expect(leader.log.read(2n, 1, 1000)[0]!.kind).toBe("leaderChange");
    // Follower 3 fetched one entry at a time: at offset 2 (x, of epoch 1) the leader committed nothing.
    const highWatermarks = leader.readies.map((ready) => ready.highWatermark);
    expect(highWatermarks).not.toContain(2n);
    expect(leader.core.committedOffset).toBe(3n);
  });

  test("the leader counts only its durable end toward the high watermark", () => {
    const cluster = new Harness([1, 2, 3]);
    cluster.elect(1);
    const leader = cluster.member(1);
    cluster.stalledDisks.add(1);
    cluster.isolated.add(3);
    leader.core.propose([value("a")]);
    cluster.drain(1);
    cluster.run(50);
    expect(cluster.member(2).log.endOffset).toBe(2n);
    expect(cluster.member(2).core.durableEndOffset).toBe(2n);
    // Follower 2 holds offset 1 durably, the leader only in memory: one of three is no majority.
    expect(leader.core.committedOffset).toBe(1n);
    cluster.flush(1);
    expect(leader.core.committedOffset).toBe(2n);
  });

  test("a stale durability report (the log changed since the flush began) is ignored", () => {
    const cluster = new Harness([1]);
    cluster.stalledDisks.add(1);
    cluster.run(1000);
    const member = cluster.member(1);
    member.core.markDurable({ offset: 1n, epoch: 7 });
    expect(member.core.durableEndOffset).toBe(0n);
    member.core.markDurable({ offset: 5n, epoch: 1 });
    expect(member.core.durableEndOffset).toBe(0n);
    member.core.markDurable({ offset: 1n, epoch: 1 });
    expect(member.core.durableEndOffset).toBe(1n);
  });

  test("a follower truncates where its log diverges from the new leader's", () => {
    const cluster = new Harness([1, 2, 3]);
    cluster.elect(1);
    cluster.member(1).core.propose([value("a")]);
    cluster.run(50);
    // Leader 1 appends two entries only it holds, then is cut off; 2 leads epoch 2 with 3.
    cluster.isolated.add(2);
    cluster.isolated.add(3);
    cluster.member(1).core.propose([value("lost1"), value("lost2")]);
    cluster.run(10);
    cluster.isolated.clear();
    cluster.isolated.add(1);
    cluster.elect(2);
    cluster.member(2).core.propose([value("b")]);
    cluster.run(50);
    expect(cluster.member(1).log.endOffset).toBe(4n);
    cluster.isolated.clear();
    cluster.run(2000);
    const old = cluster.member(1);
    expect(old.core.roleName).toBe("follower");
    const epoch = cluster.member(2).core.epoch;
    expect(epoch).toBeGreaterThan(1);
    expect(old.log.read(0n, 10, 1000).map((entry) => `${entry.offset}:${entry.epoch}`)).toEqual(["0:1", "1:1", `2:${epoch}`, `3:${epoch}`]);
    expect(old.committed.map((entry) => entry.offset)).toEqual([0n, 1n, 2n, 3n]);
  });

  test("a follower told to truncate below its high watermark fails an assertion", () => {
    const cluster = new Harness([1, 2]);
    cluster.elect(1);
    cluster.member(1).core.propose([value("a"), value("b")]);
    cluster.run(50);
    const follower = cluster.member(2);
    expect(follower.core.committedOffset).toBe(3n);
    // The follower's fetch at its log end is parked at the leader; answer it with a bogus divergence.
    const parked = { fetchOffset: follower.log.endOffset, lastFetchedEpoch: 1 };
    expect(() => follower.core.step(1, {
      kind: "FetchResponse", errorCode: 0, leaderId: 1, leaderEpoch: 1, highWatermark: 3n, logStartOffset: 0n, divergingEpoch: { epoch: 0, endOffset: 1n },
      snapshotId: null, records: [], currentLeaderEpoch: 1, fetchOffset: parked.fetchOffset, lastFetchedEpoch: parked.lastFetchedEpoch,
    })).toThrow(AssertionError);
  });

  test("a follower below the leader's log start installs its snapshot in chunks, then fetches on from it", () => {
    const cluster = new Harness([1, 2, 3]);
    cluster.elect(1);
    const leader = cluster.member(1);
    cluster.isolated.add(3);
    leader.core.propose([value("a"), value("b"), value("c")]);
    cluster.run(50);
    expect(leader.core.committedOffset).toBe(4n);
    // The state machine snapshots at 4; the log drops what it covers.
    const id = { endOffset: 4n, epoch: 1 };
    leader.log.saveSnapshot(id, value("state-at-4"));
    leader.core.installedSnapshot(id);
    expect(leader.log.startOffset).toBe(4n);
    // Node 3 comes back with an empty log (a new disk) and follows.
    cluster.isolated.delete(3);
    const fresh = cluster.add(3, new MemoryRaftLog(), { epoch: 1, votedId: null, leaderId: 1 });
    cluster.run(100);
    expect(cluster.inFlight.length + fresh.readies.length).toBeGreaterThan(0);
    expect(fresh.readies.filter((ready) => ready.snapshotInstalled !== null).map((ready) => ready.snapshotInstalled)).toEqual([id]);
    expect(new TextDecoder().decode(fresh.log.snapshotBytes()!)).toBe("state-at-4"); // 10 bytes in chunks of 4
    expect(fresh.log.startOffset).toBe(4n);
    leader.core.propose([value("d")]);
    cluster.run(50);
    expect(fresh.committed.map((entry) => entry.offset)).toEqual([4n]);
  });

  test("check-quorum: a leader cut off from the majority resigns; a successor is elected", () => {
    const cluster = new Harness([1, 2, 3]);
    cluster.elect(1);
    cluster.isolated.add(1);
    cluster.run(timeouts.fetchTimeoutMs);
    expect(cluster.member(1).core.roleName).toBe("resigned");
    expect(cluster.member(1).core.propose([value("x")]).ok).toBe(false);
    const ends = cluster.member(1).readies.flatMap((ready) => ready.messages).filter(({ message }) => message.kind === "EndQuorumEpochRequest");
    expect(new Set(ends.map(({ to }) => to))).toEqual(new Set([2, 3]));
    cluster.randomOf.set(2, 0.1); // distinct timeouts, as a real random source gives
    cluster.run(2000);
    expect([2, 3]).toContain(cluster.leader()!);
    expect(cluster.member(2).core.epoch).toBeGreaterThanOrEqual(2);
  });

  test("a graceful resignation hands over at once through EndQuorumEpoch", () => {
    const cluster = new Harness([1, 2, 3]);
    cluster.elect(1);
    cluster.member(1).core.resign();
    cluster.drain(1);
    cluster.deliver((_from, _to, message) => message.kind === "EndQuorumEpochRequest");
    expect(cluster.member(2).core.roleName).toBe("unattached");
    expect(cluster.member(3).core.roleName).toBe("unattached");
    const started = cluster.now;
    while (cluster.leader() === undefined || cluster.leader() === 1) cluster.run(10);
    // Much sooner than a fetch timeout plus an election timeout.
    expect(cluster.now - started).toBeLessThan(timeouts.fetchTimeoutMs);
  });

  test("a restarted leader does not lead again: it resigns its epoch", () => {
    const cluster = new Harness([1, 2, 3]);
    cluster.elect(1);
    const before = cluster.member(1);
    const restarted = cluster.add(1, before.log.clone(), before.persisted);
    expect(restarted.core.roleName).toBe("resigned");
    expect(restarted.readies[0]!.messages.map(({ message }) => message.kind)).toEqual(["EndQuorumEpochRequest", "EndQuorumEpochRequest"]);
  });

  test("an observer finds the leader through any voter, follows it, and never counts toward commit", () => {
    const cluster = new Harness([1, 2, 3], [9]);
    cluster.elect(1);
    cluster.run(1000);
    const observer = cluster.member(9);
    expect(observer.core.roleName).toBe("follower");
    expect(observer.core.leaderId).toBe(1);
    cluster.member(1).core.propose([value("a")]);
    cluster.run(50);
    expect(observer.committed.map((entry) => entry.offset)).toEqual([0n, 1n]);
    const described = cluster.member(1).core.describeQuorum()!;
    expect(described.currentVoters.map((voter) => voter.replicaId)).toEqual([1, 2, 3]);
    expect(described.currentVoters.map((voter) => voter.logEndOffset)).toEqual([2n, 2n, 2n]);
    expect(described.observers.map((replica) => [replica.replicaId, replica.logEndOffset])).toEqual([[9, 2n]]);
    expect(described.highWatermark).toBe(2n);
    expect(cluster.member(2).core.describeQuorum()).toBeNull();
    // With both other voters gone, the observer alone cannot make a majority.
    cluster.isolated.add(2);
    cluster.isolated.add(3);
    cluster.member(1).core.propose([value("b")]);
    cluster.run(50);
    expect(observer.log.endOffset).toBe(3n);
    expect(cluster.member(1).core.committedOffset).toBe(2n);
    // A vote request meant for another node is refused (KIP-853 answers a vote to this node on its
    // log alone: its own voter set may be older than the candidate's).
    observer.core.step(2, { kind: "VoteRequest", clusterId: "test", voterId: 3, candidateId: 2, candidateEpoch: 5, lastOffsetEpoch: 1, lastOffset: 2n, preVote: false });
    expect(cluster.drain(9).messages.at(-1)!.message).toMatchObject({ voteGranted: false, errorCode: ErrorCode.INCONSISTENT_VOTER_SET });
  });

  describe("voter changes (KIP-853)", () => {
    const voter = (id: NodeId) => ({ id, host: "localhost", port: 9000 + id });

    test("an observer caught up is added; the set is log state on every member; one change at a time", () => {
      const cluster = new Harness([1, 2, 3], [4, 5]);
      cluster.elect(1);
      cluster.run(1200); // the observers find the leader through a voter and catch up
      const leader = cluster.member(1).core;
      expect(leader.addVoter(voter(1))).toMatchObject({ ok: false, errorCode: ErrorCode.DUPLICATE_VOTER });
      expect(leader.removeVoter(7)).toMatchObject({ ok: false, errorCode: ErrorCode.VOTER_NOT_FOUND });
      const added = leader.addVoter(voter(4));
      expect(added.ok).toBe(true);
      expect(leader.voterIds).toEqual([1, 2, 3, 4]);
      // The next change waits until this one commits.
      expect(leader.removeVoter(2)).toMatchObject({ ok: false, errorCode: ErrorCode.REQUEST_TIMED_OUT });
      cluster.drain(1);
      cluster.run(100);
      expect(leader.committedOffset).toBeGreaterThan((added as { offset: bigint }).offset);
      for (const id of [1, 2, 3, 4, 5]) expect(cluster.member(id).core.voterIds).toEqual([1, 2, 3, 4]);
      expect(cluster.member(1).core.describeQuorum()!.currentVoters.map((replica) => replica.replicaId).sort()).toEqual([1, 2, 3, 4]);
      expect(cluster.member(1).core.describeQuorum()!.observers.map((replica) => replica.replicaId)).toEqual([5]);
      // Four voters: a commit needs three; with 2 and 3 cut off, 1 and 4 alone cannot commit.
      cluster.isolated.add(2);
      cluster.isolated.add(3);
      const before = leader.committedOffset;
      leader.propose([value("x")]);
      cluster.run(50);
      expect(leader.committedOffset).toBe(before);
      cluster.isolated.clear();
      cluster.run(1500); // their lost fetches are resent after the request timeout
      expect(cluster.member(4).core.committedOffset).toBeGreaterThanOrEqual(before + 1n);
    });

    test("a node that is not a caught-up observer is not added", () => {
      const cluster = new Harness([1, 2, 3]);
      cluster.elect(1);
      cluster.run(100);
      expect(cluster.member(1).core.addVoter(voter(8))).toMatchObject({ ok: false, errorCode: ErrorCode.REQUEST_TIMED_OUT });
      expect(cluster.member(2).core.addVoter(voter(8))).toMatchObject({ ok: false, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    });

    test("a leader that removes itself leads until the change commits, then steps down and a remaining voter leads", () => {
      const cluster = new Harness([1, 2, 3]);
      cluster.elect(1);
      cluster.run(100);
      const leader = cluster.member(1).core;
      const removed = leader.removeVoter(1);
      expect(removed.ok).toBe(true);
      expect(leader.roleName).toBe("leader"); // not committed yet
      cluster.drain(1);
      for (const id of [2, 3]) cluster.randomOf.set(id, id === 2 ? 0 : 0.9);
      cluster.run(3000);
      expect(leader.roleName).not.toBe("leader");
      expect(cluster.leader()).toBe(2);
      expect(cluster.member(2).core.voterIds).toEqual([2, 3]);
      // The removed node follows as an observer and still gets what the new leader commits.
      cluster.member(2).core.propose([value("after")]);
      cluster.run(200);
      const end = cluster.member(2).core.committedOffset;
      expect(cluster.member(1).core.committedOffset).toBe(end);
      expect(cluster.member(1).core.leaderId).toBe(2);
    });

    test("a voters entry truncated away takes the set back with it", () => {
      const cluster = new Harness([1, 2, 3], [4]);
      cluster.elect(1);
      cluster.run(1200);
      // 1 appends the change but nobody gets it; 2 takes over and 1's entry is truncated.
      cluster.isolated.add(1);
      expect(cluster.member(1).core.addVoter(voter(4)).ok).toBe(true);
      expect(cluster.member(1).core.voterIds).toEqual([1, 2, 3, 4]);
      for (const id of [2, 3]) cluster.randomOf.set(id, id === 2 ? 0 : 0.9);
      cluster.run(3000);
      expect(cluster.leader()).toBe(2);
      cluster.isolated.clear();
      cluster.run(2000);
      expect(cluster.member(1).core.voterIds).toEqual([1, 2, 3]);
      expect(cluster.member(1).core.leaderId).toBe(2);
    });
  });

  test("every fetch gets exactly one answer: a parked one replaced by a resent fetch is answered then", () => {
    const cluster = new Harness([1, 2, 3]);
    cluster.elect(1);
    const leader = cluster.member(1);
    const fetch: RaftMessage = {
      kind: "FetchRequest", clusterId: "test", replicaId: 2, maxWaitMs: 400, currentLeaderEpoch: 1, fetchOffset: leader.log.endOffset, lastFetchedEpoch: 1,
      logStartOffset: 0n, maxBytes: 1 << 20,
    };
    cluster.drop();
    leader.core.step(2, fetch); // parked (replacing, and so answering, the fetch 2 had parked)
    cluster.drain(1);
    leader.core.step(2, fetch); // resent: the first is answered now, the second parked
    expect(cluster.drain(1).messages.filter(({ to, message }) => to === 2 && message.kind === "FetchResponse")).toHaveLength(1);
    expect(leader.core.ready().messages).toEqual([]);
    leader.core.tick((cluster.now += 400));
    expect(cluster.drain(1).messages.filter(({ to, message }) => to === 2 && message.kind === "FetchResponse")).toHaveLength(1);
  });

  test("propose on a follower answers NOT_LEADER_OR_FOLLOWER with the leader", () => {
    const cluster = new Harness([1, 2, 3]);
    cluster.elect(1);
    expect(cluster.member(2).core.propose([value("x")])).toEqual({ ok: false, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, leaderId: 1, epoch: 1 });
  });
});
