// A seeded, deterministic simulation of a Runnel cluster: N voters (and maybe an observer broker)
// running the Raft core for the metadata quorum, the controller rules, and partition replication,
// over a simulated network and simulated disks, with faults injected by a nemesis. One PRNG drives
// everything, so `runSeed(seed)` replays a run event for event. Invariants are checked after every
// step (checker.ts); after the faults heal, the cluster must elect, commit and accept acks=all
// produces within a bound.

import { DEFAULT_RAFT_TIMEOUTS } from "../../src/raft/index.ts";
import type { RaftBugs, RaftTimeouts } from "../../src/raft/index.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import type { Acks, ReplicationBugs } from "../../src/replication/core/index.ts";
import { AssertionError } from "../../src/util/assert.ts";
import { Checker } from "./checker.ts";
import type { PartitionEntry } from "./checker.ts";
import type { Coverage, SimConfig, SimContext } from "./context.ts";
import { emptyCoverage } from "./context.ts";
import { EventQueue } from "./event-queue.ts";
import { chainHash, entryKey } from "./image.ts";
import { CALM_NETWORK, SimNetwork } from "./network.ts";
import type { NodeWire } from "./node.ts";
import { resetNodeCounters, SimNode } from "./node.ts";
import { Prng } from "./prng.ts";
import type { ReplicaWire } from "./replica.ts";
import { InvariantViolation, Trace } from "./trace.ts";

/**
 * chaos: every fault, with weights; calm: only single followers cut off, and the quorum must keep
 * its leader (what pre-vote is for); churn: leaders crashed right after they win or commit, power
 * cuts and one-way cuts, entries fetched one at a time — the races of the Raft commit rules;
 * membership: chaos plus voter changes (KIP-853): two observers besides the voters, and the nemesis
 * has the quorum leader add an observer or remove a voter (itself too) one at a time, under every
 * other fault; the election-safety oracle counts each candidate's own voter set.
 */
export type SimProfile = "chaos" | "calm" | "churn" | "membership";

export interface SimOptions {
  readonly seed: number;
  readonly nodes?: 3 | 5;
  readonly profile?: SimProfile;
  readonly raftBugs?: RaftBugs;
  readonly replicationBugs?: ReplicationBugs;
  readonly chaosMs?: number;
}

export interface SimStats {
  events: number;
  simulatedMs: number;
  messages: number;
  dropped: number;
  crashes: number;
  raftCommitted: number;
  raftMaxEpoch: number;
  acked: number;
  partitionCommitted: number;
  recoveryMs: number;
  checks: number;
  /** Voter changes committed (membership profile). */
  voterChanges: number;
}

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly failure: string | null;
  readonly trace: readonly string[];
  readonly stats: SimStats;
  readonly coverage: Coverage;
  readonly summary: string;
  /** A hash of the final state of every log, to show that a seed replays exactly. */
  readonly fingerprint: string;
}

const PRODUCER_BASE_ID = 1000;

/** Timeouts scaled down ~5× from the defaults: the rules are time-scale free, the runs get shorter. */
const SIM_RAFT_TIMEOUTS: RaftTimeouts = { ...DEFAULT_RAFT_TIMEOUTS, fetchTimeoutMs: 200, electionTimeoutMs: 100, electionBackoffMaxMs: 100, retryBackoffMs: 10, fetchMaxWaitMs: 60, requestTimeoutMs: 100 };

