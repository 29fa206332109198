// The transaction coordinator (Kafka's TransactionCoordinator): one state machine per
// transactional id (state.ts), persisted in __transaction_state (records.ts) before any change is
// acted on, with COMMIT / ABORT markers written to every partition of a transaction by a
// MarkerWriter. No sockets, no wire versions: the Kafka handlers translate requests into these
// calls; time comes from an injected clock and scheduler.
//
// One change at a time per transactional id: a change in flight (its state record being written,
// or its markers) makes the id "busy", and requests meanwhile answer CONCURRENT_TRANSACTIONS,
// which clients retry — as Kafka's pendingState does.
//
// Fencing: InitProducerId bumps the epoch; a request with an older epoch answers PRODUCER_FENCED
// (EndTxn, AddPartitionsToTxn, AddOffsetsToTxn) — and the markers carry the bumped epoch, so the
// partitions then refuse the old producer's batches (INVALID_PRODUCER_EPOCH). An ongoing
// transaction of the previous incarnation is aborted first (InitProducerId answers
// CONCURRENT_TRANSACTIONS until it is, and the client retries).

import { ErrorCode } from "../protocol/errors.ts";
import { assert } from "../util/assert.ts";
import { createLogger } from "../util/logger.ts";
import {
  TransactionState,
  copyMetadata,
  hasPartition,
  partitionList,
  type TopicPartition,
  type TransactionMetadata,
} from "./state.ts";

const log = createLogger("transactions");
const EPOCH_MAX = 32767;

export interface TransactionCoordinatorConfig {
  /** transaction.max.timeout.ms */
  maxTimeoutMs: number;
  /** transactional.id.expiration.ms */
  idExpirationMs: number;
}

/** Persists state records (__transaction_state); resolves once durable. */
export interface TransactionStore {
  write(transactionalId: string, metadata: TransactionMetadata | null): Promise<void>;
}

/** Writes the markers of a transaction to its partitions; resolves once every partition has its marker. */
export interface MarkerWriter {
  write(producerId: bigint, producerEpoch: number, committed: boolean, partitions: TopicPartition[], transactionalId: string): Promise<void>;
}

export interface TransactionCoordinatorDeps {
  store: TransactionStore;
  markers: MarkerWriter;
  /** A new producer id from the controller's blocks. */
  newProducerId(): Promise<bigint>;
  nowMs(): number;
  /** Whether this node coordinates the id now (its __transaction_state partition is loaded here). */
  owns(transactionalId: string): boolean;
}

export interface InitProducerIdResult {
  errorCode: number;
  producerId: bigint;
  producerEpoch: number;
}

export interface EndTxnResult {
  errorCode: number;
}

const failed = (errorCode: number): InitProducerIdResult => ({ errorCode, producerId: -1n, producerEpoch: -1 });

export class TransactionCoordinator {
  private readonly transactions = new Map<string, TransactionMetadata>();
  /** Ids with a change in flight. */
  private readonly busy = new Set<string>();
  /**
   * The epoch each id's last InitProducerId bumped from (Kafka's lastProducerEpoch, in memory only
   * as in Kafka): a producer that lost the answer to its bump retries with the old epoch and gets
   * the current one back instead of PRODUCER_FENCED (KIP-360).
   */
  private readonly bumpedFrom = new Map<string, { producerId: bigint; producerEpoch: number }>();
  private closed = false;

  constructor(
    private readonly config: TransactionCoordinatorConfig,
    private readonly deps: TransactionCoordinatorDeps,
  ) {}

  close(): void {
    this.closed = true;
  }

  // ── Loading ───────────────────────────────────────────────────────────────────────────────

  /** Applies one replayed record (log order); null metadata removes the id. */
  loadRecord(transactionalId: string, metadata: TransactionMetadata | null): void {
    if (metadata === null) this.transactions.delete(transactionalId);
    else this.transactions.set(transactionalId, metadata);
  }

  /**
   * After a partition's replay: transactions caught between Prepare and Complete get their markers
   * written again (idempotent for the partitions: a second marker closes nothing); ongoing ones
   * stay, for the timeout to abort or the producer to end.
   */
  finishLoading(transactionalIds: Iterable<string>): void {
    for (const transactionalId of transactionalIds) {
      const metadata = this.transactions.get(transactionalId);
      if (!metadata) continue;
      if (metadata.state === TransactionState.PrepareCommit || metadata.state === TransactionState.PrepareAbort) {
        log.info("completing a prepared transaction: writing its markers", { transactionalId, state: metadata.state === TransactionState.PrepareCommit ? "PrepareCommit" : "PrepareAbort" });
        this.busy.add(transactionalId);
        void this.completeMarkers(metadata, metadata.state === TransactionState.PrepareCommit).finally(() => this.busy.delete(transactionalId));
      }
    }
  }

