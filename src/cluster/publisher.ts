// The metadata publisher (docs/replication.md §2): applies committed batches of the metadata log
// to the image, in order, and hands each new image with its delta to the listeners (the
// reconciler, the topic-config cache, …), awaiting each in turn. Only then does `image` — what
// the handlers read — move: a handler that sees a topic in the image also finds its local
// partitions set up, and never sees an uncommitted record.
//
//   metadata log ─ committed batches ─▶ apply ─▶ listeners (await, in order) ─▶ image published
//
// Batches that arrive while listeners run are applied together and published once, with the union
// of their deltas (at start the whole log replays as one publication). A record that cannot be
// applied means a damaged log or a bug: publishing stops and every waiter learns of it.

import { assert } from "../util/assert.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import { applyRecords, emptyDelta, emptyImage, imageDifference, isEmptyDelta, mergeDelta, type MetadataDelta, type MetadataImage } from "./image.ts";
import type { CommittedBatch, MetadataLog } from "./metadata-log.ts";

export type MetadataListener = (image: MetadataImage, delta: MetadataDelta) => void | Promise<void>;

interface OffsetWaiter {
  offset: bigint;
  resolve(): void;
  reject(error: unknown): void;
}

export class MetadataPublisher {
  private published: MetadataImage = emptyImage;
  /** Committed batches not yet applied. */
  private queue: CommittedBatch[] = [];
  private draining: Promise<void> | null = null;
  private readonly listeners: { name: string; listener: MetadataListener }[] = [];
  private readonly publishedListeners: ((image: MetadataImage) => void)[] = [];
  private waiters: OffsetWaiter[] = [];
  private failure: Error | null = null;
  private closed = false;
  private readonly logger: Logger;

  constructor(log: MetadataLog, logger?: Logger) {
    this.logger = logger ?? createLogger("metadata");
    log.onCommit((batch) => this.enqueue(batch));
  }

  /** The newest published image. */
  get image(): MetadataImage {
    return this.published;
  }

  /** Listeners run in registration order; register before the metadata log starts. */
  subscribe(name: string, listener: MetadataListener): void {
    this.listeners.push({ name, listener });
  }

  /** Called after each publication, not awaited (snapshots: snapshotter.ts). */
  onPublished(listener: (image: MetadataImage) => void): void {
    this.publishedListeners.push(listener);
  }

  /** Resolves once an image at or past `offset` is published (its listeners done). */
  waitForPublished(offset: bigint): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.published.offset >= offset) return Promise.resolve();
    if (this.closed) return Promise.reject(new Error("the metadata publisher is closed"));
    return new Promise((resolve, reject) => this.waiters.push({ offset, resolve, reject }));
  }

  /** Resolves when everything committed so far is published. */
  idle(): Promise<void> {
    return this.draining ?? Promise.resolve();
  }

  private enqueue(batch: CommittedBatch): void {
    if (this.failure || this.closed) return;
    this.queue.push(batch);
    this.draining ??= this.drain();
  }

  private async drain(): Promise<void> {
    try {
      // Let the rest of the current turn queue its batches too (start replays the whole log at once).
      await Promise.resolve();
      while (this.queue.length > 0 && !this.failure && !this.closed) await this.publishQueued();
    } finally {
      // Runs right after the last look at the queue (no await in between): a batch enqueued later
      // starts a new drain.
      this.draining = null;
    }
  }

  /** Apply every queued batch, notify the listeners once, then publish. */
  private async publishQueued(): Promise<void> {
    const batches = this.queue;
    this.queue = [];
    let image = this.published;
    const delta = emptyDelta();
    try {
      for (const batch of batches) {
        // A snapshot rebuilds the image from nothing: delivered first at start, or later to a Raft
        // follower too far behind the leader's log start; over a running image its delta is the
        // difference between the two images.
        if (batch.snapshot && image.offset !== -1n) {
          const fresh = applyRecords(emptyImage, batch.records, { offset: batch.lastOffset, epoch: batch.epoch }).image;
          mergeDelta(delta, imageDifference(image, fresh));
          image = fresh;
          continue;
        }
        const applied = applyRecords(image, batch.records, { offset: batch.lastOffset, epoch: batch.epoch });
        image = applied.image;
        mergeDelta(delta, applied.delta);
      }
    } catch (error) {
      this.fail(error);
      return;
    }
    if (!isEmptyDelta(delta)) await this.notify(image, delta);
    assert(image.offset >= this.published.offset, "published images move forward");
    this.published = image;
    this.wakeWaiters();
    for (const listener of this.publishedListeners) listener(image);
  }

  private async notify(image: MetadataImage, delta: MetadataDelta): Promise<void> {
    for (const { name, listener } of this.listeners) {
      try {
        await listener(image, delta);
      } catch (error) {
        // A listener handles its own operating errors (a log that cannot be created is reported
        // for that partition); one that throws has a bug, which must not stop the others.
        this.logger.error("metadata listener failed", { listener: name, offset: String(image.offset), error: String(error) });
      }
    }
  }

  private wakeWaiters(): void {
    const offset = this.published.offset;
    const ready = this.waiters.filter((waiter) => waiter.offset <= offset);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => waiter.offset > offset);
    for (const waiter of ready) waiter.resolve();
  }

  private fail(error: unknown): void {
    this.failure = new Error(`metadata could not be applied: ${error instanceof Error ? error.message : String(error)}`);
    this.logger.error("metadata publishing stopped", { error: this.failure.message });
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
    const error = new Error("the metadata publisher is closed");
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}