function makeConfig(options: SimOptions, prng: Prng): SimConfig {
  const nodeCount = options.nodes ?? 3;
  const voters = Array.from({ length: nodeCount }, (_, index) => index + 1);
  const profile = options.profile ?? "chaos";
  const observers = profile === "membership" ? [nodeCount + 1, nodeCount + 2] : prng.chance(0.3) ? [nodeCount + 1] : [];
  const brokers = [...voters, ...observers];
  const partitions = new Map<number, number[]>([
    [0, prng.shuffle(voters).slice(0, 3)],
    [1, prng.shuffle(brokers).slice(0, 3)],
  ]);
  return {
    seed: options.seed, voters, observers, partitions, raftTimeouts: SIM_RAFT_TIMEOUTS,
    raftFetchMaxEntries: profile === "churn" ? 1 : prng.int(1, 4), snapshotEveryEntries: prng.int(8, 40), snapshotChunkBytes: prng.int(64, 512),
    nodeTickMs: 10, noopIntervalMs: prng.int(10, 60), brokerHeartbeatMs: 30, brokerSessionTimeoutMs: 200, replicaLagTimeMaxMs: 150, replicaFetchMaxWaitMs: 40,
    replicaRequestTimeoutMs: 100, replicaFetchBackoffMs: 10, replicaFetchMaxRecords: prng.int(1, 5), alterPartitionRetryMs: 100,
    minInsyncReplicas: 2, produceTimeoutMs: 300, partitionMode: prng.chance(0.5) ? "fsync" : "pageCache",
    minDiskDelayMs: 1, maxDiskDelayMs: prng.int(2, 12), profile,
    chaosMs: options.chaosMs ?? (profile === "calm" ? 2500 : 2000), livenessBoundMs: 5000,
    raftBugs: options.raftBugs, replicationBugs: options.replicationBugs,
  };
}

export function runSeed(options: SimOptions): SimResult {
  return new Simulation(options).run();
}

class Simulation implements SimContext {
  readonly prng: Prng;
  readonly config: SimConfig;
  readonly checker = new Checker();
  readonly coverage = emptyCoverage();
  readonly trace = new Trace();
  private readonly queue = new EventQueue();
  private readonly network: SimNetwork;
  private readonly nodes = new Map<number, SimNode>();
  private readonly producers: SimProducer[] = [];
  private nowMs = 0;
  private events = 0;
  private crashes = 0;
  /** Each node's disk: its flushes take 1..max ms (nodes differ, as real disks do). */
  private readonly diskMaxDelayMs = new Map<number, number>();
  private phase: "chaos" | "heal" = "chaos";
  private healedAtMs = -1;
  private recoveredAtMs = -1;
  private readonly ackedSinceHeal = new Set<number>();
  private calmEpoch = -1;
  /** Armed by the nemesis: crash the next node to win a quorum election, this many ms after. */
  private ambushDelayMs = -1;
  /** Armed by the nemesis: cut every node's power this many ms after the quorum leader next commits. */
  private powerCutDelayMs = -1;

  constructor(options: SimOptions) {
    resetNodeCounters();
    this.prng = new Prng(options.seed);
    this.config = makeConfig(options, this.prng);
    this.network = new SimNetwork(this.prng, this.queue, () => this.nowMs);
    const hooks = {
      isrJoined: (partition: number, broker: number) => this.checkIsrJoin(partition, broker),
      becameRaftLeader: (node: number) => this.springAmbush(node),
      leaderCommitted: () => this.springPowerCut(),
    };
    for (const id of [...this.config.voters, ...this.config.observers]) {
      const node = new SimNode(id, this.config.voters.includes(id), this, hooks);
      // Churn runs start with mixed disks (fast and slow), where flush races are likeliest.
      this.diskMaxDelayMs.set(id, this.config.profile === "churn" ? (this.prng.chance(0.5) ? this.prng.int(20, 60) : this.prng.int(2, 5)) : this.config.maxDiskDelayMs);
      this.nodes.set(id, node);
      this.network.register(id, { deliver: (from, message) => node.deliver(from, message as NodeWire), isUp: () => node.up });
    }
    for (const partition of this.config.partitions.keys()) {
      for (let index = 0; index < 2; index++) {
        const producer = new SimProducer(PRODUCER_BASE_ID + this.producers.length, partition, this);
        this.producers.push(producer);
        this.network.register(producer.id, { deliver: (_from, message) => producer.onResponse(message as ReplicaWire), isUp: () => true });
      }
    }
  }

  // ── SimContext ─────────────────────────────────────────────────────────────────────────────

  now(): number {
    return this.nowMs;
  }

  send(from: number, to: number, message: unknown): void {
    this.network.send(from, to, message);
  }

