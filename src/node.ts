// A Runnel node: storage, the metadata log and what it feeds, the partition replicas, the groups
// and the listeners, wired together. main.ts parses the configuration and calls startNode; tests
// can call startNode, or startBrokerCore over their own LogManager.
//
//   config ─▶ lock <data dir>/.lock ─▶ meta.properties ─▶ LogManager (checkpoints; opens nothing)
//          ─▶ metadata log (__cluster_metadata-0) ─▶ publisher ─▶ reconciler ─▶ replicas (logs of the
//                    ▲ controller (records)                      │  replayed image recover in the
//                                                                │  background)
//                                                                └─▶ groups (offsets partitions)
//          ─▶ Kafka listener bound ─▶ broker registered (fenced) ─▶ heartbeat: unfenced, partitions
//             led at a new epoch as their logs recover ─▶ HTTP listener ─▶ "kafka listening on …"
//          ─▶ every log recovered, __consumer_offsets created if missing, groups loaded
//          ─▶ "runnel ready: kafka on …" (`ready`)
// Partitions not ready answer retriable errors meanwhile. close() runs the chain backwards:
// listeners and their connections, recovery stopped, groups, replicas, metadata, logs, and the
// lock last. A step that fails closes what was started and throws a StartupError: one line saying
// what failed and where, which main.ts prints before exiting non-zero.

import { mkdir } from "node:fs/promises";
import { ClusterAdmin } from "./cluster/admin.ts";
import { QuorumController } from "./cluster/controller/index.ts";
import { loadOrCreateMetaProperties } from "./cluster/index.ts";
import { LocalMetadataLog, localEpoch } from "./cluster/local-metadata-log.ts";
import type { MetadataLog } from "./cluster/metadata-log.ts";
import { BrokerLifecycle } from "./cluster/broker-lifecycle.ts";
import { BrokerSessions } from "./cluster/controller/broker-sessions.ts";
import { ReplicaBalancer } from "./cluster/controller/balancer-driver.ts";
import { isBeingAdded } from "./cluster/image.ts";
import { ReplicationQuota } from "./replication/core/quota.ts";
import { RemoteController } from "./cluster/remote-controller.ts";
import { PeerConnections } from "./client/peer-connections.ts";
import { controllerListener, parseQuorumVoters, type QuorumVoter } from "./config/quorum-voters.ts";
import { interBrokerSecurity } from "./security/inter-broker.ts";
import { discoverVoters, parseBootstrapServers } from "./cluster/quorum-bootstrap.ts";
import { controllerHandlers } from "./kafka/controller-handlers.ts";
import type { QuorumServices } from "./kafka/context.ts";
import { DescribeLogDirsApi } from "./protocol/generated/describe-log-dirs.ts";
import { DescribeQuorumApi } from "./protocol/generated/describe-quorum.ts";
import type { ReplicaSize } from "./cluster/controller/partition-sizes.ts";
import { RaftMetadataLog } from "./raft/driver.ts";
import { PeerRaftTransport } from "./raft/peer-transport.ts";
import type { QuorumDescription } from "./raft/types.ts";
import { changeVoters, currentVoterEndpoints, type VoterChangeContext } from "./raft/voter-changes.ts";
import { adminAlterPartitionSender, type AlterPartitionSender } from "./replication/alter-partition-sender.ts";
import { migrateLegacyMetadata } from "./cluster/migration.ts";
import { ProducerIdManager } from "./cluster/producer-id-manager.ts";
import { MetadataPublisher } from "./cluster/publisher.ts";
import { MetadataSnapshotter } from "./cluster/snapshotter.ts";
import type { Endpoint } from "./cluster/records.ts";
import { TopicConfigs } from "./cluster/topic-configs.ts";
import {
  advertisedFor, dataDir, kafkaListenersOf, parseListener, securityProtocolId, usesTls, type KafkaListener, type LoadedBrokerConfig,
} from "./config/index.ts";
import { ensureOffsetsTopic, startGroups, type Groups } from "./groups/index.ts";
import { startTransactions, type Transactions } from "./transactions/index.ts";
import type { Scheduler } from "./groups/scheduler.ts";
import type { BrokerContext } from "./kafka/context.ts";
import { handlers } from "./kafka/handlers/index.ts";
import { startKafkaServer, type KafkaServer } from "./kafka/listener.ts";
import { createBrokerSecurity } from "./kafka/security.ts";
import { bootstrapCredentials, parseBootstrapUsers, upsertionOf } from "./security/bootstrap-users.ts";
import { listenerTlsFromConfig, type ListenerTls } from "./security/tls.ts";
import { ClusterBackend } from "./http/cluster-backend.ts";
import { LocalBackend } from "./http/local-backend.ts";
import { HttpAuth } from "./http/auth.ts";
import { startHttpServer, type HttpServer } from "./http/server.ts";
import { native } from "./native/index.ts";
import { raiseDescriptorLimit } from "./native/libc.ts";
import { ErrorCode, KafkaError } from "./protocol/errors.ts";
import { randomUuid } from "./protocol/primitives.ts";
import type { MetadataImage } from "./cluster/image.ts";
import { ReplicaFetcherManager } from "./replication/fetcher/replica-fetcher-manager.ts";
import { IsrManager } from "./replication/isr-manager.ts";
import { Reconciler } from "./replication/reconciler.ts";
import { ReplicaManager } from "./replication/replica-manager.ts";
import { startLogCleaner } from "./storage/cleaner.ts";
import { DataDirectoryLockedError, describeLock, lockDataDirectory, type DirectoryLock } from "./storage/dir-lock.ts";
import { createLogManager, realFs, type StorageFs } from "./storage/index.ts";
import { PartitionProducerState } from "./storage/producer-state.ts";
import type { LogManager } from "./storage/types.ts";
import { assert } from "./util/assert.ts";
import { systemClock } from "./util/clock.ts";
import { descriptorBudget } from "./util/descriptor-budget.ts";
import { createLogger, setLogNodeId } from "./util/logger.ts";
import { BrokerMetrics } from "./util/metrics.ts";
import { StartupError, startupStep } from "./util/startup-error.ts";

