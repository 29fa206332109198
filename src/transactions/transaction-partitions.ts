// Which transactional ids this node coordinates: those of the __transaction_state partitions it
// leads, replayed into the coordinator when it becomes their leader and dropped when it stops.
// Requests ask `errorFor(transactionalId)` first:
//
//   partition led here and loaded ........ NONE
//   led here, still loading ............... COORDINATOR_LOAD_IN_PROGRESS (clients retry)
//   not led here .......................... NOT_COORDINATOR (clients look it up again)
//   __transaction_state does not exist .... COORDINATOR_NOT_AVAILABLE

import { ErrorCode } from "../protocol/errors.ts";
import type { LeadershipChange, ReplicaManager } from "../replication/replica-manager.ts";
import { createLogger } from "../util/logger.ts";
import type { TransactionCoordinator } from "./coordinator.ts";
import { TRANSACTION_STATE_TOPIC, transactionPartitionFor, type TransactionLog } from "./transaction-log.ts";

const logger = createLogger("transactions");

export class TransactionPartitions {
  /** partition → still loading. */
  private readonly owned = new Map<number, { loading: boolean }>();
  private readonly loads = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly coordinator: TransactionCoordinator,
    private readonly transactionLog: TransactionLog,
    private readonly replicas: ReplicaManager,
  ) {}

  readonly onLeadershipChange = (change: LeadershipChange): void => {
    if (change.topic !== TRANSACTION_STATE_TOPIC || this.closed) return;
    if (change.isLeader) this.load(change.partition);
    else this.unload(change.partition);
  };

  errorFor(transactionalId: string): number {
    const count = this.transactionLog.partitionCount;
    if (count === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const ownership = this.owned.get(transactionPartitionFor(transactionalId, count));
    if (!ownership) return ErrorCode.NOT_COORDINATOR;
    return ownership.loading ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE;
  }

  async loaded(): Promise<void> {
    while (this.loads.size > 0) await Promise.allSettled([...this.loads]);
  }

  private load(partition: number): void {
    if (this.owned.has(partition)) return;
    const ownership = { loading: true };
    this.owned.set(partition, ownership);
    const current = () => this.owned.get(partition) === ownership && !this.closed;
    const run = (async () => {
      const replica = this.replicas.partition(TRANSACTION_STATE_TOPIC, partition);
      if (!replica) throw new Error(`${TRANSACTION_STATE_TOPIC}-${partition} has no local replica`);
      const ids = new Set<string>();
      const records = await this.transactionLog.loadPartition(replica, (transactionalId, metadata) => {
        ids.add(transactionalId);
        this.coordinator.loadRecord(transactionalId, metadata);
      }, current);
      if (!current()) return;
      ownership.loading = false;
      this.coordinator.finishLoading(ids);
      if (records > 0) logger.info("transaction state partition loaded", { partition, transactionalIds: ids.size, records });
    })().catch((error: unknown) => {
      logger.error("loading a transaction state partition failed; its transactional ids are unavailable here", { partition, error: String(error) });
      if (this.owned.get(partition) === ownership) this.unload(partition);
    });
    this.loads.add(run);
    void run.finally(() => this.loads.delete(run));
  }

  private unload(partition: number): void {
    if (!this.owned.delete(partition)) return;
    const count = this.transactionLog.partitionCount;
    const removed = this.coordinator.unload((transactionalId) => count !== undefined && transactionPartitionFor(transactionalId, count) === partition);
    logger.info("transaction state partition unloaded", { partition, transactionalIds: removed });
  }

  close(): void {
    this.closed = true;
  }
}