  afterDiskDelay(node: number, done: () => void): void {
    this.queue.push(this.nowMs + this.prng.int(this.config.minDiskDelayMs, this.diskMaxDelayMs.get(node)!), done);
  }

  at(timeMs: number, action: () => void): void {
    this.queue.push(timeMs, action);
  }

  // ── The run ────────────────────────────────────────────────────────────────────────────────

  run(): SimResult {
    let failure: string | null = null;
    try {
      this.startAll();
      this.loop();
      this.checker.fullRaftCheck(this.upLogs());
    } catch (error) {
      if (!(error instanceof InvariantViolation) && !(error instanceof AssertionError)) throw error;
      failure = `${error.name}: ${error.message}`;
      this.trace.add(this.nowMs, -1, `FAILED ${failure}`);
    }
    return {
      seed: this.config.seed, ok: failure === null, failure, trace: failure === null ? [] : this.trace.tail(120),
      stats: this.stats(), coverage: this.coverage, summary: this.summary(), fingerprint: this.fingerprint(),
    };
  }

  private startAll(): void {
    for (const node of this.nodes.values()) node.start();
    for (const producer of this.producers) this.at(this.prng.int(0, 20), () => producer.tick());
    this.at(this.prng.int(50, 200), () => this.nemesis());
    this.at(this.config.chaosMs, () => this.heal());
  }

  private loop(): void {
    const endMs = this.config.chaosMs + this.config.livenessBoundMs;
    while (this.queue.size > 0 && this.recoveredAtMs < 0) {
      const event = this.queue.pop()!;
      if (event.atMs > endMs) break;
      this.nowMs = event.atMs;
      event.run();
      this.events++;
      this.afterStep();
    }
    if (this.recoveredAtMs < 0) this.checker.fail(`no recovery within ${this.config.livenessBoundMs} ms after the faults healed: ${this.livenessReport()}`);
  }

  /** Checks after every step: one leader per epoch (quorum and partitions), calm-run stability, liveness. */
  private afterStep(): void {
    const raftLeaders = new Map<number, number>();
    for (const node of this.nodes.values()) {
      if (!node.up) continue;
      if (node.raft.roleName === "leader") {
        const other = raftLeaders.get(node.raft.epoch);
        if (other !== undefined) this.checker.fail(`two Raft leaders in epoch ${node.raft.epoch}: n${other} and n${node.id}`);
        raftLeaders.set(node.raft.epoch, node.id);
      }
    }
    this.checker.checkElectionSafety(new Map([...this.nodes].map(([id, node]) => [id, node.logViews(this.checker)])));
    if (this.config.profile === "calm") this.checkCalm();
    if (this.events % 256 === 0) this.checker.fullRaftCheck(this.upLogs());
    if (this.phase === "heal" && this.events % 16 === 0) this.checkRecovered();
  }

  /**
   * A calm run (only single followers cut off) must keep its first leader: with pre-vote, a node
   * that was cut off cannot depose a leader the others still hear from.
   */
  private checkCalm(): void {
    const epochs = [...this.nodes.values()].map((node) => node.raft.epoch);
    const maximum = Math.max(...epochs);
    if (this.calmEpoch < 0) {
      if (this.checker.raftCommitted > 0 && this.nowMs > 300) this.calmEpoch = maximum;
      return;
    }
    if (maximum > this.calmEpoch) this.checker.fail(`calm run: the quorum moved from epoch ${this.calmEpoch} to ${maximum} though only single followers were cut off`);
  }

  private upLogs(): Map<number, import("../../src/raft/index.ts").MemoryRaftLog> {
    return new Map([...this.nodes.values()].filter((node) => node.up).map((node) => [node.id, node.log]));
  }

  partitionLog(broker: number, partition: number): readonly PartitionEntry[] {
    const node = this.nodes.get(broker)!;
    const replica = node.up ? node.replicas.get(partition) : undefined;
    return replica?.log ?? node.disk.partitions.get(partition)!.entries;
  }

  private checkIsrJoin(partition: number, broker: number): void {
    this.checker.onIsrJoin(partition, broker, this.partitionLog(broker, partition));
  }