const log = createLogger("node");

/** A cluster id every node derives alike from the voters list (22-character base64url, as Kafka's). */
function clusterIdOfVoters(voters: readonly QuorumVoter[]): string {
  const text = voters.map((voter) => `${voter.id}@${voter.host}:${voter.port}`).sort().join(",");
  const digest = new Bun.CryptoHasher("sha256").update(text).digest();
  return Buffer.from(digest.subarray(0, 16)).toString("base64url");
}

function controllerEndpointOf(endpoints: readonly Endpoint[] | undefined): { host: string; port: number } | undefined {
  const endpoint = endpoints?.find((candidate) => candidate.name === "CONTROLLER");
  return endpoint ? { host: endpoint.host, port: endpoint.port } : undefined;
}

export interface BrokerCoreOptions {
  loaded: LoadedBrokerConfig;
  dataDir: string;
  nodeId: number;
  logs: LogManager;
  /** The storage found its clean-shutdown marker (registered with the controller: KIP-966). */
  cleanShutdown: boolean;
  fs?: StorageFs;
  /** Groups' timers (tests drive them by hand). */
  scheduler?: Scheduler;
  /**
   * The metadata log (default: the Raft log of `cluster`, else this node's LocalMetadataLog, a
   * cluster of one). Tests of several nodes in one process pass views of one shared log
   * (src/testing/shared-metadata-log.ts).
   */
  metadataLog?: MetadataLog;
  /** How ISR changes reach the controller (default: through `admin`, wherever the controller runs). */
  alterPartitionSender?: AlterPartitionSender;
  /** Brokers an in-process test cluster has (no voters list there; default 1). */
  clusterSize?: number;
  /** A many-node cluster (controller.quorum.voters set): the voters and the connections to the other nodes. */
  cluster?: { voters: QuorumVoter[]; peers: PeerConnections; clusterId: string };
}

/** Everything of a node but its storage and its listeners. */
export interface BrokerCore {
  /** Registered and unfenced now (a many-node cluster: heartbeats answered within the session timeout; one node: always once registered). */
  isClusterMember(): boolean;
  readonly metadataLog: MetadataLog;
  /** The Raft metadata log of a many-node cluster; null on one node. */
  readonly raft: RaftMetadataLog | null;
  /** The controller side of the quorum for the internal listener's handlers. */
  readonly quorum: QuorumServices;
  /** How this node's partition leaders propose ISR changes (AlterPartition to the active controller). */
  readonly alterPartitionSender: AlterPartitionSender;
  /**
   * Connections to the other nodes' internal listeners (a cluster; null on one node): the replica
   * fetcher uses its own purpose ("replica-fetch") so its long polls hold nothing else up.
   */
  readonly peers: PeerConnections | null;
  readonly publisher: MetadataPublisher;
  readonly snapshotter: MetadataSnapshotter;
  readonly controller: QuorumController;
  readonly admin: ClusterAdmin;
  readonly topicConfigs: TopicConfigs;
  readonly replicas: ReplicaManager;
  /** The replica fetchers (followers' side) and the ISR changes (leaders' side). */
  readonly fetchers: ReplicaFetcherManager;
  readonly isr: IsrManager;
  readonly groups: Groups;
  /** The transaction coordinator (issue 14). */
  readonly transactions: Transactions;
  readonly producerIds: ProducerIdManager;
  /** Random per process: what this process registers with. */
  readonly incarnationId: string;
  /** leader./follower.replication.throttled.rate (docs/elastic.md). */
  readonly replicationQuotas: { leader: ReplicationQuota; follower: ReplicationQuota };
  /**
   * Register this broker with its listeners' endpoints and wait until it is live (unfenced): from
   * then on Metadata lists it and it leads each of its partitions as soon as that log is ready.
   */
  register(endpoints: Endpoint[]): Promise<void>;
  /**
   * After `register`: resolves once every partition's log has recovered and is led,
   * __consumer_offsets exists and the groups of the offsets partitions led here are loaded.
   */
  whenReady(): Promise<void>;
  /**
   * Controlled shutdown (SIGTERM), Kafka's one path: heartbeat wantShutDown until the controller
   * answers shouldShutDown — it has moved this broker's leaderships to other ISR members, taken it
   * out of the ISRs and fenced it, while this node still answers (NOT_LEADER_OR_FOLLOWER) what
   * clients send meanwhile — bounded by controlled.shutdown.timeout.ms (on timeout it stops with
   * what it still leads, as Kafka). Only when the controller could not be reached at all does it
   * fall back to being fenced by its heartbeat connection closing (bounded by 2 s). Heartbeats stop
   * either way. Skipped when controlled.shutdown.enable is false or no other broker is live (a
   * one-node cluster).
   */
  controlledShutdown(): Promise<void>;
  /** Stop groups, replicas and the metadata log (the LogManager is the caller's to close). */
  close(): Promise<void>;
}

/**
 * Replay the metadata log (migrating a pre-metadata-log data directory first) into the image,
 * with the reconciler opening the partitions this node holds; the broker is not registered yet.
 */
