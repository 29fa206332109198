// RaftMetadataLog: the metadata log of a many-node cluster (docs/replication.md §2, §4) — the pure
// RaftCore driven with real time, real files and a real network, behind the MetadataLog interface
// the publisher and the controller already use (cluster/metadata-log.ts).
//
//   timer / request / response / flush done ─▶ core.tick + input ─▶ ready():
//     quorum-state written (atomic, fsynced) ─▶ messages sent ─▶ snapshot installed ─▶ committed
//     entries delivered to onCommit ─▶ flush started (FileRaftLog: storage + fdatasync) ─▶
//     markDurable ─▶ leadership announced
//
// One MetadataLog batch (one controller operation) is one Raft entry, so an operation commits whole
// or not at all: the entry's bytes are the batch's records, one JSON record per line
// (cluster/records.ts). Offsets therefore count operations (and LeaderChange entries), not records;
// a broker epoch is still the offset of its registration. A LeaderChange entry is delivered as an
// empty batch (the image's offset moves over it).
//
// Leadership is announced to onLeaderChange (the controller becomes active) only once the new
// leader's own LeaderChange entry is committed and delivered: by then every entry of older epochs
// is applied, so the controller never decides from a stale image. Followers and observers announce
// the leader they learn at once.
//
// Requests from peers (the CONTROLLER listener's Raft handlers) come in through `handle`, which
// resolves with the core's answer; the core answers each request once, possibly later (a parked
// Fetch), and answers to one peer of one kind leave in the order asked.

import { join } from "node:path";
import type { BrokerConfig } from "../config/index.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { CommittedBatch, MetadataLeader, MetadataLog } from "../cluster/metadata-log.ts";
import { decodeSnapshot, encodeSnapshot, snapshotFileName } from "../cluster/metadata-snapshot.ts";
import { decodeRecordJson, encodeRecordJson, record, type MetadataRecord } from "../cluster/records.ts";
import { native as defaultNative } from "../native/index.ts";
import type { NativeApi } from "../native/types.ts";
import { realFs, type StorageFs } from "../storage/index.ts";
import { assert } from "../util/assert.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import { RaftCore, type RaftReady } from "./core.ts";
import { FileRaftLog } from "./file-log.ts";
import type { RaftMessage, RaftRequest, RaftResponse } from "./messages.ts";
import { readQuorumState, writeQuorumState } from "./quorum-state-file.ts";
import type { NodeId, QuorumDescription, RaftConfig, RaftEntry, SnapshotId, Voter } from "./types.ts";

/** How requests reach other nodes (node/ wires it to PeerConnections over the CONTROLLER listener). */
export interface RaftTransport {
  /** Send a request to `to`; resolves with its answer, rejects when none comes. */
  send(to: NodeId, request: RaftRequest): Promise<RaftResponse>;
}