  // ── Faults ─────────────────────────────────────────────────────────────────────────────────

  private nemesis(): void {
    if (this.phase !== "chaos") return;
    if (this.config.profile === "calm") this.calmFault();
    else if (this.config.profile === "churn") this.churnFault();
    else if (this.config.profile === "membership" && this.prng.chance(0.2)) this.membershipChange();
    else this.chaosFault();
    const [low, high] = this.config.profile === "calm" ? [300, 700] : this.config.profile === "churn" ? [20, 120] : [30, 250];
    this.at(this.nowMs + this.prng.int(low, high), () => this.nemesis());
  }

  private calmFault(): void {
    if (this.network.describeCuts() !== "none") return this.fault("heals the network", () => this.network.heal());
    const followers = [...this.nodes.values()].filter((node) => node.raft.roleName !== "leader").map((node) => node.id);
    const victim = this.prng.pick(followers);
    this.fault(`isolates n${victim}`, () => this.network.partition([[victim], [...this.nodes.keys()].filter((id) => id !== victim)]));
  }

  /** One fault drawn by weight from what is possible now (every fault is a legal one: safety must hold under all). */
  private chaosFault(): void {
    const ids = [...this.nodes.keys()];
    const up = ids.filter((id) => this.nodes.get(id)!.up);
    const down = ids.filter((id) => !this.nodes.get(id)!.up);
    const voters = this.currentVoters();
    const votersDown = down.filter((id) => voters.includes(id)).length;
    // Mostly a minority of voters down at a time, so the run makes progress; sometimes more.
    const mayCrash = up.length > 0 && (votersDown < Math.floor((voters.length - 1) / 2) || this.prng.chance(0.15));
    const faults: [weight: number, possible: boolean, apply: () => void][] = [
      [12, mayCrash, () => this.crash(this.pickVictim(up))],
      [2, up.length > 1, () => this.crashLeaderAndAnother(up)],
      [1, up.length > 0, () => this.powerLoss(up)],
      [2, true, () => this.armPowerCut()],
      [2, true, () => this.armAmbush()],
      [17, down.length > 0, () => this.restart(this.prng.pick(down))],
      [4, mayCrash, () => this.restartGracefully(this.prng.pick(up))],
      [8, true, () => this.fault("heals the network", () => this.network.heal())],
      [8, true, () => this.isolate(this.prng.pick(ids), ids)],
      [8, true, () => this.bipartition(ids)],
      [6, true, () => this.cutOneWay(ids)],
      [4, this.config.voters.length === 5, () => this.majoritiesRing()],
      [14, true, () => this.changeNetwork()],
      [6, true, () => this.changeDisk(ids)],
    ];
    const possible = faults.filter(([, allowed]) => allowed);
    let roll = this.prng.next() * possible.reduce((sum, [weight]) => sum + weight, 0);
    for (const [weight, , apply] of possible) {
      roll -= weight;
      if (roll < 0) return apply();
    }
  }

  private churnFault(): void {
    const ids = [...this.nodes.keys()];
    const up = ids.filter((id) => this.nodes.get(id)!.up);
    const down = ids.filter((id) => !this.nodes.get(id)!.up);
    const roll = this.prng.next();
    if (roll < 0.25) return this.armPowerCut();
    if (roll < 0.45) return this.armAmbush();
    if (roll < 0.55 && up.length > 1) return this.crashLeaderAndAnother(up);
    if (roll < 0.65) return this.cutOneWay(ids);
    if (roll < 0.7) return this.isolate(this.prng.pick(ids), ids);
    if (roll < 0.85) return this.fault("heals the network", () => this.network.heal());
    for (const id of down) this.restart(id);
  }

  /** The voter set of the most advanced log (what the quorum is converging on). */
  private currentVoters(): readonly number[] {
    let best: SimNode | null = null;
    for (const node of this.nodes.values()) {
      if (node.raft !== undefined && (best === null || node.raft.committedOffset > best.raft.committedOffset)) best = node;
    }
    return best?.raft.voterIds ?? this.config.voters;
  }

