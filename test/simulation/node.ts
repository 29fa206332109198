// One simulated node: a Raft voter or observer driven exactly as core.ts's header asks of a driver
// (persist the quorum state before sending, flush then markDurable, apply committed entries,
// snapshots), the metadata image it applies, the active controller when it leads the quorum, and
// a broker with its partition replicas. A crash discards everything but `disk`.

import type { PartitionRegistration } from "../../src/cluster/controller/partition-change.ts";
import { applyPartitionEvent, newPartitionRegistration } from "../../src/cluster/controller/partition-change.ts";
import type { PartitionEvent } from "../../src/cluster/controller/partition-change.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import type { QuorumState, RaftMessage, RaftReady, SnapshotId, Voter } from "../../src/raft/index.ts";
import { INITIAL_QUORUM_STATE, MemoryRaftLog, RaftCore } from "../../src/raft/index.ts";
import type { LogView } from "./checker.ts";
import type { SimContext } from "./context.ts";
import type { Image, MetadataRecord } from "./image.ts";
import { applyEntry, applyRecord, batchOf, cloneImage, decodeImage, emptyImage, encodeBatch, encodeImage, snapshotVoters } from "./image.ts";
import type { PartitionDisk, ReplicaWire } from "./replica.ts";
import { SimReplica } from "./replica.ts";

export type NodeWire =
  | { type: "raft"; message: RaftMessage }
  | { type: "register"; broker: number; incarnation: number; clean: boolean }
  | { type: "heartbeat"; broker: number; brokerEpoch: bigint; applied: bigint }
  | { type: "alterPartition"; partition: number; broker: number; leaderEpoch: number; partitionEpoch: number; newIsr: number[] }
  | { type: "alterPartitionResponse"; partition: number; errorCode: number }
  | ReplicaWire;

export interface NodeDisk {
  raftLog: MemoryRaftLog;
  /** The newest snapshot the state machine wrote (durable as soon as written). */
  stateSnapshot: { id: SnapshotId; bytes: Uint8Array } | null;
  quorum: QuorumState;
  partitions: Map<number, PartitionDisk>;
  cleanShutdown: boolean;
}

interface ControllerState {
  heartbeats: Map<number, { atMs: number; brokerEpoch: bigint; applied: bigint }>;
  queue: NodeWire[];
  closedConnections: { broker: number; incarnation: number }[];
  probes: number[];
  lastProposalMs: number;
}

/** What the simulation wants to hear about from a node. */
export interface NodeHooks {
  isrJoined(partition: number, broker: number): void;
  becameRaftLeader(node: number): void;
  leaderCommitted(node: number): void;
}

let nextBatchId = 1;
let nextIncarnation = 1;

/** Batch ids and incarnations are unique per run; reset so a seed replays exactly. */
export function resetNodeCounters(): void {
  nextBatchId = 1;
  nextIncarnation = 1;
}

export class SimNode {
  up = false;
  incarnation = 0;
  readonly disk: NodeDisk;
  raft!: RaftCore;
  log!: MemoryRaftLog;
  image: Image = emptyImage();
  readonly replicas = new Map<number, SimReplica>();
  private registered = false;
  private cleanStart = false;
  private controller: ControllerState | null = null;
  private life = 0;
  private flushing = false;
  private flushAgain = false;
  private wakeAtMs = Infinity;
  private pumping = false;
  private pumpAgain = false;
  private lastRegisterMs = -Infinity;
  private lastHeartbeatMs = -Infinity;
  private readonly seenRegistrations = new Map<number, PartitionRegistration>();
  /** The quorum commit offset as last reported: never moves back within one incarnation. */
  private raftHighWatermark = 0n;
  /** Clock skew: local = offset + global × (1 + drift). */
  private clockOffsetMs = 0;
  private clockDrift = 0;

  constructor(readonly id: number, readonly isVoter: boolean, private readonly context: SimContext, private readonly hooks: NodeHooks) {
    this.disk = { raftLog: new MemoryRaftLog(snapshotVoters), stateSnapshot: null, quorum: INITIAL_QUORUM_STATE, partitions: new Map(), cleanShutdown: true };
    for (const [partition, replicas] of context.config.partitions) {
      if (replicas.includes(id)) this.disk.partitions.set(partition, { entries: [], highWatermarkCheckpoint: 0n });
    }
  }

