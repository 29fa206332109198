// One metadata log shared by several nodes in one test process (test-only): a stand-in for the Raft
// quorum that lets in-process tests run two or three real brokers (real files, real TCP between
// them for replica fetches) fed the same committed metadata records. Every node gets a view that
// implements MetadataLog; a record appended through any view is committed at once and delivered
// synchronously, in offset order, to every started view. So every node's controller may act as
// the active one: each reads its committed image, which is always up to date when it builds
// records (delivery is synchronous), and operations on one event loop never interleave.
//
// What it is not: a consensus protocol. It never loses a committed record and never elects; a
// node that "crashes" (its view closed) simply stops receiving, and a restarted node replays
// everything from offset 0. Tests fence a dead broker themselves (`fence`), as the controller's
// session timeout does in a real cluster.

import { applyRecords, emptyImage, type MetadataImage } from "../cluster/image.ts";
import type { CommittedBatch, MetadataLeader, MetadataLog } from "../cluster/metadata-log.ts";
import { fenceBrokerChanges } from "../cluster/controller/partition-changes.ts";
import { record, type MetadataRecord } from "../cluster/records.ts";
import { assert } from "../util/assert.ts";

export class SharedMetadataLog {
  private readonly batches: CommittedBatch[] = [];
  private readonly views = new Set<SharedMetadataLogView>();
  private next = 0n;
  /** The image of everything committed (what a fresh node would replay to). */
  image: MetadataImage = emptyImage;

  get nextOffset(): bigint {
    return this.next;
  }

  get committedOffset(): bigint {
    return this.next - 1n;
  }

  /** A view for node `nodeId` (a new one for each process start of that node). */
  view(nodeId: number): MetadataLog {
    const view = new SharedMetadataLogView(this, nodeId);
    this.views.add(view);
    return view;
  }

  /** Commit `records` as one batch and deliver it to every started view now. Returns its last offset. */
  append(records: readonly MetadataRecord[]): bigint {
    assert(records.length > 0, "a batch holds records");
    const batch: CommittedBatch = { baseOffset: this.next, lastOffset: this.next + BigInt(records.length) - 1n, epoch: 1, records: [...records] };
    this.image = applyRecords(this.image, batch.records, { offset: batch.lastOffset, epoch: 1 }).image;
    this.next = batch.lastOffset + 1n;
    this.batches.push(batch);
    for (const view of this.views) view.deliver(batch);
    return batch.lastOffset;
  }

  /** What the controller does when a broker misses its session: fenced, out of the ISRs, its leaderships moved. */
  fence(brokerId: number): bigint {
    const broker = this.image.brokers.get(brokerId);
    assert(broker !== undefined, `broker ${brokerId} is registered`);
    return this.append([
      record("BrokerRegistrationChangeRecord", { brokerId, brokerEpoch: broker.epoch, fenced: true }),
      ...fenceBrokerChanges(this.image, brokerId),
    ]);
  }

  /** Every batch so far (a view replays them at start). */
  committed(): readonly CommittedBatch[] {
    return this.batches;
  }

  detach(view: SharedMetadataLogView): void {
    this.views.delete(view);
  }
}

class SharedMetadataLogView implements MetadataLog {
  private readonly listeners: ((batch: CommittedBatch) => void)[] = [];
  private started = false;
  private closed = false;

  constructor(private readonly shared: SharedMetadataLog, readonly nodeId: number) {}

  get committedOffset(): bigint {
    return this.shared.committedOffset;
  }

  get nextOffset(): bigint {
    return this.shared.nextOffset;
  }

  /** Every node's controller is active on the shared log (see the header). */
  get leader(): MetadataLeader {
    return { leaderId: this.nodeId, epoch: 1 };
  }

  onCommit(listener: (batch: CommittedBatch) => void): void {
    this.listeners.push(listener);
  }

  onLeaderChange(listener: (leader: MetadataLeader) => void): () => void {
    listener(this.leader);
    return () => {};
  }

  deliver(batch: CommittedBatch): void {
    if (!this.started || this.closed) return;
    for (const listener of this.listeners) listener(batch);
  }

  async start(): Promise<void> {
    for (const batch of this.shared.committed()) for (const listener of this.listeners) listener(batch);
    this.started = true;
  }

  append(records: readonly MetadataRecord[]): Promise<bigint> {
    if (this.closed) return Promise.reject(new Error(`node ${this.nodeId}'s metadata log view is closed`));
    return Promise.resolve(this.shared.append(records));
  }

  saveSnapshot(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.shared.detach(this);
  }
}
