// Group commit for one partition log: appends since the last sync share one `pending` promise; a
// sync takes it over, fdatasyncs every dirty file (off the event loop) and resolves it. Only one
// sync runs at a time; requests that arrive meanwhile are served by the next one, which covers
// every batch appended until it starts. The log asks for a sync when flush.messages records are
// unsynced, when flush.ms passes (the timer armed here), on roll (like Kafka), on flush() and on
// close(). A failed fdatasync is reported to the log, which goes offline (after a failed fsync the
// kernel may have dropped the dirty pages and the file's state is unknown).

import { LONG_MAX } from "../config/index.ts";
import type { KafkaError } from "../protocol/errors.ts";
import { assert } from "../util/assert.ts";
import type { Logger } from "../util/logger.ts";
import type { StorageFs } from "./fs.ts";
import type { Segment } from "./segment.ts";

export interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((resolveFn, rejectFn) => {
    resolve = resolveFn;
    reject = rejectFn;
  });
  // Nobody may be waiting for durability (acks=1): never report that as an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

const resolved = Promise.resolve();

/** What the group commit needs from its log. */
export interface GroupCommitHost {
  readonly fs: StorageFs;
  readonly logger: Logger;
  readonly directory: string;
  /** The log's segments, oldest first (the dirty ones are synced in this order). */
  segments(): readonly Segment[];
  logEndOffset(): bigint;
  /** Everything below `offset` is on stable storage now. */
  advanceRecoveryPoint(offset: bigint): void;
  flushMs(): number;
  /** A sync failed: the log goes offline; returns the error every waiter gets. */
  syncFailed(error: unknown): KafkaError;
  /** The log already failed: a sync waiting to run again must not start. */
  isFailed(): boolean;
}

export class GroupCommit {
  /** Records appended since the last sync started (flush.messages). */
  unflushedRecords = 0;
  /** A segment was created or removed since the last sync: the directory needs an fsync too. */
  directoryDirty = false;
  private pending: Deferred | null = null;
  private inflight: Deferred | null = null;
  private syncRunning: Promise<void> | null = null;
  private syncAgain = false;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private pendingIndexFds: number[] = [];
  private afterSyncActions: (() => void)[] = [];
  private syncIdleWaiters: (() => void)[] = [];
  /** File work started off the event loop (a roll's trim and index files), not yet claimed by a sync. */
  private backgroundWork: Promise<number[]>[] = [];

  constructor(private readonly host: GroupCommitHost) {}

  /** There is something to sync; returns the deferred that the next sync will resolve. */
  markDirty(): Deferred {
    if (this.pending === null) {
      this.pending = deferred();
      const flushMs = this.host.flushMs();
      if (flushMs < LONG_MAX && flushMs > 0 && this.flushTimer === null) {
        this.flushTimer = setTimeout(() => {
          this.flushTimer = null;
          void this.requestSync();
        }, flushMs);
        this.flushTimer.unref?.();
      }
    }
    return this.pending;
  }

  get hasPending(): boolean {
    return this.pending !== null;
  }

  /** Index files written at a roll or close: synced (then closed) by the next sync. */
  addIndexFds(fds: readonly number[]): void {
    this.pendingIndexFds.push(...fds);
  }

  /** Index descriptors waiting for the next sync (the log asks for one before they pile up). */
  get pendingIndexFdCount(): number {
    return this.pendingIndexFds.length;
  }

  /**
   * File work running off the event loop whose result the next sync must cover: that sync awaits it
   * before its fdatasyncs, then syncs and closes the fds it resolves to. `work` must never reject.
   * waitSyncIdle() also waits for it, so truncation, cleaning and close never race it.
   */
  addBackgroundWork(work: Promise<number[]>): void {
    this.backgroundWork.push(work);
  }

  /** A promise for the durability of everything appended so far, given the recovery point. */
  durableThrough(offset: bigint, recoveryPoint: bigint): Promise<void> {
    if (offset < recoveryPoint) return resolved;
    return (this.pending ?? this.inflight)?.promise ?? resolved;
  }

  /** Resolves once everything appended before this call is durable. */
  requestSync(): Promise<void> {
    const waitFor = this.pending ?? this.inflight;
    if (waitFor === null) return resolved;
    if (this.syncRunning === null) this.startSync();
    else if (this.pending !== null) this.syncAgain = true;
    return waitFor.promise;
  }

