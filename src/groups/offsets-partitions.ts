// Which groups this node coordinates (docs/replication.md §6): the groups of the
// __consumer_offsets partitions it leads. Leadership comes from the replica manager; a partition
// is loaded (replayed into the coordinator, a chunk at a time) when this node becomes its leader and
// unloaded when it stops being. Group requests ask `errorFor(groupId)` first:
//
//   offsets partition led here and loaded ....... NONE
//   led here, still loading ...................... COORDINATOR_LOAD_IN_PROGRESS (clients retry)
//   not led here ................................. NOT_COORDINATOR (clients look it up again)
//   __consumer_offsets does not exist yet ......... COORDINATOR_NOT_AVAILABLE

import { ErrorCode } from "../protocol/errors.ts";
import type { LeadershipChange, ReplicaManager } from "../replication/replica-manager.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import type { ConsumerGroups } from "./consumer-groups.ts";
import type { GroupCoordinator } from "./coordinator.ts";
import type { OffsetsLog } from "./offsets-log.ts";
import { OFFSETS_TOPIC, offsetsPartitionFor } from "./partition-for.ts";

interface Ownership {
  leaderEpoch: number;
  loading: boolean;
}

export class OffsetsPartitions {
  private readonly owned = new Map<number, Ownership>();
  private readonly loads = new Set<Promise<void>>();
  private readonly logger: Logger;
  private closed = false;

  constructor(
    private readonly coordinator: GroupCoordinator,
    private readonly consumerGroups: ConsumerGroups,
    private readonly offsetsLog: OffsetsLog,
    private readonly replicas: ReplicaManager,
    logger?: Logger,
  ) {
    this.logger = logger ?? createLogger("groups");
    coordinator.setOwnership((groupId) => this.errorFor(groupId) === ErrorCode.NONE);
  }

  /** A ReplicaManager leadership listener. */
  readonly onLeadershipChange = (change: LeadershipChange): void => {
    if (change.topic !== OFFSETS_TOPIC || this.closed) return;
    if (change.isLeader) this.load(change.partition, change.leaderEpoch);
    else this.unload(change.partition);
  };

  errorFor(groupId: string): number {
    const count = this.offsetsLog.partitionCount;
    if (count === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const ownership = this.owned.get(offsetsPartitionFor(groupId, count));
    if (!ownership) return ErrorCode.NOT_COORDINATOR;
    return ownership.loading ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE;
  }

  /** True while some partition led here is still loading (ListGroups answers COORDINATOR_LOAD_IN_PROGRESS). */
  get anyLoading(): boolean {
    for (const ownership of this.owned.values()) if (ownership.loading) return true;
    return false;
  }

  /** Partitions led and loaded here (tests, diagnostics). */
  loadedPartitions(): number[] {
    return [...this.owned].filter(([, ownership]) => !ownership.loading).map(([partition]) => partition).sort((a, b) => a - b);
  }

  /** Resolves once every load started so far has finished. */
  async loaded(): Promise<void> {
    while (this.loads.size > 0) await Promise.allSettled([...this.loads]);
  }

  private load(partition: number, leaderEpoch: number): void {
    const existing = this.owned.get(partition);
    if (existing) {
      // Still led here under a newer epoch: what is loaded (or loading) stays right.
      existing.leaderEpoch = leaderEpoch;
      return;
    }
    const ownership: Ownership = { leaderEpoch, loading: true };
    this.owned.set(partition, ownership);
    const current = () => this.owned.get(partition) === ownership && !this.closed;
    const started = performance.now();
    const run = (async () => {
      const replica = this.replicas.partition(OFFSETS_TOPIC, partition);
      if (!replica) throw new Error(`${OFFSETS_TOPIC}-${partition} has no local replica`);
      const groupIds = new Set<string>();
      const count = this.offsetsLog.partitionCount;
      const inPartition = (groupId: string) => count !== undefined && offsetsPartitionFor(groupId, count) === partition;
      const loaded = await this.offsetsLog.loadPartition(replica, (record, producerId) => {
        groupIds.add(record.groupId);
        this.coordinator.loadRecord(record, producerId);
      }, current, (producerId, committed) => this.coordinator.completeTransaction(producerId, committed, inPartition));
      // Unloaded (or led again under a newer epoch) meanwhile: that path owns the groups now.
      if (!current()) return;
      this.coordinator.finishLoading(groupIds);
      ownership.loading = false;
      (loaded.records > 0 ? this.logger.info : this.logger.debug).call(this.logger, "offsets partition loaded", {
        partition, leaderEpoch, groups: groupIds.size, records: loaded.records, bytes: loaded.bytes, ms: Math.round(performance.now() - started),
      });
    })().catch((error: unknown) => {
      this.logger.error("loading an offsets partition failed; its groups are unavailable here", { partition, error: String(error) });
      if (this.owned.get(partition) === ownership) this.unload(partition);
    });
    this.loads.add(run);
    void run.finally(() => this.loads.delete(run));
  }

  private unload(partition: number): void {
    if (!this.owned.delete(partition)) return;
    const count = this.offsetsLog.partitionCount;
    const inPartition = (groupId: string) => count !== undefined && offsetsPartitionFor(groupId, count) === partition;
    const groups = this.coordinator.unloadGroups(inPartition);
    this.consumerGroups.unloadGroups(inPartition);
    this.logger.info("offsets partition unloaded", { partition, groups });
  }

  close(): void {
    this.closed = true;
  }
}
