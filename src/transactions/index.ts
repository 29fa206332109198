// The transactions subsystem of a node (issue 14): the transaction coordinator over
// __transaction_state, its partitions' loading as leadership moves, the periodic abort of timed-out
// transactions and expiry of idle ids, and the marker writer (here and on other nodes through
// WriteTxnMarkers). node.ts starts it before
// the metadata log replays (so every leadership of a state partition reaches it) and puts it in the
// broker context (ctx.broker.transactions). __transaction_state is created on first use
// (FindCoordinator / InitProducerId with a transactional id), as Kafka does.

import type { PeerConnections } from "../client/peer-connections.ts";
import type { ClusterAdmin } from "../cluster/admin.ts";
import { liveBrokers, type MetadataImage } from "../cluster/image.ts";
import type { BrokerConfig } from "../config/index.ts";
import type { Groups } from "../groups/index.ts";
import { systemScheduler, type Scheduler, type TimerHandle } from "../groups/scheduler.ts";
import type { ReplicaManager } from "../replication/replica-manager.ts";
import { createLogger } from "../util/logger.ts";
import { TransactionCoordinator } from "./coordinator.ts";
import { ClusterMarkerWriter, LocalMarkers } from "./markers.ts";
import { TRANSACTION_STATE_TOPIC, TransactionLog } from "./transaction-log.ts";
import { TransactionPartitions } from "./transaction-partitions.ts";
import { RemoteVerification } from "./remote-verification.ts";

export { TransactionCoordinator } from "./coordinator.ts";
export { TRANSACTION_STATE_TOPIC, transactionPartitionFor } from "./transaction-log.ts";
export { TransactionState, TRANSACTION_STATE_NAMES, type TransactionMetadata } from "./state.ts";

const log = createLogger("transactions");
/** Markers not written yet are tried again after this, doubling up to the cap (Kafka retries them without end too). */
const MARKER_RETRY_BACKOFF_MS = 100;
const MARKER_RETRY_BACKOFF_MAX_MS = 1000;

export interface Transactions {
  readonly coordinator: TransactionCoordinator;
  readonly log: TransactionLog;
  readonly partitions: TransactionPartitions;
  /** Marker appends on the partitions this node leads (WriteTxnMarkers' handler). */
  readonly localMarkers: LocalMarkers;
  /** KIP-890 verification with the coordinator of an id coordinated on another node. */
  readonly remoteVerification: RemoteVerification;
  /** NONE when this node coordinates the id now; else NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE. */
  coordinatorError(transactionalId: string): number;
  /** Creates __transaction_state when missing (first use); resolves once it is in the image. */
  ensureTopic(): Promise<void>;
  close(): void;
}

export function startTransactions(options: {
  config: BrokerConfig;
  replicas: ReplicaManager;
  metadata: () => MetadataImage;
  admin: ClusterAdmin;
  newProducerId: () => Promise<bigint>;
  groups: Groups;
  nodeId: number;
  /** Connections to the other nodes (markers for partitions they lead); null on one node. */
  peers: PeerConnections | null;
  scheduler?: Scheduler;
}): Transactions {
  const { config, replicas, metadata, admin, groups } = options;
  const scheduler = options.scheduler ?? systemScheduler;
  const writeTimeoutMs = config["offsets.commit.timeout.ms"];
  const transactionLog = new TransactionLog(replicas, () => metadata().topicsByName.get(TRANSACTION_STATE_TOPIC)?.partitions.length, writeTimeoutMs);
  let partitions: TransactionPartitions | null = null;
  const localMarkers = new LocalMarkers(
    replicas,
    () => ({ coordinator: groups.coordinator, offsetsPartitionCount: groups.offsetsLog.partitionCount }),
    writeTimeoutMs,
  );
  const markers = new ClusterMarkerWriter({
    nodeId: options.nodeId,
    local: localMarkers,
    metadata,
    peers: options.peers,
    coordinatorEpochOf: (transactionalId) => {
      const partition = transactionLog.partitionFor(transactionalId);
      return partition < 0 ? 0 : replicas.partition(TRANSACTION_STATE_TOPIC, partition)?.leaderEpoch ?? 0;
    },
    coordinates: (transactionalId) => partitions?.errorFor(transactionalId) === 0,
    retryBackoffMs: MARKER_RETRY_BACKOFF_MS,
    retryBackoffMaxMs: MARKER_RETRY_BACKOFF_MAX_MS,
    // A marker is appended with acks=all within writeTimeoutMs: the request may take that long.
    requestTimeoutMs: writeTimeoutMs + config["controller.quorum.request.timeout.ms"],
  });
  const coordinator = new TransactionCoordinator(
    { maxTimeoutMs: config["transaction.max.timeout.ms"], idExpirationMs: config["transactional.id.expiration.ms"] },
    {
      store: transactionLog,
      markers,
      newProducerId: options.newProducerId,
      nowMs: () => scheduler.nowMs(),
      owns: (transactionalId) => partitions?.errorFor(transactionalId) === 0,
    },
  );
  partitions = new TransactionPartitions(coordinator, transactionLog, replicas);
  replicas.onLeadershipChange(partitions.onLeadershipChange);

  const timers = new Map<string, TimerHandle>();
  let closed = false;
  const every = (name: string, intervalMs: number, run: () => void) => {
    const tick = () => {
      if (closed) return;
      run();
      timers.set(name, scheduler.setTimer(intervalMs, tick));
    };
    timers.set(name, scheduler.setTimer(intervalMs, tick));
  };
  every("abort", config["transaction.abort.timed.out.transaction.cleanup.interval.ms"], () => coordinator.abortTimedOut());
  every("expire", config["transaction.remove.expired.transaction.cleanup.interval.ms"], () => coordinator.expireIds());

  let creating: Promise<void> | null = null;
  const ensureTopic = (): Promise<void> => {
    if (metadata().topicsByName.has(TRANSACTION_STATE_TOPIC)) return Promise.resolve();
    creating ??= createStateTopic(admin, config, metadata()).finally(() => (creating = null));
    return creating;
  };
  const owned = partitions;
  const remoteVerification = new RemoteVerification({
    nodeId: options.nodeId, peers: options.peers, metadata, transactionLog, requestTimeoutMs: config["controller.quorum.request.timeout.ms"],
  });
  return {
    coordinator,
    log: transactionLog,
    partitions: owned,
    localMarkers,
    remoteVerification,
    coordinatorError: (transactionalId) => owned.errorFor(transactionalId),
    ensureTopic,
    close: () => {
      closed = true;
      for (const timer of timers.values()) timer.cancel();
      owned.close();
      markers.close();
      coordinator.close();
    },
  };
}

async function createStateTopic(admin: ClusterAdmin, config: BrokerConfig, image: MetadataImage): Promise<void> {
  const live = liveBrokers(image).length;
  const replicationFactor = Math.max(1, Math.min(config["transaction.state.log.replication.factor"], live));
  try {
    await admin.createTopic({
      name: TRANSACTION_STATE_TOPIC,
      numPartitions: config["transaction.state.log.num.partitions"],
      replicationFactor,
      assignments: null,
      configs: {
        "cleanup.policy": "compact",
        "segment.bytes": String(config["transaction.state.log.segment.bytes"]),
        "min.insync.replicas": String(Math.min(config["transaction.state.log.min.isr"], replicationFactor)),
      },
    });
    log.info("created the transaction state topic", { partitions: config["transaction.state.log.num.partitions"], replicationFactor });
  } catch (error) {
    if (!admin.isAlreadyExists(error)) throw error;
  }
}