  localNow(): number {
    return Math.floor(this.clockOffsetMs + this.context.now() * (1 + this.clockDrift));
  }

  private toGlobal(localMs: number): number {
    return Math.ceil((localMs - this.clockOffsetMs) / (1 + this.clockDrift));
  }

  // ── Life cycle ─────────────────────────────────────────────────────────────────────────────

  start(): void {
    const prng = this.context.prng;
    this.life++;
    this.up = true;
    this.incarnation = nextIncarnation++;
    this.clockOffsetMs = prng.int(0, 100_000);
    this.clockDrift = (prng.next() - 0.5) * 0.1; // within ±5%
    this.cleanStart = this.disk.cleanShutdown;
    this.disk.cleanShutdown = false;
    this.log = restoreLog(this.disk);
    const snapshot = this.log.snapshotBytes();
    this.image = snapshot === null ? emptyImage() : decodeImage(snapshot);
    if (snapshot !== null) this.context.checker.onSnapshotLoaded(this.id, this.image);
    this.registered = false;
    this.lastRegisterMs = -Infinity;
    this.lastHeartbeatMs = -Infinity;
    this.controller = null;
    this.flushing = false;
    this.flushAgain = false;
    this.wakeAtMs = Infinity;
    this.seenRegistrations.clear();
    this.raftHighWatermark = 0n;
    this.replicas.clear();
    const config = this.context.config;
    this.raft = new RaftCore({
      nodeId: this.id, voters: config.voters, clusterId: "sim", timeouts: config.raftTimeouts,
      fetchMaxEntries: config.raftFetchMaxEntries, fetchMaxBytes: 64 * 1024, snapshotChunkBytes: config.snapshotChunkBytes, bugs: config.raftBugs,
    }, this.log, this.disk.quorum, this.localNow(), () => prng.next());
    this.trace(`starts (incarnation ${this.incarnation}, ${this.cleanStart ? "clean" : "unclean"}, epoch ${this.disk.quorum.epoch}, log [${this.log.startOffset}, ${this.log.endOffset}))`);
    this.pump();
    this.scheduleNodeTick();
  }

  /** kill -9 (or power loss for what is not fsynced): only `disk` survives. */
  crash(): void {
    this.trace(`crashes (role ${this.raft.roleName}, epoch ${this.raft.epoch})`);
    this.up = false;
    this.life++;
    for (const replica of this.replicas.values()) replica.stop();
  }

  /** Controlled shutdown: resign the quorum leadership, flush everything, mark the clean shutdown. */
  stopGracefully(): void {
    this.raft.tick(this.localNow());
    this.raft.resign();
    this.pump();
    this.disk.raftLog = this.log.clone();
    for (const replica of this.replicas.values()) replica.flushAllForShutdown();
    this.disk.cleanShutdown = true;
    this.trace("stops gracefully");
    this.up = false;
    this.life++;
    for (const replica of this.replicas.values()) replica.stop();
  }

  // ── The Raft driver ────────────────────────────────────────────────────────────────────────