  /** flush.ms changed while appends waited under the old value: sync them now rather than re-arm. */
  flushNowIfPending(): boolean {
    if (this.pending === null) return false;
    this.stopTimer();
    void this.requestSync();
    return true;
  }

  stopTimer(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }

  /** Run `action` now, or after the running sync (it may be syncing the fds `action` closes). */
  afterSync(action: () => void): void {
    if (this.syncRunning === null) action();
    else this.afterSyncActions.push(action);
  }

  /** Resolves when no sync runs and no background file work is in flight. */
  waitSyncIdle(): Promise<void> {
    if (this.syncRunning === null) return this.settleBackgroundWork();
    return new Promise<void>((resolve) => this.syncIdleWaiters.push(resolve)).then(() => this.waitSyncIdle());
  }

  /** Background work no sync claimed (the log failed): wait for it; the next sync or close takes its fds. */
  private settleBackgroundWork(): Promise<void> {
    if (this.backgroundWork.length === 0) return resolved;
    const work = this.backgroundWork.splice(0);
    return Promise.all(work).then((results) => {
      for (const fds of results) this.pendingIndexFds.push(...fds);
    });
  }

  /** Close index descriptors no sync will use any more (the log is closing). */
  closeIndexFds(): void {
    for (const fd of this.pendingIndexFds.splice(0)) this.host.fs.close(fd);
  }

  private startSync(): void {
    assert(this.syncRunning === null, "one sync at a time");
    const covering = this.pending;
    if (covering === null) return;
    const host = this.host;
    this.pending = null;
    this.inflight = covering;
    this.unflushedRecords = 0;
    this.stopTimer();
    const target = host.logEndOffset();
    const segments = host.segments().filter((segment) => segment.dirty && segment.isOpen);
    // Pinned open until the syncs end (the descriptor LRU must not close, and so let the kernel
    // reuse, a descriptor an fdatasync is using), and pinned before `dirty` is cleared: a dirty
    // segment's descriptor is always open (the LRU never closes one), so none is reopened here.
    const fds = segments.map((segment) => segment.syncStarted());
    for (const segment of segments) segment.dirty = false;
    const indexFds = this.pendingIndexFds.splice(0);
    const work = this.backgroundWork.splice(0);
    const directoryDirty = this.directoryDirty;
    this.directoryDirty = false;
    // In offset order, one after the other, and the directory last: a power loss can then never
    // keep a later segment's data (or a new segment's name) while losing an earlier segment's
    // tail. Usually only the active segment is dirty, so this costs nothing; around a roll it
    // serializes two or three fdatasyncs.
    const syncAll = async () => {
      // A roll's trim must reach the file before the fdatasync that makes the sealed size durable.
      if (work.length > 0) for (const workFds of await Promise.all(work)) indexFds.push(...workFds);
      for (const fd of fds) await host.fs.datasync(fd);
      if (indexFds.length > 0) await Promise.all(indexFds.map((fd) => host.fs.datasync(fd)));
      if (directoryDirty) await host.fs.fsyncDir(host.directory);
    };
    this.syncRunning = syncAll().then(
      () => {
        const end = host.logEndOffset();
        host.advanceRecoveryPoint(target < end ? target : end);
        covering.resolve();
      },
      (error: unknown) => {
        for (const segment of segments) segment.dirty = true;
        const failure = host.syncFailed(error);
        covering.reject(failure);
        if (this.pending) this.pending.reject(failure);
        this.pending = null;
      },
    ).finally(() => {
      for (const segment of segments) segment.syncFinished();
      this.finishSync(indexFds);
    });
  }

  private finishSync(indexFds: number[]): void {
    for (const fd of indexFds) {
      try {
        this.host.fs.close(fd);
      } catch (error) {
        this.host.logger.warn("closing an index file failed", { error: String(error) });
      }
    }
    this.inflight = null;
    this.syncRunning = null;
    for (const action of this.afterSyncActions.splice(0)) action();
    if (this.syncAgain && !this.host.isFailed()) {
      this.syncAgain = false;
      this.startSync();
      return;
    }
    this.syncAgain = false;
    for (const wake of this.syncIdleWaiters.splice(0)) wake();
  }
}