export async function startBrokerCore(options: BrokerCoreOptions): Promise<BrokerCore> {
  const { loaded, nodeId } = options;
  const config = loaded.values;
  const fs = options.fs ?? realFs;
  const incarnationId = randomUuid();
  const cluster = options.cluster;
  const raft = cluster
    ? await RaftMetadataLog.open({
      dataDir: options.dataDir, nodeId, voters: cluster.voters.map((voter) => voter.id), clusterId: cluster.clusterId, brokerConfig: config, fs,
      transport: new PeerRaftTransport(cluster.peers, config["controller.quorum.request.timeout.ms"]), logger: createLogger("raft"),
    })
    : null;
  const metadataLog: MetadataLog = options.metadataLog ?? raft
    ?? await LocalMetadataLog.open({ dataDir: options.dataDir, nodeId, brokerConfig: config, fs, logger: createLogger("metadata-log") });
  const publisher = new MetadataPublisher(metadataLog, createLogger("metadata"));
  // A snapshot of the image beside the log after each publication (cluster/snapshotter.ts).
  const snapshotter = new MetadataSnapshotter(publisher, metadataLog, createLogger("metadata"));
  const controller = new QuorumController({ log: metadataLog, config: loaded, logger: createLogger("controller") });
  const remote = cluster
    ? new RemoteController({
      peers: cluster.peers, leader: () => metadataLog.leader.leaderId, clusterId: cluster.clusterId,
      retryBackoffMs: config["controller.quorum.retry.backoff.ms"], requestTimeoutMs: config["controller.quorum.request.timeout.ms"], logger: createLogger("admin"),
    })
    : null;
  const admin = new ClusterAdmin(controller, publisher, loaded, remote);
  const sessions = cluster
    ? new BrokerSessions({
      controller, sessionTimeoutMs: config["broker.session.timeout.ms"], selfId: nodeId, logger: createLogger("controller"),
      probe: (brokerId) => cluster.peers.probe(brokerId, config["controller.quorum.request.timeout.ms"]),
    })
    : null;
  if (sessions) admin.onLocalHeartbeat = (brokerId, brokerEpoch) => sessions.heartbeat(brokerId, brokerEpoch, null);
  const lifecycle = cluster
    ? new BrokerLifecycle({ admin, publisher, nodeId, incarnationId, rack: config["broker.rack"], cleanShutdown: options.cleanShutdown, heartbeatIntervalMs: config["broker.heartbeat.interval.ms"], logger: createLogger("node") })
    : null;
  // Replica and leader balancing on the active controller (docs/elastic.md): a cluster of processes only.
  // Partition sizes for byte balancing: DescribeLogDirs of every live broker (docs/elastic.md §3).
  const askLogDirs = async (brokerId: number): Promise<ReplicaSize[]> => {
    if (brokerId === nodeId) {
      return [...publisher.image.topicsByName.values()].flatMap((topic) => topic.partitions.flatMap((partition) => {
        const replica = replicas.partition(topic.name, partition.partition);
        return replica ? [{ topic: topic.name, partition: partition.partition, bytes: BigInt(replica.log.sizeBytes) }] : [];
      }));
    }
    const answer = await cluster!.peers.request(brokerId, "admin", DescribeLogDirsApi, { topics: null }, { version: 4 });
    return answer.results.flatMap((result) => result.topics.flatMap((topic) => topic.partitions.map((partition) => ({ topic: topic.name, partition: partition.partitionIndex, bytes: partition.partitionSize }))));
  };
  const balancer = cluster ? new ReplicaBalancer(controller, loaded, createLogger("balancer"), askLogDirs) : null;
  balancer?.start();
  const voterContext: VoterChangeContext | null = cluster && raft
    ? { nodeId, raft, peers: cluster.peers, image: () => publisher.image, staticVoters: cluster.voters, clusterId: cluster.clusterId, retryBackoffMs: config["controller.quorum.retry.backoff.ms"] }
    : null;
  const quorum: QuorumServices = {
    raft, controller, sessions, balancer,
    describeQuorum: async () => {
      const description = await describeQuorum(nodeId, metadataLog, raft, cluster?.peers ?? null);
      // KIP-853's Nodes: each current voter's CONTROLLER endpoint (how observers find the quorum).
      return description && voterContext ? { ...description, voterEndpoints: currentVoterEndpoints(voterContext) } : description;
    },
    changeVoters: (change, timeoutMs) => {
      if (voterContext === null) return Promise.reject(new KafkaError(ErrorCode.UNSUPPORTED_VERSION, "a one-node cluster has no controller quorum to change (start it with controller.quorum.voters)"));
      return changeVoters(voterContext, change, timeoutMs);
    },
  };
  const topicConfigs = new TopicConfigs(loaded, () => publisher.image);
  const replicas = new ReplicaManager({
    nodeId, logs: options.logs, recoveryThreads: config["num.recovery.threads.per.data.dir"], logger: createLogger("replicas"),
  });
  const reconciler = new Reconciler({
    nodeId, incarnationId, replicas, logs: options.logs, topicConfigs, dataDir: options.dataDir, fs, logger: createLogger("reconciler"),
    // A cluster member's first images may predate what the quorum holds: judge directories once live.
    reportUnclaimedWhenLive: cluster !== undefined,
  });
  publisher.subscribe("reconciler", reconciler.apply);
  let brokerEpoch: bigint | null = null;
  // Partition replication: followers fetch from their leaders, leaders propose ISR changes.
  const alterPartitionSender = options.alterPartitionSender ?? adminAlterPartitionSender(nodeId, admin);
  // Throttles of replica movement (docs/elastic.md): only replicas being added by a reassignment.
  const replicationQuotas = {
    leader: new ReplicationQuota(config["leader.replication.throttled.rate"], () => performance.now()),
    follower: new ReplicationQuota(config["follower.replication.throttled.rate"], () => performance.now()),
  };
  const fetchers = new ReplicaFetcherManager({
    nodeId,
    brokerEpoch: () => brokerEpoch ?? -1n,
    image: () => publisher.image,
    settings: {
      fetchMaxBytes: config["replica.fetch.max.bytes"],
      responseMaxBytes: config["replica.fetch.response.max.bytes"],
      waitMaxMs: config["replica.fetch.wait.max.ms"],
      minBytes: config["replica.fetch.min.bytes"],
      partitionBackoffMs: config["replica.fetch.backoff.ms"],
      socketTimeoutMs: config["replica.socket.timeout.ms"],
      reconnectBackoffMs: config["reconnect.backoff.ms"],
      reconnectBackoffMaxMs: config["reconnect.backoff.max.ms"],
      ...(cluster?.peers.security ? { security: cluster.peers.security } : {}),
    },
    logger: createLogger("replica-fetcher"),
    throttle: { quota: replicationQuotas.follower, isThrottled: (replica) => isBeingAdded(publisher.image, replica.topic, replica.partition, nodeId) },
  });
  const isr = new IsrManager({
    nodeId,
    sender: alterPartitionSender,
    image: () => publisher.image,
    lagTimeMaxMs: config["replica.lag.time.max.ms"],
    partitions: () => replicas.all(),
    logger: createLogger("isr"),
  });
  replicas.setReplicationObserver({
    followed: (replica) => fetchers.follow(replica),
    unfollowed: (replica) => fetchers.unfollow(replica),
    followerFetched: (replica) => isr.maybePropose(replica),
  });
  isr.start();
  // Before the replay: every leadership of an offsets partition must reach the groups.
  const groups = startGroups({ config, replicas, metadata: () => publisher.image, scheduler: options.scheduler });
  const producerIds = new ProducerIdManager({
    allocateProducerIds: () => {
      // The listener is up a moment before the registration is done (its port is registered).
      if (brokerEpoch === null) return Promise.reject(new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, "the broker is not registered yet"));
      return admin.allocateProducerIds(nodeId, brokerEpoch);
    },
  });
  const transactions = startTransactions({
    config, replicas, metadata: () => publisher.image, admin, groups, scheduler: options.scheduler,
    nodeId, peers: cluster?.peers ?? null,
    newProducerId: () => producerIds.generate(),
  });
  const closeAll = async () => {
    lifecycle?.close();
    sessions?.close();
    balancer?.stop();
    // No further log recovery (the ones under way finish); then the publisher: a reconciliation
    // under way finishes before the replicas stop.
    await replicas.stopRecovery();
    isr.close();
    await fetchers.close();
    transactions.close();
    groups.close();
    await publisher.close();
    replicas.close();
    await snapshotter.close();
    await metadataLog.close();
  };
  try {
    await metadataLog.start();
    // A data directory of the topics.json era is a one-node one: migrated only there.
    if (!cluster) await migrateLegacyMetadata({ dataDir: options.dataDir, nodeId, log: metadataLog, fs, logger: createLogger("migration") });
    await publisher.waitForPublished(metadataLog.committedOffset);
  } catch (error) {
    await closeAll().catch(() => {});
    throw error;
  }
  /**
   * The fallback of a controlled shutdown that never reached the controller: stop heartbeating and
   * close the heartbeat connection (a controller fences a broker at once when it closes; the local
   * controller is asked directly), waiting until this node's image shows it fenced, bounded.
   */
  const fenceByClosedHeartbeat = async (epoch: bigint, timeoutMs: number) => {
    if (!cluster) return;
    const deadline = Date.now() + timeoutMs;
    const fenced = () => publisher.image.brokers.get(nodeId)?.fenced !== false;
    if (controller.isActive) await controller.fenceBroker(nodeId, epoch).catch(() => {});
    else cluster.peers.disconnect(metadataLog.leader.leaderId, "heartbeat");
    while (!fenced() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    log.info(fenced() ? "controller unreachable: fenced by closing the heartbeat connection" : "controller unreachable: stopping unfenced", { brokerEpoch: String(epoch) });
  };
  return {
    metadataLog, raft, quorum, publisher, snapshotter, controller, admin, topicConfigs, replicas, fetchers, isr, groups, transactions, producerIds, incarnationId,
    alterPartitionSender, replicationQuotas,
    peers: cluster?.peers ?? null,
    isClusterMember: () => (lifecycle ? lifecycle.isMember(config["broker.session.timeout.ms"]) : brokerEpoch !== null),
    async register(endpoints) {
      if (lifecycle) {
        brokerEpoch = await lifecycle.start(endpoints);
        log.info("broker registered and unfenced", { brokerEpoch: String(brokerEpoch), incarnationId });
        return;
      }
      const registered = await controller.registerBroker({
        brokerId: nodeId, incarnationId, endpoints, rack: config["broker.rack"], cleanShutdown: options.cleanShutdown,
      });
      await publisher.waitForPublished(registered.offset);
      const heartbeat = await controller.brokerHeartbeat({ brokerId: nodeId, brokerEpoch: registered.value, currentMetadataOffset: publisher.image.offset });
      await publisher.waitForPublished(heartbeat.offset);
      assert(!heartbeat.value.isFenced, "a broker caught up with its own registration is unfenced");
      brokerEpoch = registered.value;
      admin.brokerEpoch = registered.value;
      log.info("broker registered", { brokerEpoch: String(registered.value), incarnationId });
    },
    async whenReady() {
      assert(brokerEpoch !== null, "whenReady() after register()");
      if (cluster) {
        // In a cluster the other brokers may still be registering: give the offsets topic its
        // replication factor if they come within a few seconds (capped at the live ones otherwise).
        await waitForLiveBrokers(publisher, Math.min(config["offsets.topic.replication.factor"], cluster.voters.length), 10_000);
        await ensureOffsetsTopic(admin, config, publisher.image);
      } else {
        // One node (or an in-process test cluster of `clusterSize`): created once that many
        // brokers are live, else by the first FindCoordinator.
        await ensureOffsetsTopic(admin, config, publisher.image, { atStartOfClusterOf: options.clusterSize ?? 1 });
      }
      // Logs of the replayed image recover in the background; each takes its role when ready (and
      // an offsets partition led here then starts loading its groups).
      await replicas.recovered();
      await groups.partitions.loaded();
    },
    async controlledShutdown() {
      const outcome = await shutDownControlled({
        nodeId, brokerEpoch, admin, image: () => publisher.image,
        enabled: config["controlled.shutdown.enable"], timeoutMs: config["controlled.shutdown.timeout.ms"],
      });
      lifecycle?.close();
      if (outcome === "unreachable" && cluster && brokerEpoch !== null) await fenceByClosedHeartbeat(brokerEpoch, 2000);
    },
    close: closeAll,
  };
}