  private pump(): void {
    if (this.pumping) return void (this.pumpAgain = true);
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.handleReady(this.raft.ready());
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  private handleReady(ready: RaftReady): void {
    if (ready.quorumState !== null) {
      this.disk.quorum = ready.quorumState; // written and fsynced before any message goes out
      this.context.checker.onQuorumPersisted(this.id, ready.quorumState);
    }
    for (const outbound of ready.messages) this.context.send(this.id, outbound.to, { type: "raft", message: outbound.message });
    if (ready.snapshotInstalled !== null) this.loadFetchedSnapshot();
    if (ready.highWatermark < this.raftHighWatermark) this.context.checker.fail(`n${this.id}: commit offset moved back from ${this.raftHighWatermark} to ${ready.highWatermark}`);
    this.raftHighWatermark = ready.highWatermark;
    for (const entry of ready.committed) {
      applyEntry(this.image, entry);
      this.context.checker.onRaftApplied(this.id, entry, this.image);
      const batch = batchOf(entry);
      if (batch !== null) this.context.checker.onBatchApplied(this.id, batch.records, this.image.partitions);
      if (!this.raft.voterIds.includes(this.id)) this.context.coverage.observerApplied++;
    }
    if (ready.committed.length > 0 || ready.snapshotInstalled !== null) this.onImageChanged();
    if (ready.committed.length > 0) this.maybeTakeSnapshot();
    if (ready.committed.length > 0 && this.raft.roleName === "leader") this.hooks.leaderCommitted(this.id);
    if (ready.flushNeeded) this.flushRaftLog();
    if (ready.leaderChange !== null) this.onLeaderChange(ready.leaderChange.leaderId, ready.leaderChange.epoch);
    this.scheduleWake(ready.nextWakeMs);
  }

  private loadFetchedSnapshot(): void {
    this.context.coverage.raftSnapshotsInstalled++;
    this.image = decodeImage(this.log.snapshotBytes()!);
    this.trace(`installs a snapshot at ${this.image.applied}`);
    this.context.checker.onSnapshotLoaded(this.id, this.image);
  }

  private onLeaderChange(leaderId: number | null, epoch: number): void {
    this.trace(`raft epoch ${epoch} leader ${leaderId ?? "none"} (${this.raft.roleName})`);
    if (leaderId !== this.id) return void (this.controller = null);
    this.context.checker.onRaftLeader(this.id, epoch, this.log, this.image);
    this.hooks.becameRaftLeader(this.id);
    this.context.coverage.raftElections++;
    const heartbeats = new Map<number, { atMs: number; brokerEpoch: bigint; applied: bigint }>();
    // A new controller gives every broker a whole session before fencing it.
    for (const [broker, registration] of this.image.brokers) heartbeats.set(broker, { atMs: this.localNow(), brokerEpoch: registration.epoch, applied: -1n });
    this.controller = { heartbeats, queue: [], closedConnections: [], probes: [], lastProposalMs: this.localNow() };
  }

  /** One flush at a time; it names what it covered by the log end and its epoch at its start. */
  private flushRaftLog(): void {
    if (this.flushing) return void (this.flushAgain = true);
    this.flushing = true;
    const life = this.life;
    const position = { offset: this.log.endOffset, epoch: this.log.epochBefore(this.log.endOffset) };
    const copy = this.log.clone();
    this.context.afterDiskDelay(this.id, () => {
      if (life !== this.life) return;
      this.disk.raftLog = copy;
      this.flushing = false;
      this.raft.tick(this.localNow());
      this.raft.markDurable(position);
      this.pump();
      if (this.flushAgain) {
        this.flushAgain = false;
        this.flushRaftLog();
      }
    });
  }

  private scheduleWake(localWakeMs: number): void {
    if (!Number.isFinite(localWakeMs)) return;
    const atMs = Math.max(this.context.now(), this.toGlobal(localWakeMs));
    if (atMs >= this.wakeAtMs && this.wakeAtMs > this.context.now()) return;
    this.wakeAtMs = atMs;
    const life = this.life;
    this.context.at(atMs, () => {
      if (life !== this.life) return;
      if (this.context.now() >= this.wakeAtMs) this.wakeAtMs = Infinity;
      this.raft.tick(this.localNow());
      this.pump();
    });
  }

  private maybeTakeSnapshot(): void {
    const applied = this.image.applied;
    if (applied - this.log.startOffset < BigInt(this.context.config.snapshotEveryEntries)) return;
    const id: SnapshotId = { endOffset: applied, epoch: this.log.epochBefore(applied) };
    const bytes = encodeImage(this.image);
    this.disk.stateSnapshot = { id, bytes }; // the driver writes and fsyncs the snapshot file first
    this.log.saveSnapshot(id, bytes);
    this.raft.installedSnapshot(id);
    this.context.coverage.raftSnapshotsTaken++;
    this.trace(`takes a snapshot at ${applied}`);
  }

  /**
   * The nemesis asks this node, if it leads the quorum, to add or remove one voter (KIP-853's
   * AddRaftVoter / RemoveRaftVoter). Returns what happened, for the trace.
   */
  changeVoters(change: { add: number } | { remove: number }): string {
    if (!this.up || this.raft.roleName !== "leader") return "not the leader";
    this.raft.tick(this.localNow());
    const result = "add" in change ? this.raft.addVoter({ id: change.add, host: "sim", port: change.add }) : this.raft.removeVoter(change.remove);
    this.pump();
    if (!result.ok) return `refused (${result.errorCode}: ${result.message})`;
    this.context.coverage.voterChangesProposed++;
    return `voters entry at ${result.offset}, voters now [${this.raft.voterIds}]`;
  }

  /** This voter's log as an election would see it now, and as it would after a crash. */
  logViews(checker: { holdsCommitted(log: MemoryRaftLog, snapshotEnd: bigint): boolean }): LogView[] {
    const views: LogView[] = [this.diskView(checker)];
    if (this.up) {
      const end = this.log.endOffset;
      views.push({ node: this.id, label: "memory", lastEpoch: this.log.epochBefore(end), endOffset: end, holdsCommitted: checker.holdsCommitted(this.log, this.log.startOffset), voters: this.raft.voterIds });
    }
    return views;
  }

  /** What restoreLog would read back, without building it. */
  private diskView(checker: { holdsCommitted(log: MemoryRaftLog, snapshotEnd: bigint): boolean }): LogView {
    const log = this.disk.raftLog;
    const snapshot = this.disk.stateSnapshot;
    const held = log.latestSnapshot();
    const newer = snapshot !== null && (held === null || held.endOffset < snapshot.id.endOffset);
    const end = log.endOffset;
    if (newer && (snapshot.id.endOffset > end || snapshot.id.endOffset < log.startOffset || log.epochBefore(snapshot.id.endOffset) !== snapshot.id.epoch)) {
      const voters = snapshotVoters(snapshot.bytes)?.map((voter) => voter.id) ?? this.context.config.voters;
      return { node: this.id, label: "disk", lastEpoch: snapshot.id.epoch, endOffset: snapshot.id.endOffset, holdsCommitted: checker.holdsCommitted(log, snapshot.id.endOffset), voters };
    }
    const voters = votersOfLog(log, newer ? snapshotVoters(snapshot.bytes) : log.snapshotVoters(), this.context.config.voters);
    return { node: this.id, label: "disk", lastEpoch: log.epochBefore(end), endOffset: end, holdsCommitted: checker.holdsCommitted(log, newer ? snapshot.id.endOffset : 0n), voters };
  }

  // ── Messages ───────────────────────────────────────────────────────────────────────────────

  deliver(from: number, wire: NodeWire): void {
    switch (wire.type) {
      case "raft":
        return this.stepRaft(from, wire.message);
      case "register":
      case "alterPartition":
        return this.onControllerRequest(from, wire);
      case "heartbeat":
        return void this.controller?.heartbeats.set(wire.broker, { atMs: this.localNow(), brokerEpoch: wire.brokerEpoch, applied: wire.applied });
      case "alterPartitionResponse":
        return this.replicas.get(wire.partition)?.onAlterPartitionRefused();
      case "replicaFetch":
        return this.replicaFor(wire.partition, from, wire)?.onReplicaFetch(from, wire);
      case "replicaFetchResponse":
        return this.replicas.get(wire.partition)?.onReplicaFetchResponse(from, wire);
      case "produce":
        return this.replicaFor(wire.partition, from, wire)?.onProduce(from, wire);
      case "produceResponse":
        return;
    }
  }

  private stepRaft(from: number, message: RaftMessage): void {
    const end = this.log.endOffset;
    const last = end > this.log.startOffset ? this.log.allEntries()[Number(end - this.log.startOffset) - 1] : undefined;
    this.raft.tick(this.localNow());
    this.raft.step(from, message);
    const now = this.log.endOffset;
    if (last !== undefined && (now < end || (now >= end && this.log.startOffset < end && this.log.allEntries()[Number(end - this.log.startOffset) - 1] !== last))) this.context.coverage.raftTruncations++;
    this.pump();
  }

  /** The replica, if this broker is registered and hosts it; else the request is refused. */
  private replicaFor(partition: number, from: number, wire: ReplicaWire & { type: "replicaFetch" | "produce" }): SimReplica | undefined {
    const replica = this.registered ? this.replicas.get(partition) : undefined;
    if (replica !== undefined) return replica;
    if (wire.type === "produce") this.context.send(this.id, from, { type: "produceResponse", partition, requestId: wire.requestId, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, offset: -1n });
    else this.context.send(this.id, from, { type: "replicaFetchResponse", partition, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, leaderEpoch: -1, highWatermark: -1n, diverging: null, records: [], fetchOffset: wire.fetchOffset, lastFetchedEpoch: wire.lastFetchedEpoch });
    return undefined;
  }

  // ── Broker ─────────────────────────────────────────────────────────────────────────────────

  private onImageChanged(): void {
    if (!this.registered && this.image.brokers.get(this.id)?.incarnation === this.incarnation) {
      this.registered = true;
      this.trace(`registered, broker epoch ${this.image.brokers.get(this.id)!.epoch}`);
      for (const [partition, disk] of this.disk.partitions) this.replicas.set(partition, new SimReplica(this.context, this.id, partition, disk));
    }
    if (!this.registered) return;
    for (const [partition, replica] of this.replicas) {
      const registration = this.image.partitions.get(partition);
      if (registration === undefined || this.seenRegistrations.get(partition) === registration) continue;
      this.seenRegistrations.set(partition, registration);
      replica.onRegistration(registration);
    }
  }

  private scheduleNodeTick(): void {
    const life = this.life;
    this.context.at(this.context.now() + this.context.config.nodeTickMs, () => {
      if (life !== this.life) return;
      this.brokerTick();
      this.controllerTick();
      this.scheduleNodeTick();
    });
  }

  /** Where this broker believes the active controller is: the quorum leader, else a random voter. */
  private controllerGuess(): number {
    return this.raft.leaderId ?? this.context.prng.pick(this.raft.voterIds);
  }

  private brokerTick(): void {
    const now = this.localNow();
    const config = this.context.config;
    if (!this.registered) {
      if (now - this.lastRegisterMs < config.brokerHeartbeatMs) return;
      this.lastRegisterMs = now;
      this.context.send(this.id, this.controllerGuess(), { type: "register", broker: this.id, incarnation: this.incarnation, clean: this.cleanStart });
      return;
    }
    if (now - this.lastHeartbeatMs >= config.brokerHeartbeatMs) {
      this.lastHeartbeatMs = now;
      this.context.send(this.id, this.controllerGuess(), { type: "heartbeat", broker: this.id, brokerEpoch: this.image.brokers.get(this.id)!.epoch, applied: this.image.applied });
    }
    const isEligible = (broker: number) => this.image.brokers.get(broker)?.fenced === false;
    for (const replica of this.replicas.values()) replica.tick(isEligible, (message) => this.context.send(this.id, this.controllerGuess(), message));
  }

  // ── Controller (active on the quorum leader) ───────────────────────────────────────────────

  private onControllerRequest(from: number, wire: NodeWire): void {
    if (this.controller === null || this.raft.roleName !== "leader") {
      if (wire.type === "alterPartition") this.context.send(this.id, from, { type: "alterPartitionResponse", partition: wire.partition, errorCode: ErrorCode.NOT_CONTROLLER });
      return;
    }
    if (this.controller.queue.length < 64) this.controller.queue.push(wire);
  }

  /** The connection from a broker's (old) incarnation closed: fence it without waiting. */
  brokerConnectionClosed(broker: number, incarnation: number): void {
    this.controller?.closedConnections.push({ broker, incarnation });
  }

  requestProbe(id: number): void {
    if (this.controller !== null && !this.controller.probes.includes(id)) this.controller.probes.push(id);
  }

  get isActiveController(): boolean {
    return this.up && this.controller !== null && this.raft.roleName === "leader";
  }

  /**
   * The controller is a single writer: it acts only when everything in its log is committed and
   * applied, computes one batch of records against a working copy of the image (the same rules as
   * the real controller: partition-change.ts) and proposes it as one atomic Raft entry.
   */
  private controllerTick(): void {
    const controller = this.controller;
    if (controller === null || this.raft.roleName !== "leader" || this.image.applied !== this.log.endOffset) return;
    const batch = new ControllerBatch(this.image, this.log.endOffset, this.context);
    for (const request of controller.queue.splice(0)) this.handleQueued(batch, request);
    this.fenceAndUnfence(batch, controller);
    this.createPartitions(batch);
    for (const probe of controller.probes.splice(0)) if (!this.image.probes.has(probe)) batch.add({ t: "probe", id: probe });
    if (batch.records.length === 0 && this.localNow() - controller.lastProposalMs >= this.context.config.noopIntervalMs) batch.add({ t: "noop" });
    if (batch.records.length === 0) return;
    controller.lastProposalMs = this.localNow();
    for (const [partition, broker] of batch.isrJoins) this.hooks.isrJoined(partition, broker);
    const result = this.raft.propose([encodeBatch({ u: nextBatchId++, records: batch.records })]);
    if (batch.records.some((record) => record.t !== "noop")) this.trace(`controller proposes ${batch.records.map(describeRecord).join(", ")} (${result.ok ? `at ${result.firstOffset}` : "refused"})`);
    this.pump();
  }

  private handleQueued(batch: ControllerBatch, request: NodeWire): void {
    if (request.type === "register") {
      if (batch.image.brokers.get(request.broker)?.incarnation === request.incarnation) return;
      batch.add({ t: "register", broker: request.broker, incarnation: request.incarnation, clean: request.clean });
      this.controller!.heartbeats.set(request.broker, { atMs: this.localNow(), brokerEpoch: batch.offset, applied: -1n });
      return batch.partitionEvents({ kind: request.clean ? "brokerFenced" : "brokerUncleanRestart", brokerId: request.broker });
    }
    if (request.type !== "alterPartition") return;
    const current = batch.image.partitions.get(request.partition);
    if (current === undefined) return;
    const event: PartitionEvent = { kind: "alterPartition", brokerId: request.broker, leaderEpoch: request.leaderEpoch, partitionEpoch: request.partitionEpoch, newIsr: request.newIsr };
    const result = applyPartitionEvent(current, event, batch.view);
    if (!result.ok) return this.context.send(this.id, request.broker, { type: "alterPartitionResponse", partition: request.partition, errorCode: result.errorCode });
    if (result.changed) batch.add({ t: "partition", partition: request.partition, registration: result.registration });
  }

  private fenceAndUnfence(batch: ControllerBatch, controller: ControllerState): void {
    const now = this.localNow();
    for (const closed of controller.closedConnections.splice(0)) {
      const broker = batch.image.brokers.get(closed.broker);
      if (broker !== undefined && broker.incarnation === closed.incarnation && !broker.fenced) batch.fence(closed.broker);
    }
    for (const [id, broker] of batch.image.brokers) {
      const heartbeat = controller.heartbeats.get(id);
      const fresh = heartbeat !== undefined && now - heartbeat.atMs <= this.context.config.brokerSessionTimeoutMs && heartbeat.brokerEpoch === broker.epoch;
      if (!broker.fenced && !fresh) batch.fence(id);
      else if (broker.fenced && fresh && heartbeat.applied >= broker.epoch) batch.unfence(id);
    }
  }

  /** Partitions are created once all their replicas are registered and unfenced. */
  private createPartitions(batch: ControllerBatch): void {
    for (const [partition, replicas] of this.context.config.partitions) {
      if (batch.image.partitions.has(partition) || !replicas.every((id) => batch.view.isEligible(id))) continue;
      batch.add({ t: "partition", partition, registration: newPartitionRegistration(replicas, batch.view) });
    }
  }

  private trace(text: string): void {
    this.context.trace.add(this.context.now(), this.id, text);
  }
}

/** Records computed against a working copy of the image, in order, as one atomic batch. */
class ControllerBatch {
  readonly image: Image;
  readonly records: MetadataRecord[] = [];
  readonly isrJoins: [number, number][] = [];
  readonly view: { isEligible(id: number): boolean; uncleanLeaderElection: boolean };