  /**
   * KIP-853 under faults: the quorum leader adds a node that is not a voter (refused unless it is a
   * caught-up observer) or removes a voter — sometimes itself — keeping at least two voters.
   */
  private membershipChange(): void {
    this.oneMembershipChange();
    // Sometimes a second change right behind the first: it must wait for the first to commit.
    if (this.prng.chance(0.3)) this.oneMembershipChange();
  }

  private oneMembershipChange(): void {
    const leader = [...this.nodes.values()].find((node) => node.up && node.raft.roleName === "leader");
    if (leader === undefined) return;
    const voters = leader.raft.voterIds;
    const others = [...this.nodes.keys()].filter((id) => !voters.includes(id));
    const remove = voters.length > 2 && (others.length === 0 || this.prng.chance(0.5));
    const change = remove ? { remove: this.prng.pick(voters) } : { add: this.prng.pick(others) };
    const outcome = leader.changeVoters(change);
    this.trace.add(this.nowMs, -1, `nemesis asks leader n${leader.id} to ${"add" in change ? `add n${change.add}` : `remove n${change.remove}`}: ${outcome}`);
  }

  private isolate(victim: number, ids: number[]): void {
    this.fault(`isolates n${victim}`, () => this.network.partition([[victim], ids.filter((id) => id !== victim)]));
  }

  private bipartition(ids: number[]): void {
    const shuffled = this.prng.shuffle(ids);
    const cut = this.prng.int(1, ids.length - 1);
    this.fault(`partitions [${shuffled.slice(0, cut)}] | [${shuffled.slice(cut)}]`, () => this.network.partition([shuffled.slice(0, cut), shuffled.slice(cut)]));
  }

  private cutOneWay(ids: number[]): void {
    const [from, to] = this.prng.shuffle(ids);
    this.fault(`cuts n${from} → n${to} one way`, () => this.network.cutOneWay(from!, to!));
  }

  private majoritiesRing(): void {
    const ring = this.prng.shuffle(this.config.voters);
    this.fault(`majorities ring ${ring.join("-")}`, () => this.network.majoritiesRing(ring));
  }

  /** One node's disk turns slow (a busy or failing disk) or fast. */
  private changeDisk(ids: number[]): void {
    const node = this.prng.pick(ids);
    const maximum = this.prng.chance(0.5) ? this.prng.int(20, 80) : this.prng.int(2, 5);
    this.diskMaxDelayMs.set(node, maximum);
    this.trace.add(this.nowMs, -1, `nemesis: n${node}'s disk now takes up to ${maximum} ms per flush`);
  }

  private armPowerCut(): void {
    this.powerCutDelayMs = this.prng.int(0, 3);
    this.trace.add(this.nowMs, -1, `nemesis will cut every node's power ${this.powerCutDelayMs} ms after the next quorum commit`);
  }

  private armAmbush(): void {
    this.ambushDelayMs = this.prng.int(0, 15);
    this.trace.add(this.nowMs, -1, `nemesis will crash the next quorum leader ${this.ambushDelayMs} ms after it wins`);
  }

  /** Leaders are where the interesting races are: pick the quorum leader or a partition leader often. */
  private pickVictim(up: number[]): number {
    const leaders = up.filter((id) => {
      const node = this.nodes.get(id)!;
      return node.raft.roleName === "leader" || [...node.replicas.values()].some((replica) => replica.isLeader);
    });
    return leaders.length > 0 && this.prng.chance(0.5) ? this.prng.pick(leaders) : this.prng.pick(up);
  }

  private changeNetwork(): void {
    const faults = {
      dropRate: this.prng.chance(0.5) ? 0 : this.prng.next() * 0.25,
      duplicateRate: this.prng.chance(0.5) ? 0 : this.prng.next() * 0.1,
      minDelayMs: 1,
      maxDelayMs: this.prng.int(2, 40),
    };
    this.fault(`network drops ${(faults.dropRate * 100).toFixed(0)}%, duplicates ${(faults.duplicateRate * 100).toFixed(0)}%, delays ≤ ${faults.maxDelayMs} ms`, () => (this.network.faults = faults));
  }