  unload(unloaded: (transactionalId: string) => boolean): number {
    let count = 0;
    for (const transactionalId of [...this.transactions.keys()]) {
      if (!unloaded(transactionalId)) continue;
      this.transactions.delete(transactionalId);
      count++;
    }
    return count;
  }

  /** The state of an id (DescribeTransactions, tests); a copy. */
  describe(transactionalId: string): TransactionMetadata | undefined {
    const metadata = this.transactions.get(transactionalId);
    return metadata && copyMetadata(metadata);
  }

  /** Every id this node coordinates (ListTransactions). */
  list(): TransactionMetadata[] {
    return [...this.transactions.values()].filter((metadata) => this.deps.owns(metadata.transactionalId)).map(copyMetadata);
  }

  // ── InitProducerId ────────────────────────────────────────────────────────────────────────

  async initProducerId(
    transactionalId: string,
    timeoutMs: number,
    expected: { producerId: bigint; producerEpoch: number } | null,
  ): Promise<InitProducerIdResult> {
    if (this.closed) return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (transactionalId === "") return failed(ErrorCode.INVALID_REQUEST);
    if (timeoutMs <= 0 || timeoutMs > this.config.maxTimeoutMs) return failed(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    if (this.busy.has(transactionalId)) return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
    const current = this.transactions.get(transactionalId);
    if (current && expected && expected.producerId >= 0n) {
      // KIP-360: a producer asking to bump its own epoch must still be the current incarnation,
      // or be retrying the bump it last asked for (its answer lost): then it gets that answer again.
      if (expected.producerId !== current.producerId) return failed(ErrorCode.PRODUCER_FENCED);
      if (expected.producerEpoch !== current.producerEpoch) {
        const previous = this.bumpedFrom.get(transactionalId);
        const settled = current.state === TransactionState.Empty || current.state === TransactionState.CompleteCommit || current.state === TransactionState.CompleteAbort;
        const retry = settled && previous !== undefined && previous.producerId === current.producerId && previous.producerEpoch === expected.producerEpoch;
        if (!retry) return failed(ErrorCode.PRODUCER_FENCED);
        return { errorCode: ErrorCode.NONE, producerId: current.producerId, producerEpoch: current.producerEpoch };
      }
    }
    this.busy.add(transactionalId);
    try {
      if (!current || current.state === TransactionState.Dead) return await this.startNewId(transactionalId, timeoutMs);
      switch (current.state) {
        case TransactionState.PrepareCommit:
        case TransactionState.PrepareAbort:
          return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
        case TransactionState.Ongoing:
          // The previous incarnation's transaction: fence it (epoch bump) and abort it; the client retries.
          await this.abortOngoing(current, true);
          return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
        default:
          return await this.bumpEpoch(current, timeoutMs, expected !== null && expected.producerId >= 0n);
      }
    } catch (error) {
      log.warn("InitProducerId failed", { transactionalId, error: String(error) });
      return failed(errorCodeOf(error));
    } finally {
      this.busy.delete(transactionalId);
    }
  }

  private async startNewId(transactionalId: string, timeoutMs: number): Promise<InitProducerIdResult> {
    const producerId = await this.deps.newProducerId();
    const metadata: TransactionMetadata = {
      transactionalId,
      producerId,
      producerEpoch: 0,
      timeoutMs,
      state: TransactionState.Empty,
      partitions: new Map(),
      lastUpdateTimestampMs: this.deps.nowMs(),
      startTimestampMs: -1,
    };
    await this.persist(metadata);
    return { errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
  }

  /** `byProducer`: asked by the current incarnation with its id and epoch (a retry of it is then recognised). */
  private async bumpEpoch(current: TransactionMetadata, timeoutMs: number, byProducer: boolean): Promise<InitProducerIdResult> {
    const next = copyMetadata(current);
    if (current.producerEpoch >= EPOCH_MAX - 1) {
      // Epochs exhausted: a new producer id, as Kafka does.
      next.producerId = await this.deps.newProducerId();
      next.producerEpoch = 0;
    } else {
      next.producerEpoch = current.producerEpoch + 1;
    }
    next.timeoutMs = timeoutMs;
    next.state = TransactionState.Empty;
    next.partitions = new Map();
    next.startTimestampMs = -1;
    next.lastUpdateTimestampMs = this.deps.nowMs();
    await this.persist(next);
    // As Kafka: an initialising producer (no id/epoch given) resets the last epoch.
    if (byProducer && next.producerId === current.producerId) this.bumpedFrom.set(current.transactionalId, { producerId: current.producerId, producerEpoch: current.producerEpoch });
    else this.bumpedFrom.delete(current.transactionalId);
    return { errorCode: ErrorCode.NONE, producerId: next.producerId, producerEpoch: next.producerEpoch };
  }

  // ── AddPartitionsToTxn, AddOffsetsToTxn ───────────────────────────────────────────────────

  /** The error of a request naming (producerId, producerEpoch) for an id, or NONE. */
  private producerError(metadata: TransactionMetadata | undefined, producerId: bigint, producerEpoch: number): number {
    if (!metadata || metadata.state === TransactionState.Dead) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (metadata.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (metadata.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
    return ErrorCode.NONE;
  }

  /**
   * AddPartitionsToTxn (and AddOffsetsToTxn: the group's offsets partition). Returns one error for
   * the whole request (every partition gets it), or NONE.
   */
  async addPartitions(transactionalId: string, producerId: bigint, producerEpoch: number, partitions: TopicPartition[]): Promise<number> {
    if (this.closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const current = this.transactions.get(transactionalId);
    const producerError = this.producerError(current, producerId, producerEpoch);
    if (producerError !== ErrorCode.NONE) return producerError;
    assert(current !== undefined, "checked above");
    if (this.busy.has(transactionalId)) return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (current.state === TransactionState.PrepareCommit || current.state === TransactionState.PrepareAbort) return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (current.state === TransactionState.Ongoing && partitions.every((tp) => hasPartition(current, tp.topic, tp.partition))) return ErrorCode.NONE;
    const next = copyMetadata(current);
    const now = this.deps.nowMs();
    if (next.state !== TransactionState.Ongoing) {
      next.state = TransactionState.Ongoing;
      next.startTimestampMs = now;
    }
    for (const { topic, partition } of partitions) {
      let set = next.partitions.get(topic);
      if (!set) next.partitions.set(topic, (set = new Set()));
      set.add(partition);
    }
    next.lastUpdateTimestampMs = now;
    this.busy.add(transactionalId);
    try {
      await this.persist(next);
      return ErrorCode.NONE;
    } catch (error) {
      return errorCodeOf(error);
    } finally {
      this.busy.delete(transactionalId);
    }
  }

  /**
   * KIP-890 verification (AddPartitionsToTxn v4+ verifyOnly, and the partition leader's check
   * before a transactional write): NONE when the partition is in the producer's ongoing
   * transaction; else the error to answer.
   */
  verifyPartition(transactionalId: string, producerId: bigint, producerEpoch: number, tp: TopicPartition): number {
    const current = this.transactions.get(transactionalId);
    const producerError = this.producerError(current, producerId, producerEpoch);
    if (producerError !== ErrorCode.NONE) return producerError === ErrorCode.PRODUCER_FENCED ? ErrorCode.INVALID_PRODUCER_EPOCH : producerError;
    assert(current !== undefined, "checked above");
    if (current.state !== TransactionState.Ongoing || !hasPartition(current, tp.topic, tp.partition)) return ErrorCode.INVALID_TXN_STATE;
    return ErrorCode.NONE;
  }

  /** TxnOffsetCommit's check: the producer is the current incarnation of the id (when coordinated here). */
  validateProducer(transactionalId: string, producerId: bigint, producerEpoch: number): number {
    const current = this.transactions.get(transactionalId);
    if (!current) return ErrorCode.NONE; // coordinated elsewhere or unknown here: the partition's producer state fences
    const error = this.producerError(current, producerId, producerEpoch);
    return error === ErrorCode.PRODUCER_FENCED ? ErrorCode.PRODUCER_FENCED : error;
  }

  // ── EndTxn ────────────────────────────────────────────────────────────────────────────────

  async endTransaction(transactionalId: string, producerId: bigint, producerEpoch: number, commit: boolean): Promise<EndTxnResult> {
    if (this.closed) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    const current = this.transactions.get(transactionalId);
    const producerError = this.producerError(current, producerId, producerEpoch);
    if (producerError !== ErrorCode.NONE) return { errorCode: producerError };
    assert(current !== undefined, "checked above");
    if (this.busy.has(transactionalId)) return { errorCode: ErrorCode.CONCURRENT_TRANSACTIONS };
    switch (current.state) {
      case TransactionState.Ongoing:
        break;
      case TransactionState.CompleteCommit:
        return { errorCode: commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE };
      case TransactionState.CompleteAbort:
        return { errorCode: commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE };
      case TransactionState.PrepareCommit:
        return { errorCode: commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE };
      case TransactionState.PrepareAbort:
        return { errorCode: commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS };
      default:
        return { errorCode: ErrorCode.INVALID_TXN_STATE };
    }
    this.busy.add(transactionalId);
    try {
      await this.endOngoing(current, commit);
      return { errorCode: ErrorCode.NONE };
    } catch (error) {
      log.warn("EndTxn failed", { transactionalId, commit, error: String(error) });
      return { errorCode: errorCodeOf(error) };
    } finally {
      this.busy.delete(transactionalId);
    }
  }

  /** Prepare (persisted) → markers on every partition → Complete (persisted). */
  private async endOngoing(current: TransactionMetadata, commit: boolean, bumpEpoch = false): Promise<void> {
    const prepared = copyMetadata(current);
    prepared.state = commit ? TransactionState.PrepareCommit : TransactionState.PrepareAbort;
    if (bumpEpoch) prepared.producerEpoch = current.producerEpoch + 1;
    prepared.lastUpdateTimestampMs = this.deps.nowMs();
    await this.persist(prepared);
    await this.completeMarkers(prepared, commit);
  }

  private async completeMarkers(prepared: TransactionMetadata, commit: boolean): Promise<void> {
    await this.deps.markers.write(prepared.producerId, prepared.producerEpoch, commit, partitionList(prepared), prepared.transactionalId);
    const completed = copyMetadata(prepared);
    completed.state = commit ? TransactionState.CompleteCommit : TransactionState.CompleteAbort;
    completed.partitions = new Map();
    completed.startTimestampMs = -1;
    completed.lastUpdateTimestampMs = this.deps.nowMs();
    await this.persist(completed);
  }

  /** Aborts an ongoing transaction; `fence` bumps the epoch first (a new incarnation, or a timeout). */
  private abortOngoing(current: TransactionMetadata, fence: boolean): Promise<void> {
    assert(current.state === TransactionState.Ongoing, "only an ongoing transaction is aborted");
    return this.endOngoing(current, false, fence && current.producerEpoch < EPOCH_MAX);
  }

  // ── Timeouts and expiry ───────────────────────────────────────────────────────────────────

  /**
   * Aborts ongoing transactions past their transaction.timeout.ms (with an epoch bump: the producer
   * is fenced, as Kafka does). Returns how many were started.
   */
  abortTimedOut(): number {
    const now = this.deps.nowMs();
    let started = 0;
    for (const metadata of this.transactions.values()) {
      if (this.busy.has(metadata.transactionalId)) continue;
      if (metadata.state === TransactionState.PrepareCommit || metadata.state === TransactionState.PrepareAbort) {
        // Markers that failed to be written (a partition was unavailable): try again.
        this.finishLoading([metadata.transactionalId]);
        continue;
      }
      if (metadata.state !== TransactionState.Ongoing) continue;
      if (!this.deps.owns(metadata.transactionalId)) continue;
      if (metadata.startTimestampMs < 0 || metadata.startTimestampMs + metadata.timeoutMs > now) continue;
      const transactionalId = metadata.transactionalId;
      log.info("aborting a transaction past its timeout", { transactionalId, timeoutMs: metadata.timeoutMs });
      this.busy.add(transactionalId);
      started++;
      void this.abortOngoing(metadata, true)
        .catch((error: unknown) => log.warn("aborting a timed-out transaction failed", { transactionalId, error: String(error) }))
        .finally(() => this.busy.delete(transactionalId));
    }
    return started;
  }

  /** Removes ids idle (not ongoing) for transactional.id.expiration.ms: a tombstone each. */
  expireIds(): number {
    const now = this.deps.nowMs();
    let expired = 0;
    for (const metadata of [...this.transactions.values()]) {
      const idle = metadata.state === TransactionState.Empty || metadata.state === TransactionState.CompleteCommit || metadata.state === TransactionState.CompleteAbort;
      if (!idle || this.busy.has(metadata.transactionalId) || !this.deps.owns(metadata.transactionalId)) continue;
      if (metadata.lastUpdateTimestampMs + this.config.idExpirationMs > now) continue;
      const transactionalId = metadata.transactionalId;
      this.busy.add(transactionalId);
      expired++;
      void this.deps.store
        .write(transactionalId, null)
        .then(() => {
          if (this.transactions.get(transactionalId) === metadata) this.transactions.delete(transactionalId);
        })
        .catch((error: unknown) => log.warn("expiring a transactional id failed", { transactionalId, error: String(error) }))
        .finally(() => this.busy.delete(transactionalId));
    }
    return expired;
  }

  // ── Persistence ───────────────────────────────────────────────────────────────────────────

  /** Writes the state record, then applies it in memory (never the other way round). */
  private async persist(metadata: TransactionMetadata): Promise<void> {
    await this.deps.store.write(metadata.transactionalId, metadata);
    this.transactions.set(metadata.transactionalId, metadata);
  }
}

function errorCodeOf(error: unknown): number {
  if (error && typeof error === "object" && "code" in error && typeof (error as { code: unknown }).code === "number") {
    return (error as { code: number }).code;
  }
  return ErrorCode.COORDINATOR_NOT_AVAILABLE;
}