  constructor(image: Image, readonly offset: bigint, private readonly context: SimContext) {
    this.image = cloneImage(image);
    this.view = { isEligible: (id) => this.image.brokers.get(id)?.fenced === false, uncleanLeaderElection: false };
  }

  add(record: MetadataRecord): void {
    const coverage = this.context.coverage;
    if (record.t === "partition") {
      const previous = this.image.partitions.get(record.partition);
      for (const broker of record.registration.isr) if (previous !== undefined && !previous.isr.includes(broker)) this.isrJoins.push([record.partition, broker]);
      if (previous !== undefined && record.registration.isr.length < previous.isr.length) coverage.isrShrinks++;
      if (previous !== undefined && record.registration.isr.length > previous.isr.length) coverage.isrExpands++;
    }
    if (record.t === "fence") coverage.controllerFences++;
    if (record.t === "register") record.clean ? coverage.cleanRegistrations++ : coverage.uncleanRegistrations++;
    this.records.push(record);
    applyRecord(this.image, record, this.offset);
  }

  fence(broker: number): void {
    this.add({ t: "fence", broker });
    this.partitionEvents({ kind: "brokerFenced", brokerId: broker });
  }

  unfence(broker: number): void {
    this.add({ t: "unfence", broker });
    this.partitionEvents({ kind: "brokerUnfenced", brokerId: broker });
  }