  private fault(description: string, apply: () => void): void {
    apply();
    this.trace.add(this.nowMs, -1, `nemesis ${description}`);
  }

  private crash(id: number): void {
    const node = this.nodes.get(id)!;
    const incarnation = node.incarnation;
    this.crashes++;
    this.trace.add(this.nowMs, -1, `nemesis crashes n${id}`);
    node.crash();
    // A killed process's sockets close: peers that can still reach it learn at once.
    this.at(this.nowMs + this.prng.int(1, 5), () => {
      for (const other of this.nodes.values()) {
        if (!other.up || this.network.isCut(id, other.id)) continue;
        if (other.raft.leaderId === id) {
          other.raft.tick(other.localNow());
          other.raft.leaderUnreachable();
        }
        if (other.isActiveController) other.brokerConnectionClosed(id, incarnation);
      }
    });
  }

  /** A correlated failure (a rack's power): the quorum leader and one other node at once. */
  private crashLeaderAndAnother(up: number[]): void {
    const leader = up.find((id) => this.nodes.get(id)!.raft.roleName === "leader") ?? this.prng.pick(up);
    const other = this.prng.pick(up.filter((id) => id !== leader));
    this.crash(leader);
    this.crash(other);
  }

  /** Every node loses power at once, then each comes back after its own delay. */
  private powerLoss(up: number[]): void {
    this.trace.add(this.nowMs, -1, "nemesis cuts the power of every node");
    for (const id of up) {
      this.crash(id);
      this.at(this.nowMs + this.prng.int(5, 150), () => {
        if (!this.nodes.get(id)!.up) this.restart(id);
      });
    }
  }

  private springPowerCut(): void {
    if (this.powerCutDelayMs < 0 || this.phase !== "chaos") return;
    const delay = this.powerCutDelayMs;
    this.powerCutDelayMs = -1;
    this.at(this.nowMs + delay, () => {
      if (this.phase === "chaos") this.powerLoss([...this.nodes.values()].filter((node) => node.up).map((node) => node.id));
    });
  }

  private springAmbush(node: number): void {
    if (this.ambushDelayMs < 0 || this.phase !== "chaos") return;
    const delay = this.ambushDelayMs;
    this.ambushDelayMs = -1;
    this.at(this.nowMs + delay, () => {
      if (this.nodes.get(node)!.up && this.phase === "chaos") this.crash(node);
    });
  }

  private restart(id: number): void {
    this.trace.add(this.nowMs, -1, `nemesis restarts n${id}`);
    this.nodes.get(id)!.start();
  }

  private restartGracefully(id: number): void {
    this.trace.add(this.nowMs, -1, `nemesis stops n${id} gracefully`);
    this.nodes.get(id)!.stopGracefully();
    this.at(this.nowMs + this.prng.int(10, 200), () => {
      if (!this.nodes.get(id)!.up) this.restart(id);
    });
  }

  // ── Liveness ───────────────────────────────────────────────────────────────────────────────

  private heal(): void {
    this.phase = "heal";
    this.healedAtMs = this.nowMs;
    this.network.heal();
    this.network.faults = CALM_NETWORK;
    for (const id of this.nodes.keys()) this.diskMaxDelayMs.set(id, this.config.maxDiskDelayMs);
    this.trace.add(this.nowMs, -1, "nemesis heals everything");
    for (const node of this.nodes.values()) if (!node.up) node.start();
    this.probeLoop();
  }

  private probeLoop(): void {
    if (this.recoveredAtMs >= 0) return;
    for (const node of this.nodes.values()) if (node.isActiveController) node.requestProbe(1);
    this.at(this.nowMs + 50, () => this.probeLoop());
  }

  /** Recovered: every node applied the probe record, and every partition took an acks=all produce. */
  private checkRecovered(): void {
    const probed = [...this.nodes.values()].every((node) => node.up && node.image.probes.has(1));
    if (!probed || this.ackedSinceHeal.size < this.config.partitions.size) return;
    this.recoveredAtMs = this.nowMs;
    this.trace.add(this.nowMs, -1, `recovered ${this.nowMs - this.healedAtMs} ms after healing`);
  }