export interface RaftMetadataLogOptions {
  dataDir: string;
  nodeId: number;
  voters: readonly number[];
  clusterId: string;
  brokerConfig: BrokerConfig;
  transport: RaftTransport;
  logger?: Logger;
  fs?: StorageFs;
  native?: NativeApi;
  random?: () => number;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

export function encodeMetadataBatch(records: readonly MetadataRecord[]): Uint8Array {
  return textEncoder.encode(records.map(encodeRecordJson).join("\n"));
}

export function decodeMetadataBatch(bytes: Uint8Array): MetadataRecord[] {
  return textDecoder.decode(bytes).split("\n").map(decodeRecordJson);
}

interface PendingAppend {
  resolve: (offset: bigint) => void;
  reject: (error: Error) => void;
}

type Waiter = (response: RaftResponse) => void;

function monotonicMs(): number {
  return performance.now();
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, message)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class RaftMetadataLog implements MetadataLog {
  readonly nodeId: number;
  private core: RaftCore | null = null;
  private readonly commitListeners: ((batch: CommittedBatch) => void)[] = [];
  private readonly leaderListeners = new Set<(leader: MetadataLeader) => void>();
  private announced: MetadataLeader = { leaderId: -1, epoch: -1 };
  private committed = -1n;
  private readonly appends = new Map<bigint, PendingAppend>();
  private readonly waiters = new Map<string, Waiter[]>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerAtMs = Infinity;
  private draining = false;
  private drainAgain = false;
  private flushing = false;
  private closed = false;
  private started = false;
  private readonly logger: Logger;
  private readonly fs: StorageFs;
  private readonly native: NativeApi;
  private snapshotChain: Promise<void> = Promise.resolve();
  private bytesSinceSnapshot = 0;
  private lastSnapshotMs = Date.now();
  /** Resolves once a leader is known (start-up waits for it in a cluster). */
  private leaderKnown: { promise: Promise<void>; resolve: () => void };
  /** The high watermark of the first successful fetch answer; caught up once applied through it. */
  private firstLeaderHighWatermark: bigint | null = null;
  private caughtUp: { promise: Promise<void>; resolve: () => void; done: boolean };

  private constructor(private readonly options: RaftMetadataLogOptions, private readonly log: FileRaftLog) {
    this.nodeId = options.nodeId;
    this.logger = options.logger ?? createLogger("raft");
    this.fs = options.fs ?? realFs;
    this.native = options.native ?? defaultNative;
    let resolve!: () => void;
    this.leaderKnown = { promise: new Promise<void>((done) => (resolve = done)), resolve };
    let caughtUp!: () => void;
    this.caughtUp = { promise: new Promise<void>((done) => (caughtUp = done)), resolve: caughtUp, done: false };
  }

  /**
   * Resolves once this node has applied the metadata committed when it first heard from a leader
   * (or leads itself, its own epoch's first entry applied): a start waits for it so that the first
   * image the node acts on is not a stale one.
   */
  whenCaughtUp(): Promise<void> {
    return this.caughtUp.promise;
  }

  private checkCaughtUp(): void {
    if (this.caughtUp.done) return;
    const leading = this.announced.leaderId === this.nodeId;
    const following = this.firstLeaderHighWatermark !== null && this.committed >= this.firstLeaderHighWatermark - 1n;
    if (!leading && !following && !this.closed) return;
    this.caughtUp.done = true;
    this.caughtUp.resolve();
  }

  static async open(options: RaftMetadataLogOptions): Promise<RaftMetadataLog> {
    const log = await FileRaftLog.open({
      dataDir: options.dataDir, brokerConfig: options.brokerConfig, fs: options.fs, native: options.native, logger: options.logger ?? createLogger("raft"),
    });
    return new RaftMetadataLog(options, log);
  }

  private raftConfig(): RaftConfig {
    const values = this.options.brokerConfig;
    const fetchTimeoutMs = values["controller.quorum.fetch.timeout.ms"];
    return {
      nodeId: this.nodeId,
      voters: [...this.options.voters],
      clusterId: this.options.clusterId,
      timeouts: {
        fetchTimeoutMs,
        electionTimeoutMs: values["controller.quorum.election.timeout.ms"],
        electionBackoffMaxMs: values["controller.quorum.election.backoff.max.ms"],
        retryBackoffMs: values["controller.quorum.retry.backoff.ms"],
        fetchMaxWaitMs: Math.max(1, Math.floor(fetchTimeoutMs * 0.4)),
        requestTimeoutMs: values["controller.quorum.request.timeout.ms"],
      },
      fetchMaxEntries: 2000,
      fetchMaxBytes: 8 * 1024 * 1024,
      snapshotChunkBytes: 1024 * 1024,
    };
  }

  // ── MetadataLog ────────────────────────────────────────────────────────────────────────────

  get committedOffset(): bigint {
    return this.committed;
  }

  get nextOffset(): bigint {
    return this.log.endOffset;
  }

  get leader(): MetadataLeader {
    return this.announced;
  }

  onCommit(listener: (batch: CommittedBatch) => void): void {
    assert(!this.started, "register commit listeners before start()");
    this.commitListeners.push(listener);
  }

  onLeaderChange(listener: (leader: MetadataLeader) => void): () => void {
    this.leaderListeners.add(listener);
    listener(this.announced);
    return () => void this.leaderListeners.delete(listener);
  }

  async start(): Promise<void> {
    assert(!this.started, "start() once");
    const quorumState = readQuorumState(this.fs, this.log.directory);
    const snapshot = this.log.startSnapshot;
    if (snapshot !== null) {
      this.deliver({ baseOffset: 0n, lastOffset: snapshot.id.endOffset - 1n, epoch: snapshot.id.epoch, records: snapshot.records, snapshot: true });
    }
    this.core = new RaftCore(this.raftConfig(), this.log, quorumState, monotonicMs(), this.options.random ?? Math.random);
    this.started = true;
    this.logger.info("metadata quorum member started", {
      voters: this.options.voters.join(","), epoch: quorumState.epoch, snapshot: snapshot ? snapshotFileName(snapshot.id) : "none",
      logEndOffset: String(this.log.endOffset),
    });
    this.pump();
  }

  /** Resolves once this node knows a leader (or the log closed). */
  whenLeaderKnown(): Promise<void> {
    return this.leaderKnown.promise;
  }

  append(records: readonly MetadataRecord[]): Promise<bigint> {
    assert(records.length > 0, "append at least one record");
    const core = this.core;
    if (this.closed || core === null || this.announced.leaderId !== this.nodeId) {
      return Promise.reject(new KafkaError(ErrorCode.NOT_CONTROLLER, `node ${this.nodeId} is not the active controller (leader: ${this.announced.leaderId})`));
    }
    core.tick(monotonicMs());
    const result = core.propose([encodeMetadataBatch(records)]);
    if (!result.ok) return Promise.reject(new KafkaError(ErrorCode.NOT_CONTROLLER, `node ${this.nodeId} no longer leads the metadata quorum`));
    const committed = new Promise<bigint>((resolve, reject) => this.appends.set(result.lastOffset, { resolve, reject }));
    this.pump();
    return committed;
  }

  /**
   * Keep a snapshot of the image as of `lastOffset` — paced as Kafka's (after
   * metadata.log.max.record.bytes.between.snapshots of new records, or
   * metadata.log.max.snapshot.interval.ms) — and drop the log below it.
   */
  saveSnapshot(lastOffset: bigint, epoch: number, records: readonly MetadataRecord[]): Promise<void> {
    const values = this.options.brokerConfig;
    const interval = values["metadata.log.max.snapshot.interval.ms"];
    const due = this.bytesSinceSnapshot >= values["metadata.log.max.record.bytes.between.snapshots"]
      || (interval > 0 && this.bytesSinceSnapshot > 0 && Date.now() - this.lastSnapshotMs >= interval);
    if (!due || this.closed) return Promise.resolve();
    const saved = this.snapshotChain.then(() => this.writeSnapshot({ endOffset: lastOffset + 1n, epoch }, records));
    this.snapshotChain = saved.catch(() => {});
    return saved;
  }

  private async writeSnapshot(id: SnapshotId, records: readonly MetadataRecord[]): Promise<void> {
    const core = this.core;
    if (core === null || this.closed || id.endOffset <= this.log.startOffset || id.endOffset > this.log.endOffset) return;
    if (this.log.epochBefore(id.endOffset) !== id.epoch) return;
    const bytes = encodeSnapshot(this.native, records, id.epoch, BigInt(Date.now()));
    await this.fs.writeFileAtomic(join(this.log.directory, snapshotFileName(id)), bytes);
    // The log may have moved meanwhile (a snapshot installed from the leader, a truncation).
    if (this.closed || id.endOffset <= this.log.startOffset || id.endOffset > this.log.endOffset || this.log.epochBefore(id.endOffset) !== id.epoch) return;
    this.log.addSnapshot(id, bytes);
    core.installedSnapshot(id);
    this.bytesSinceSnapshot = 0;
    this.lastSnapshotMs = Date.now();
    this.logger.info("metadata snapshot written; the log before it is deleted", { snapshot: snapshotFileName(id) });
    this.startFlush(true);
  }

  // ── Inputs from the network ────────────────────────────────────────────────────────────────

  /** A request from peer `from`; resolves with the core's answer. */
  handle(from: NodeId, request: RaftRequest): Promise<RaftResponse> {
    const core = this.core;
    if (core === null || this.closed) return Promise.reject(new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, "the metadata log is not running"));
    const answer = new Promise<RaftResponse>((resolve) => {
      const key = `${from}/${request.kind.replace(/Request$/, "Response")}`;
      const queue = this.waiters.get(key) ?? [];
      queue.push(resolve);
      this.waiters.set(key, queue);
    });
    core.tick(monotonicMs());
    core.step(from, request);
    this.pump();
    return answer;
  }