interface ControlledShutdownOptions {
  nodeId: number;
  brokerEpoch: bigint | null;
  admin: ClusterAdmin;
  image(): MetadataImage;
  enabled: boolean;
  timeoutMs: number;
}

/**
 * The broker side of a controlled shutdown (see BrokerCore.controlledShutdown): "done" once the
 * controller answered shouldShutDown and this node's image shows it fenced, "timedOut" when it
 * answered but still left leaderships at the deadline, "unreachable" when no request was answered,
 * "skipped" when disabled or no other broker is live.
 */
async function shutDownControlled(options: ControlledShutdownOptions): Promise<"done" | "timedOut" | "unreachable" | "skipped"> {
  const { nodeId, brokerEpoch } = options;
  if (!options.enabled || brokerEpoch === null) return "skipped";
  const others = [...options.image().brokers.values()].some((broker) => broker.id !== nodeId && !broker.fenced);
  if (!others) return "skipped";
  const started = performance.now();
  const deadline = started + options.timeoutMs;
  let answered = false;
  while (performance.now() < deadline) {
    try {
      const answer = await options.admin.controlledShutdown(nodeId, brokerEpoch);
      answered = true;
      if (answer.shouldShutDown) {
        // The controller's records (leaderships moved, this broker fenced) reach this node's image
        // before it stops, so its replicas step down while it still answers clients.
        const applied = Math.min(deadline, performance.now() + 2000);
        while (options.image().brokers.get(nodeId)?.fenced === false && performance.now() < applied) await new Promise((resolve) => setTimeout(resolve, 10));
        log.info("controlled shutdown: leaderships moved, fenced", { ms: Math.round(performance.now() - started) });
        return "done";
      }
    } catch (error) {
      log.warn("controlled shutdown request failed; retrying", { error: String(error) });
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(100, Math.max(0, deadline - performance.now()))));
  }
  log.warn(answered ? "controlled shutdown timed out; stopping with leaderships left" : "controlled shutdown: the controller could not be reached", { timeoutMs: options.timeoutMs });
  return answered ? "timedOut" : "unreachable";
}