  private livenessReport(): string {
    const nodes = [...this.nodes.values()].map((node) => `n${node.id} ${node.up ? `${node.raft.roleName} e${node.raft.epoch} applied ${node.image.applied} probe ${node.image.probes.has(1)}` : "down"}`);
    return `${nodes.join("; ")}; partitions acked since heal: [${[...this.ackedSinceHeal]}]`;
  }

  onProduced(partition: number, acks: Acks, errorCode: number): void {
    if (this.phase === "heal" && acks === -1 && errorCode === ErrorCode.NONE) this.ackedSinceHeal.add(partition);
  }

  /** What a client's Metadata request to a random live node would say leads the partition. */
  leaderHint(partition: number): number {
    const up = [...this.nodes.values()].filter((node) => node.up);
    if (up.length === 0) return -1;
    return this.prng.pick(up).image.partitions.get(partition)?.leader ?? -1;
  }

  private stats(): SimStats {
    const epochs = [...this.nodes.values()].map((node) => node.raft?.epoch ?? 0);
    let partitionCommitted = 0;
    for (const partition of this.config.partitions.keys()) partitionCommitted += this.checker.partitionCommitted(partition);
    return {
      events: this.events, simulatedMs: this.nowMs, messages: this.network.sent, dropped: this.network.dropped, crashes: this.crashes,
      raftCommitted: this.checker.raftCommitted, raftMaxEpoch: Math.max(...epochs), acked: this.checker.ackedCount(), partitionCommitted,
      recoveryMs: this.recoveredAtMs < 0 ? -1 : this.recoveredAtMs - this.healedAtMs, checks: this.checker.checks,
      voterChanges: this.checker.committedVoterChanges,
    };
  }

  private fingerprint(): string {
    let hash = 0;
    for (const node of this.nodes.values()) {
      hash = chainHash(hash, `n${node.id}:${node.up}:${node.raft.epoch}:${node.log.startOffset}`);
      for (const entry of node.log.allEntries()) hash = chainHash(hash, entryKey(entry));
      for (const [partition, disk] of node.disk.partitions) hash = chainHash(hash, `p${partition}:${disk.entries.map((entry) => entry.value).join(",")}`);
    }
    return `${hash.toString(16)}/${this.events}/${this.nowMs}`;
  }

  private summary(): string {
    const config = this.config;
    return `seed ${config.seed}: ${config.voters.length} voters${config.observers.length ? ` + observer ${config.observers}` : ""}, ${config.profile}, partitions ${config.partitionMode}, `
      + `raft fetch ≤ ${config.raftFetchMaxEntries} entries, snapshot every ${config.snapshotEveryEntries}`;
  }
}

/** A producer client: one request at a time to the partition's leader as metadata says, acks=all mostly. */
class SimProducer {
  private inFlight: { requestId: number; sentAtMs: number; acks: Acks } | null = null;
  private sequence = 0;

  constructor(readonly id: number, private readonly partition: number, private readonly simulation: Simulation) {}

  tick(): void {
    const simulation = this.simulation;
    const now = simulation.now();
    if (this.inFlight !== null && now - this.inFlight.sentAtMs > simulation.config.produceTimeoutMs + 100) this.inFlight = null; // outcome unknown
    if (this.inFlight === null) {
      const leader = simulation.leaderHint(this.partition);
      if (leader >= 0) {
        const acks: Acks = simulation.prng.chance(0.75) ? -1 : 1;
        const requestId = ++this.sequence;
        this.inFlight = { requestId, sentAtMs: now, acks };
        simulation.send(this.id, leader, { type: "produce", partition: this.partition, acks, value: `p${this.partition}-c${this.id}-${requestId}`, requestId } satisfies ReplicaWire);
      }
    }
    simulation.at(now + simulation.prng.int(15, 40), () => this.tick());
  }

  onResponse(message: ReplicaWire): void {
    if (message.type !== "produceResponse" || this.inFlight?.requestId !== message.requestId) return;
    this.simulation.onProduced(this.partition, this.inFlight.acks, message.errorCode);
    this.inFlight = null;
  }
}
