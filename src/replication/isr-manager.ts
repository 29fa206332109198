// ISR changes of the partitions this node leads (docs/replication.md §5), proposed to the controller
// with AlterPartition through an AlterPartitionSender:
//
//   shrink  an ISR member (not the leader) that has not been caught up for replica.lag.time.max.ms
//           (Kafka's default 30000 ms) — checked every half of it, as Kafka does;
//   expand  an eligible follower (unfenced, not shutting down) whose log end reached the high
//           watermark and the start of the leader's epoch — checked after each of its fetches.
//
// The decisions are replication/core's pure rules (isr.ts) through Partition.isrChangeToPropose;
// the proposal's state (one at a time, additions counted in the maximal ISR until a registration
// with a newer partition epoch arrives) is the partition's IsrProposal. The controller's answer is
// logged; the new ISR itself arrives with the metadata image, like every registration change.
// A one-node cluster never proposes anything: its ISR is its only replica.

import type { MetadataImage } from "../cluster/image.ts";
import { ErrorCode, errorName } from "../protocol/errors.ts";
import type { Logger } from "../util/logger.ts";
import type { AlterPartitionSender } from "./alter-partition-sender.ts";
import type { Partition } from "./partition.ts";

export interface IsrManagerOptions {
  nodeId: number;
  sender: AlterPartitionSender;
  image(): MetadataImage;
  /** replica.lag.time.max.ms */
  lagTimeMaxMs: number;
  /** The partitions to check for shrinking (this node's replicas). */
  partitions(): Iterable<Partition>;
  logger: Logger;
  /** Monotonic ms (tests inject a clock). */
  nowMs?: () => number;
}

/** A proposal answered without its registration arriving is retried after this long. */
const retryAfterMs = 1_000;

export class IsrManager {
  private readonly nowMs: () => number;
  private timer: ReturnType<typeof setInterval> | null = null;
  private closed = false;
  /** Proposals sent and not answered (close waits for none of them: the sender never rejects). */
  proposalsSent = 0;

  constructor(private readonly options: IsrManagerOptions) {
    this.nowMs = options.nowMs ?? (() => performance.now());
  }

  /** Start the periodic shrink check (every replica.lag.time.max.ms / 2). */
  start(): void {
    if (this.timer !== null || this.closed) return;
    const intervalMs = Math.max(10, Math.floor(this.options.lagTimeMaxMs / 2));
    this.timer = setInterval(() => this.checkAll(), intervalMs);
    this.timer.unref?.();
  }

  /** Every partition led here: propose what has changed. */
  checkAll(): void {
    for (const partition of this.options.partitions()) if (partition.isLeader) this.maybePropose(partition);
  }

  /** After a follower's fetch of `partition` (or on the timer): propose an ISR change if one is due. */
  maybePropose(partition: Partition): void {
    if (this.closed) return;
    const now = this.nowMs();
    const newIsr = partition.isrChangeToPropose(now, this.options.lagTimeMaxMs, (id) => this.isEligible(id), retryAfterMs);
    if (newIsr === null) return;
    const registration = partition.partitionRegistration;
    const token = partition.isrProposal.proposed(newIsr, registration.isr, registration.partitionEpoch);
    this.proposalsSent += 1;
    this.options.logger.info("proposing an ISR change", {
      partition: `${partition.topic}-${partition.partition}`, isr: registration.isr.join(","), newIsr: newIsr.join(","), leaderEpoch: registration.leaderEpoch, partitionEpoch: registration.partitionEpoch,
    });
    void this.options.sender.send({
      topicId: partition.topicId,
      partition: partition.partition,
      leaderEpoch: registration.leaderEpoch,
      partitionEpoch: registration.partitionEpoch,
      newIsr,
    }).then((result) => {
      partition.isrProposal.answered(token, this.nowMs());
      if (result.error === ErrorCode.INELIGIBLE_REPLICA || result.error === ErrorCode.INVALID_REQUEST) partition.isrProposal.refusedForGood(token);
      if (result.error !== ErrorCode.NONE) {
        this.options.logger.info("ISR change refused", { partition: `${partition.topic}-${partition.partition}`, error: errorName(result.error) });
      }
    });
  }

  /** Unfenced and not in controlled shutdown in the newest image: may join an ISR. */
  private isEligible(brokerId: number): boolean {
    const broker = this.options.image().brokers.get(brokerId);
    return broker !== undefined && !broker.fenced && !broker.inControlledShutdown;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