async function waitForLiveBrokers(publisher: MetadataPublisher, wanted: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const live = () => [...publisher.image.brokers.values()].filter((broker) => !broker.fenced).length;
  while (live() < wanted && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** DescribeQuorum: a one-node cluster's own log, the Raft leader's view here, or asked of the leader. */
async function describeQuorum(nodeId: number, metadataLog: MetadataLog, raft: RaftMetadataLog | null, peers: PeerConnections | null): Promise<QuorumDescription | null> {
  if (raft === null) {
    const now = Date.now();
    return {
      leaderId: nodeId, leaderEpoch: localEpoch, highWatermark: metadataLog.committedOffset + 1n,
      currentVoters: [{ replicaId: nodeId, logEndOffset: metadataLog.nextOffset, lastFetchTimestamp: now, lastCaughtUpTimestamp: now }], observers: [],
    };
  }
  const local = raft.describeQuorum();
  const leader = raft.leader.leaderId;
  if (local !== null || leader < 0 || leader === nodeId || peers === null) return local;
  try {
    const response = await peers.request(leader, "admin", DescribeQuorumApi, { topics: [{ topicName: "__cluster_metadata", partitions: [{ partitionIndex: 0 }] }] }, { version: 1, timeoutMs: 2000 });
    const partition = response.topics[0]?.partitions[0];
    if (!partition || partition.errorCode !== 0) return null;
    const replica = (state: { replicaId: number; logEndOffset: bigint; lastFetchTimestamp: bigint; lastCaughtUpTimestamp: bigint }) => ({
      replicaId: state.replicaId, logEndOffset: state.logEndOffset, lastFetchTimestamp: Number(state.lastFetchTimestamp), lastCaughtUpTimestamp: Number(state.lastCaughtUpTimestamp),
    });
    return {
      leaderId: partition.leaderId, leaderEpoch: partition.leaderEpoch, highWatermark: partition.highWatermark,
      currentVoters: partition.currentVoters.map(replica), observers: partition.observers.map(replica),
    };
  } catch {
    return null;
  }
}

export interface RunningNode {
  /** Bound address of the Kafka listener (PLAINTEXT, else the first Kafka entry of listeners). */
  kafka: { host: string; port: number };
  /** Every Kafka listener's bound address, by listener name. */
  kafkaListeners: Map<string, { host: string; port: number; securityProtocol: string }>;
  /** Read the TLS listeners' certificates again (SIGHUP); throws, keeping the old, when unusable. */
  reloadTls(): void;
  /** Bound address of the HTTP listener, when listeners has an HTTP entry. */
  http?: { host: string; port: number };
  /** What the handlers see: config, metadata, replicas, subsystems. */
  broker: BrokerContext;
  /** The node's pieces (tests look inside). */
  core: BrokerCore;
  /**
   * Resolves once the broker is registered and live, every partition's log has recovered and the
   * group coordinator is loaded (the node prints `runnel ready: kafka on HOST:PORT` then).
   * Connections are accepted before: partitions not ready and group requests answer retriable
   * errors meanwhile.
   */
  ready: Promise<void>;
  /**
   * Stop the node. First a controlled shutdown (its leaderships moved to other brokers), unless
   * `controlledShutdown: false` (tests simulating a crash of an in-process node).
   */
  close(options?: { controlledShutdown?: boolean }): Promise<void>;
}

/** What tests may replace when they start several nodes in one process. */
export interface NodeHooks {
  /** The metadata log (default: the node's own LocalMetadataLog). */
  metadataLog?: MetadataLog;
  /** Brokers the cluster is expected to have (in-process clusters have no voters list). */
  clusterSize?: number;
}

export async function startNode(loaded: LoadedBrokerConfig, hooks: NodeHooks = {}): Promise<RunningNode> {
  const config = loaded.values;
  const directory = dataDir(config);
  await startupStep(`cannot create data directory ${directory}`, () => mkdir(directory, { recursive: true }));
  // Before anything else touches the directory: a second node on it must not recover (truncate)
  // the live node's files (storage/dir-lock.ts).
  const lock = await startupStep(`cannot lock data directory ${directory}`, () => {
    try {
      return lockDataDirectory(directory);
    } catch (error) {
      // Already one line naming the directory and the holder's pid.
      if (error instanceof DataDirectoryLockedError) throw new StartupError(error.message);
      throw error;
    }
  });
  // Everything started so far, closed in reverse order when a later step fails.
  const started: (() => void | Promise<void>)[] = [() => lock.release()];
  const stopStarted = async () => {
    for (const stop of started.reverse()) {
      try {
        await stop();
      } catch (error) {
        log.warn("cleanup after a failed start failed", { error: String(error) });
      }
    }
  };
  try {
    return await startLocked(loaded, directory, lock, started, hooks);
  } catch (error) {
    await stopStarted();
    throw error;
  }
}

async function startLocked(
  loaded: LoadedBrokerConfig,
  directory: string,
  lock: DirectoryLock,
  started: (() => void | Promise<void>)[],
  hooks: NodeHooks,
): Promise<RunningNode> {
  const config = loaded.values;
  const limit = raiseDescriptorLimit();
  const budget = descriptorBudget(limit.soft);
  const voters = await startupStep("bad controller.quorum.voters", () => parseQuorumVoters(config["controller.quorum.voters"]));
  // The internal listener's protocol and how this node logs in to the others' (security/inter-broker.ts).
  const interBroker = await startupStep("bad inter-broker security", () => interBrokerSecurity(config));
  let discoveredClusterId: string | null = null;
  if (voters.length === 0 && config["controller.quorum.bootstrap.servers"].length > 0) {
    // Not a voter (KIP-853): the voters are learned from the bootstrap servers; this node observes.
    const servers = await startupStep("bad controller.quorum.bootstrap.servers", () => parseBootstrapServers(config["controller.quorum.bootstrap.servers"]));
    const discovered = await startupStep("cannot reach the metadata quorum through controller.quorum.bootstrap.servers", () =>
      discoverVoters(servers, config["node.id"], config["controller.quorum.request.timeout.ms"] * 15, interBroker.client));
    voters.push(...discovered.voters);
    discoveredClusterId = discovered.clusterId;
    log.info("joining as an observer of the metadata quorum", { voters: voters.map((voter) => `${voter.id}@${voter.host}:${voter.port}`).join(",") });
  }
  // Nodes of one cluster started with the same voters list share a cluster id without a format
  // step (Kafka's `kafka-storage format --cluster-id`); an explicit cluster.id wins.
  const wantedClusterId = config["cluster.id"] ?? discoveredClusterId ?? (voters.length > 0 ? clusterIdOfVoters(voters) : null);
  const meta = await startupStep(`cannot use data directory ${directory}`, () => loadOrCreateMetaProperties(directory, config["node.id"], wantedClusterId));
  setLogNodeId(meta.nodeId);
  log.info("starting", {
    "node.id": meta.nodeId,
    "cluster.id": meta.clusterId,
    "data.dir": directory,
    lock: describeLock(lock),
    "file.descriptors": `${limit.soft} (${limit.outcome}; ${budget.segmentFiles} for segment files, ${budget.connections} for connections)`,
  });

  const logs = createLogManager({
    dataDir: directory,
    brokerConfig: config,
    logger: createLogger("storage"),
    // Idempotent-producer state per partition, rebuilt from the log at open (storage/producer-state.ts).
    producerStateFactory: () => new PartitionProducerState({ producerIdExpirationMs: config["producer.id.expiration.ms"] }),
    segmentDescriptorsMax: budget.segmentFiles,
    closeConcurrencyMax: budget.logsClosing,
  });
  await startupStep(`cannot open the logs in ${directory}`, () => logs.open());
  started.push(() => logs.close());
  // A many-node cluster: the internal listener's address and the connections to the other nodes.
  const controllerBind = await startupStep("bad CONTROLLER listener", () => controllerListener(meta.nodeId, config.listeners, voters));
  const ownVoter = voters.find((voter) => voter.id === meta.nodeId);
  let peers: PeerConnections | null = null;
  if (voters.length > 0) {
    const voterAddresses = new Map(voters.map((voter) => [voter.id, { host: voter.host, port: voter.port }]));
    peers = new PeerConnections({
      nodeId: meta.nodeId,
      // Voters by the voters list; other brokers by the CONTROLLER endpoint they registered.
      addresses: (peer) => voterAddresses.get(peer) ?? controllerEndpointOf(core?.publisher.image.brokers.get(peer)?.endpoints),
      reconnectBackoffMs: config["reconnect.backoff.ms"],
      reconnectBackoffMaxMs: config["reconnect.backoff.max.ms"],
      requestTimeoutMs: config["controller.quorum.request.timeout.ms"],
      security: interBroker.client,
    });
    const openPeers = peers;
    started.push(() => openPeers.close());
  }
  // The metadata log replayed (a data directory of the topics.json era migrated first); the logs it
  // names recover in the background from here.
  let core: BrokerCore | undefined;
  core = await startupStep(`cannot open the cluster metadata in ${directory}`, () =>
    startBrokerCore({
      loaded, dataDir: directory, nodeId: meta.nodeId, logs, cleanShutdown: logs.foundCleanShutdown,
      cluster: peers ? { voters, peers, clusterId: meta.clusterId } : undefined,
      metadataLog: hooks.metadataLog, clusterSize: hooks.clusterSize,
    }));
  const startedCore = core;
  started.push(() => startedCore.close());
  // Log cleaner: compacts cleanup.policy=compact topics (__consumer_offsets too) in the background.
  const cleaner = startLogCleaner(logs, config, realFs, native);
  started.push(async () => void (await cleaner?.stop()));

  const listeners = config.listeners.map((entry) => parseListener("listeners", entry));
  const advertisedListeners = config["advertised.listeners"].map((entry) => parseListener("advertised.listeners", entry));
  const kafkaListeners = await startupStep("bad listeners", () =>
    kafkaListenersOf(listeners, config["listener.security.protocol.map"], loaded.explicit.has("listener.security.protocol.map"), controllerListenerNames(config)));
  const primary = kafkaListeners.find((listener) => listener.name === "PLAINTEXT") ?? kafkaListeners[0];
  if (!primary) throw new StartupError("listeners has no Kafka listener (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)");
  const tls = kafkaListeners.some((listener) => usesTls(listener.securityProtocol)) || (controllerBind !== null && usesTls(interBroker.protocol))
    ? await startupStep("cannot set up TLS", () => listenerTlsFromConfig(config))
    : undefined;

  const configuredUsers = await startupStep("bad bootstrap.scram.users", () => bootstrapCredentials(parseBootstrapUsers(config["bootstrap.scram.users"])));
  const broker: BrokerContext = {
    config: loaded,
    nodeId: meta.nodeId,
    clusterId: meta.clusterId,
    advertised: primary,
    metadata: core.publisher,
    topicConfigs: core.topicConfigs,
    admin: core.admin,
    replicas: core.replicas,
    producerIds: core.producerIds,
    clock: systemClock,
    log: createLogger("kafka"),
    apiRanges: [],
    groups: core.groups,
    transactions: core.transactions,
    metrics: new BrokerMetrics(),
    security: createBrokerSecurity(loaded, kafkaListeners, core.publisher, configuredUsers),
    quorum: core.quorum,
    leaderReplicationQuota: core.replicationQuotas.leader,
  };
  // readyz: every listener up and the node ready (registered, recovered, groups loaded); false
  // again from the start of shutdown.
  let listenersUp = false;
  let ready = false;
  let shuttingDown = false;
  const servers: { listener: KafkaListener; server: KafkaServer; context: BrokerContext }[] = [];
  for (const listener of kafkaListeners) {
    // One context per listener: handlers tell clients the endpoints of the listener they came in on.
    const context: BrokerContext = Object.assign(Object.create(broker) as BrokerContext, { advertised: listener });
    const server = await startupStep(`cannot listen for Kafka clients on ${listener.host}:${listener.port} (${listener.name})`, () =>
      startKafkaServer(context, handlers, listener, broker.log, {
        connectionsMax: budget.connections,
        descriptorLimit: budget.limit,
        descriptorReserve: budget.reserve,
        ...(usesTls(listener.securityProtocol) ? { tls: tls as ListenerTls } : {}),
      }));
    started.push(() => server.close());
    context.advertised = advertisedFor({ ...listener, port: server.port }, advertisedListeners);
    servers.push({ listener, server, context });
  }
  const kafka = servers.find((entry) => entry.listener === primary)!.server;
  broker.advertised = servers.find((entry) => entry.listener === primary)!.context.advertised;
  // Registration needs the bound ports (the endpoints clients are told). Once it is done, Metadata
  // lists this broker; its partitions follow as their logs recover.
  const endpoints: Endpoint[] = servers.map(({ listener, context }) => ({
    name: listener.name, host: context.advertised.host, port: context.advertised.port, securityProtocol: securityProtocolId[listener.securityProtocol],
  }));
  if (controllerBind) {
    // Its own ApiVersions table: a context of its own (the dispatcher sets apiRanges).
    // The same authorizer and SASL users as the Kafka listeners: on a listener that authenticates,
    // other nodes need CLUSTER_ACTION (controller-handlers.ts); one that does not (PLAINTEXT) trusts
    // whoever connects, so bind it to the cluster's private network.
    const controllerContext: BrokerContext = { ...broker, apiRanges: [], log: createLogger("controller-listener"), internalListener: true };
    const internalBind = { ...controllerBind, securityProtocol: interBroker.protocol };
    const internal = await startupStep(`cannot listen for other nodes on ${controllerBind.host}:${controllerBind.port}`, () =>
      startKafkaServer(controllerContext, controllerHandlers, internalBind, controllerContext.log, {
        connectionsMax: budget.connections,
        descriptorLimit: budget.limit,
        descriptorReserve: budget.reserve,
        ...(usesTls(interBroker.protocol) ? { tls: tls as ListenerTls } : {}),
      }));
    started.push(() => internal.close());
    // Peers reach a voter at its voters entry (perhaps a proxy in front of the bound port).
    const reachable = ownVoter ?? { host: internal.host, port: internal.port };
    endpoints.push({ name: "CONTROLLER", host: reachable.host, port: reachable.port, securityProtocol: securityProtocolId[interBroker.protocol] });
    console.log(`controller listening on ${internal.host}:${internal.port}${interBroker.protocol === "PLAINTEXT" ? "" : ` (${interBroker.protocol})`}`);
  }
  await startupStep("cannot register the broker with the controller", () => startedCore.register(endpoints));
  // After registration: a controller is known (every node's internal listener is up), so a node
  // that is not the controller forwards its missing users there.
  await startupStep("cannot create the bootstrap.scram.users", () => bootstrapUsers(broker));
  const httpListener = listeners.find((listener) => listener.name === "HTTP");
  let http: HttpServer | undefined;
  if (httpListener) {
    const backendOptions = {
      isReady: () => listenersUp && ready && !shuttingDown && startedCore.isClusterMember(),
      kafkaConnectionCount: () => servers.reduce((sum, entry) => sum + entry.server.connectionCount, 0),
    };
    // Many nodes: a partition led elsewhere is served through its leader (cluster-backend.ts).
    const clustered = voters.length > 0 || (hooks.clusterSize ?? 1) > 1;
    const backend = clustered ? new ClusterBackend(broker, backendOptions) : new LocalBackend(broker, backendOptions);
    if (backend instanceof ClusterBackend) started.push(async () => backend.close());
    http = await startupStep(`cannot listen for HTTP on ${httpListener.host}:${httpListener.port}`, () =>
      startHttpServer(httpListener, {
        backend,
        config,
        metrics: broker.metrics!,
        clusterId: meta.clusterId,
        nodeId: meta.nodeId,
        log: createLogger("http"),
        auth: new HttpAuth({
          methods: config["http.authentication.methods"],
          openPaths: config["http.authentication.open.paths"],
          authorizer: broker.security!.authorizer,
          credentials: broker.security!.credentials,
          bearerTokensPath: config["http.bearer.tokens.location"],
          onFailure: () => broker.metrics?.failedAuthentications.inc({ listener: "HTTP" }),
        }),
      }));
    const openHttp = http;
    started.push(() => openHttp.close());
  }
  // Printed once every listener is up: a start that fails on the HTTP port never said "listening".
  for (const { listener, server } of servers) console.log(`listener ${listener.name} (${listener.securityProtocol}) on ${server.host}:${server.port}`);
  console.log(`kafka listening on ${kafka.host}:${kafka.port}`);
  if (http) console.log(`http listening on ${http.host}:${http.port}${http.scheme === "https" ? " (https)" : ""}`);
  listenersUp = true;
  const becameReady = startedCore.whenReady().then(() => {
    ready = true;
    if (!shuttingDown) console.log(`runnel ready: kafka on ${kafka.host}:${kafka.port}`);
  });
  becameReady.catch((error: unknown) => {
    if (!shuttingDown) log.error("the broker did not become ready; it answers retriable errors", { error: String(error) });
  });

  let closing: Promise<void> | undefined;
  return {
    kafka: { host: kafka.host, port: kafka.port },
    kafkaListeners: new Map(servers.map(({ listener, server }) => [listener.name, { host: server.host, port: server.port, securityProtocol: listener.securityProtocol }])),
    reloadTls() {
      if (tls) tls.reload();
      for (const { server } of servers) server.reloadTls();
      log.info("TLS certificates reloaded");
    },
    http: http ? { host: http.host, port: http.port } : undefined,
    broker,
    core: startedCore,
    ready: becameReady,
    close(options = {}) {
      closing ??= (async () => {
        shuttingDown = true;
        if (options.controlledShutdown !== false) {
          try {
            await core.controlledShutdown();
          } catch (error) {
            log.warn("controlled shutdown failed", { error: String(error) });
          }
        }
        try {
          for (const stop of started.splice(0).reverse()) await stop();
        } finally {
          lock.release();
        }
        log.info("stopped");
      })();
      return closing;
    },
  };
}

/** bootstrap.scram.users: credentials the image does not have yet are written through the controller. */
async function bootstrapUsers(broker: BrokerContext): Promise<void> {
  const users = parseBootstrapUsers(broker.config.values["bootstrap.scram.users"]);
  const missing = users.filter((user) => !broker.metadata.image.scramCredentials.get(user.name)?.has(user.mechanism.id));
  if (missing.length === 0) return;
  let results;
  try {
    results = await broker.admin.alterScramCredentials([], await Promise.all(missing.map(upsertionOf)));
  } catch (error) {
    // Another node leads the metadata quorum: its own bootstrap.scram.users creates them.
    if (error instanceof KafkaError && error.code === ErrorCode.NOT_CONTROLLER) {
      log.info("bootstrap.scram.users left to the active controller", { error: error.message });
      return;
    }
    throw error;
  }
  const failed = results.find((result) => result.errorCode !== ErrorCode.NONE);
  if (failed) throw new StartupError(`bootstrap.scram.users: ${failed.user}: ${failed.errorMessage ?? `error ${failed.errorCode}`}`);
  log.info("created bootstrap SCRAM users", { users: missing.map((user) => `${user.name} (${user.mechanism.name})`).join(", ") });
}

/** controller.listener.names when the configuration has that key (the controller quorum's), else CONTROLLER. */
function controllerListenerNames(config: LoadedBrokerConfig["values"]): string[] {
  const names = (config as unknown as Record<string, unknown>)["controller.listener.names"];
  if (Array.isArray(names)) return names.map((name) => String(name).toUpperCase());
  if (typeof names === "string" && names !== "") return names.split(",").map((name) => name.trim().toUpperCase());
  return ["CONTROLLER"];
}