  partitionEvents(event: PartitionEvent): void {
    for (const [partition, current] of this.image.partitions) {
      const result = applyPartitionEvent(current, event, this.view);
      if (!result.ok) this.context.checker.fail(`controller: ${event.kind} refused for p${partition}: ${result.errorCode}`);
      if (result.changed) this.add({ t: "partition", partition, registration: result.registration });
    }
  }
}

function describeRecord(record: MetadataRecord): string {
  switch (record.t) {
    case "register": return `register b${record.broker}#${record.incarnation}${record.clean ? "" : " unclean"}`;
    case "fence": return `fence b${record.broker}`;
    case "unfence": return `unfence b${record.broker}`;
    case "probe": return `probe ${record.id}`;
    case "noop": return "noop";
    case "partition": {
      const registration = record.registration;
      return `p${record.partition} leader ${registration.leader} epoch ${registration.leaderEpoch} isr [${registration.isr}] pe ${registration.partitionEpoch}`;
    }
  }
}

/**
 * What a restarted node reads back: the flushed log and the newest snapshot. A snapshot ahead of
 * the log, or one the log disagrees with at its end, replaces the log (KRaft's
 * truncate-to-latest-snapshot); otherwise the log just drops the entries the snapshot covers.
 */
function restoreLog(disk: NodeDisk): MemoryRaftLog {
  const log = disk.raftLog.clone();
  const snapshot = disk.stateSnapshot;
  const held = log.latestSnapshot();
  if (snapshot === null || (held !== null && held.endOffset >= snapshot.id.endOffset)) return log;
  const matches = snapshot.id.endOffset >= log.startOffset && snapshot.id.endOffset <= log.endOffset && log.epochBefore(snapshot.id.endOffset) === snapshot.id.epoch;
  if (!matches) {
    log.resetToSnapshot(snapshot.id, snapshot.bytes);
    return log;
  }
  log.saveSnapshot(snapshot.id, snapshot.bytes);
  if (snapshot.id.endOffset > log.startOffset) log.deleteBefore(snapshot.id);
  return log;
}

/** The voter ids a log puts in effect: its latest voters entry, else its base (snapshot) set, else the static set. */
function votersOfLog(log: MemoryRaftLog, base: readonly Voter[] | null, fallback: readonly number[]): readonly number[] {
  const entries = log.allEntries();
  for (let index = entries.length - 1; index >= 0; index--) {
    const entry = entries[index]!;
    if (entry.kind === "voters") return entry.voters.map((voter) => voter.id);
  }
  return base?.map((voter) => voter.id) ?? fallback;
}