  /** The voter set in effect on this member (KIP-853: the latest voters entry of its log, else the static set). */
  currentVoters(): readonly Voter[] {
    return this.core?.voters ?? [];
  }

  /**
   * AddRaftVoter / RemoveRaftVoter on the quorum leader (KIP-853): append the voters entry and
   * resolve once it is committed and applied here. While the change cannot start yet — the new
   * voter still catching up as an observer, the previous change or this epoch's first entry not
   * committed — it is tried again every controller.quorum.retry.backoff.ms until `timeoutMs`, then
   * REQUEST_TIMED_OUT. Other refusals (NOT_LEADER_OR_FOLLOWER, DUPLICATE_VOTER, VOTER_NOT_FOUND)
   * come back at once as KafkaErrors.
   */
  async changeVoters(change: { add: Voter } | { remove: NodeId }, timeoutMs: number): Promise<void> {
    const deadline = monotonicMs() + timeoutMs;
    for (;;) {
      const core = this.core;
      if (core === null || this.closed) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, "the metadata log is not running");
      core.tick(monotonicMs());
      const result = "add" in change ? core.addVoter(change.add) : core.removeVoter(change.remove);
      if (result.ok) {
        const committed = new Promise<bigint>((resolve, reject) => this.appends.set(result.offset, { resolve, reject }));
        this.logger.info("voter change appended", { change: "add" in change ? `add ${change.add.id}` : `remove ${change.remove}`, offset: String(result.offset), voters: core.voterIds.join(",") });
        this.pump();
        await withTimeout(committed, Math.max(1, deadline - monotonicMs()), "the voter change did not commit in time");
        return;
      }
      if (result.errorCode !== ErrorCode.REQUEST_TIMED_OUT || monotonicMs() >= deadline) throw new KafkaError(result.errorCode, result.message);
      await new Promise((resolve) => setTimeout(resolve, this.options.brokerConfig["controller.quorum.retry.backoff.ms"]));
    }
  }

  /** DescribeQuorum (answered by the leader only: null elsewhere). */
  describeQuorum(): QuorumDescription | null {
    if (this.core === null) return null;
    this.core.tick(monotonicMs());
    const description = this.core.describeQuorum();
    if (description === null) return null;
    // The core's times are monotonic; DescribeQuorum's are wall-clock milliseconds.
    const toWall = Date.now() - monotonicMs();
    const wall = (state: QuorumDescription["currentVoters"][number]) => ({
      ...state,
      lastFetchTimestamp: state.lastFetchTimestamp < 0 ? -1 : Math.round(state.lastFetchTimestamp + toWall),
      lastCaughtUpTimestamp: state.lastCaughtUpTimestamp < 0 ? -1 : Math.round(state.lastCaughtUpTimestamp + toWall),
    });
    return { ...description, currentVoters: description.currentVoters.map(wall), observers: description.observers.map(wall) };
  }

  /** Role, epoch and offsets of this member (diagnostics, `runnel cluster quorum`). */
  status(): { role: string; epoch: number; leaderId: number; highWatermark: bigint; logEndOffset: bigint; logStartOffset: bigint } {
    return {
      role: this.core?.roleName ?? "stopped", epoch: this.core?.epoch ?? -1, leaderId: this.core?.leaderId ?? -1,
      highWatermark: this.core?.committedOffset ?? -1n, logEndOffset: this.log.endOffset, logStartOffset: this.log.startOffset,
    };
  }

  private send(to: NodeId, request: RaftRequest): void {
    this.options.transport.send(to, request).then(
      (response) => {
        if (this.closed || this.core === null) return;
        if (response.kind === "FetchResponse" && response.errorCode === 0 && this.firstLeaderHighWatermark === null && response.highWatermark >= 0n) {
          this.firstLeaderHighWatermark = response.highWatermark;
        }
        this.core.tick(monotonicMs());
        this.core.step(to, response);
        this.pump();
      },
      (error: unknown) => {
        if (this.closed || this.core === null) return;
        // The leader's connection failed: look for a new leader now, not after the fetch timeout.
        if ((request.kind === "FetchRequest" || request.kind === "FetchSnapshotRequest") && this.core.leaderId === to) {
          this.logger.debug?.("fetch from the quorum leader failed", { leader: to, error: String(error) });
          this.core.tick(monotonicMs());
          this.core.leaderUnreachable();
          this.pump();
        }
      },
    );
  }

  // ── The ready loop ─────────────────────────────────────────────────────────────────────────

  private pump(): void {
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = true;
    void this.drain().catch((error: unknown) => {
      this.logger.error("the metadata quorum driver failed", { error: String(error) });
    });
  }

  private async drain(): Promise<void> {
    try {
      do {
        this.drainAgain = false;
        while (!this.closed && this.core !== null) {
          this.core.tick(monotonicMs());
          const ready = this.core.ready();
          if (ready.quorumState) {
            // The voters written are the ones in effect (informational, as in Kafka's file: the log rules).
            await writeQuorumState(this.fs, this.log.directory, ready.quorumState, this.options.clusterId, this.core.voterIds);
          }
          this.handleReady(ready);
          if (!ready.quorumState && ready.messages.length === 0 && ready.snapshotInstalled === null && ready.committed.length === 0 && ready.leaderChange === null) break;
        }
      } while (this.drainAgain && !this.closed);
    } finally {
      this.draining = false;
    }
  }

  private handleReady(ready: RaftReady): void {
    for (const outbound of ready.messages) this.dispatch(outbound.to, outbound.message);
    if (ready.snapshotInstalled !== null) this.reloadFromSnapshot(ready.snapshotInstalled);
    for (const entry of ready.committed) this.deliverEntry(entry);
    if (ready.flushNeeded) this.startFlush(false);
    if (ready.leaderChange) this.leaderChanged(ready.leaderChange.leaderId ?? -1, ready.leaderChange.epoch);
    this.checkCaughtUp();
    this.schedule(ready.nextWakeMs);
  }

  private dispatch(to: NodeId, message: RaftMessage): void {
    if (message.kind.endsWith("Request")) return this.send(to, message as RaftRequest);
    const key = `${to}/${message.kind}`;
    const queue = this.waiters.get(key);
    const waiter = queue?.shift();
    if (queue && queue.length === 0) this.waiters.delete(key);
    waiter?.(message as RaftResponse);
  }

  private schedule(atMs: number): void {
    if (this.closed || !Number.isFinite(atMs)) return;
    if (this.timer !== null && atMs >= this.timerAtMs) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAtMs = atMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAtMs = Infinity;
      this.pump();
    }, Math.max(0, Math.ceil(atMs - monotonicMs())));
  }

  private startFlush(force: boolean): void {
    if (this.flushing || this.closed) {
      if (this.flushing) this.flushAgain = true;
      return;
    }
    if (!force && this.core !== null && this.core.durableEndOffset >= this.log.endOffset) return;
    this.flushing = true;
    this.log.flush().then(
      (position) => {
        this.flushing = false;
        if (this.closed || this.core === null) return;
        this.core.tick(monotonicMs());
        this.core.markDurable(position);
        const again = this.flushAgain;
        this.flushAgain = false;
        if (again) this.startFlush(true);
        this.pump();
      },
      (error: unknown) => {
        this.flushing = false;
        // A failed fdatasync leaves the file's state unknown (storage takes the log offline): this
        // node can no longer count its own log; it stops acknowledging anything.
        this.logger.error("flushing the metadata log failed; this node stops taking part in the quorum", { error: String(error) });
        void this.close();
      },
    );
  }

  private flushAgain = false;

  // ── Delivery ───────────────────────────────────────────────────────────────────────────────

  private deliver(batch: CommittedBatch): void {
    assert(batch.snapshot === true || batch.baseOffset > this.committed, "committed batches arrive in offset order");
    this.committed = batch.lastOffset;
    for (const listener of this.commitListeners) listener(batch);
    const pending = this.appends.get(batch.lastOffset);
    if (pending) {
      this.appends.delete(batch.lastOffset);
      pending.resolve(batch.lastOffset);
    }
  }

  private deliverEntry(entry: RaftEntry): void {
    if (entry.offset <= this.committed) return;
    if (entry.kind === "data") {
      // Every member paces its own snapshots by what it applied (Kafka's, per node).
      this.bytesSinceSnapshot += entry.value.byteLength;
      const records = decodeMetadataBatch(entry.value);
      this.deliver({ baseOffset: entry.offset, lastOffset: entry.offset, epoch: entry.epoch, records });
      return;
    }
    if (entry.kind === "voters") {
      // The image keeps the voter set, so every snapshot records it (KRaft's VotersRecord).
      const voters = entry.voters.map((voter) => ({ id: voter.id, host: voter.host, port: voter.port }));
      this.deliver({ baseOffset: entry.offset, lastOffset: entry.offset, epoch: entry.epoch, records: [record("VotersRecord", { voters })] });
      return;
    }
    this.deliver({ baseOffset: entry.offset, lastOffset: entry.offset, epoch: entry.epoch, records: [] });
    // Our own epoch's first entry is applied: every older entry is too. Act as the controller now.
    if (entry.leaderId === this.nodeId && entry.epoch === this.core?.epoch && this.core.leaderId === this.nodeId) this.announce(this.nodeId, entry.epoch);
  }

  private reloadFromSnapshot(id: SnapshotId): void {
    const bytes = this.log.snapshotBytes();
    assert(bytes !== null, "an installed snapshot has bytes");
    const records = decodeSnapshot(this.native, bytes);
    this.logger.info("installed a metadata snapshot from the quorum leader", { snapshot: snapshotFileName(id) });
    this.deliver({ baseOffset: 0n, lastOffset: id.endOffset - 1n, epoch: id.epoch, records, snapshot: true });
  }

  private leaderChanged(leaderId: number, epoch: number): void {
    // Proposals not yet committed will not be by us: their callers learn the outcome through onCommit.
    if (leaderId !== this.nodeId) {
      for (const pending of this.appends.values()) pending.reject(new KafkaError(ErrorCode.NOT_CONTROLLER, "leadership of the metadata quorum moved"));
      this.appends.clear();
      this.announce(leaderId, epoch);
    }
  }

  private announce(leaderId: number, epoch: number): void {
    if (this.announced.leaderId === leaderId && this.announced.epoch === epoch) return;
    this.announced = { leaderId, epoch };
    if (leaderId >= 0) {
      this.logger.info("metadata quorum leader", { leader: leaderId, epoch });
      this.leaderKnown.resolve();
    }
    for (const listener of this.leaderListeners) listener(this.announced);
  }

  /** Hand leadership over (controlled shutdown), flush, stop. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.core !== null && this.core.roleName === "leader") {
      this.core.tick(monotonicMs());
      this.core.resign();
      this.pump();
      // Let the EndQuorumEpoch requests leave before the connections close.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const pending of this.appends.values()) pending.reject(new KafkaError(ErrorCode.NOT_CONTROLLER, "the metadata log is closed"));
    this.appends.clear();
    this.announced = { leaderId: -1, epoch: this.announced.epoch };
    for (const listener of this.leaderListeners) listener(this.announced);
    this.leaderKnown.resolve();
    this.checkCaughtUp();
    await this.snapshotChain;
    while (this.draining) await new Promise((resolve) => setTimeout(resolve, 1));
    await this.log.close();
  }
}
