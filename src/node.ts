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
import { LocalMetadataLog } from "./cluster/local-metadata-log.ts";
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
import type { Scheduler } from "./groups/scheduler.ts";
import type { BrokerContext } from "./kafka/context.ts";
import { handlers } from "./kafka/handlers/index.ts";
import { startKafkaServer, type KafkaServer } from "./kafka/listener.ts";
import { createBrokerSecurity } from "./kafka/security.ts";
import { parseBootstrapUsers, upsertionOf } from "./security/bootstrap-users.ts";
import { listenerTlsFromConfig, type ListenerTls } from "./security/tls.ts";
import { LocalBackend } from "./http/local-backend.ts";
import { HttpAuth } from "./http/auth.ts";
import { startHttpServer, type HttpServer } from "./http/server.ts";
import { native } from "./native/index.ts";
import { raiseDescriptorLimit } from "./native/libc.ts";
import { ErrorCode, KafkaError } from "./protocol/errors.ts";
import { randomUuid } from "./protocol/primitives.ts";
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
}

/** Everything of a node but its storage and its listeners. */
export interface BrokerCore {
  readonly metadataLog: LocalMetadataLog;
  readonly publisher: MetadataPublisher;
  readonly snapshotter: MetadataSnapshotter;
  readonly controller: QuorumController;
  readonly admin: ClusterAdmin;
  readonly topicConfigs: TopicConfigs;
  readonly replicas: ReplicaManager;
  readonly groups: Groups;
  readonly producerIds: ProducerIdManager;
  /** Random per process: what this process registers with. */
  readonly incarnationId: string;
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
  const metadataLog = await LocalMetadataLog.open({ dataDir: options.dataDir, nodeId, brokerConfig: config, fs, logger: createLogger("metadata-log") });
  const publisher = new MetadataPublisher(metadataLog, createLogger("metadata"));
  // A snapshot of the image beside the log after each publication (cluster/snapshotter.ts).
  const snapshotter = new MetadataSnapshotter(publisher, metadataLog, createLogger("metadata"));
  const controller = new QuorumController({ log: metadataLog, config: loaded, logger: createLogger("controller") });
  const admin = new ClusterAdmin(controller, publisher, loaded);
  const topicConfigs = new TopicConfigs(loaded, () => publisher.image);
  const replicas = new ReplicaManager({
    nodeId, logs: options.logs, recoveryThreads: config["num.recovery.threads.per.data.dir"], logger: createLogger("replicas"),
  });
  const reconciler = new Reconciler({
    nodeId, incarnationId, replicas, logs: options.logs, topicConfigs, dataDir: options.dataDir, fs, logger: createLogger("reconciler"),
  });
  publisher.subscribe("reconciler", reconciler.apply);
  // Before the replay: every leadership of an offsets partition must reach the groups.
  const groups = startGroups({ config, replicas, metadata: () => publisher.image, scheduler: options.scheduler });
  let brokerEpoch: bigint | null = null;
  const producerIds = new ProducerIdManager({
    allocateProducerIds: () => {
      // The listener is up a moment before the registration is done (its port is registered).
      if (brokerEpoch === null) return Promise.reject(new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, "the broker is not registered yet"));
      return admin.allocateProducerIds(nodeId, brokerEpoch);
    },
  });
  const closeAll = async () => {
    // No further log recovery (the ones under way finish); then the publisher: a reconciliation
    // under way finishes before the replicas stop.
    await replicas.stopRecovery();
    groups.close();
    await publisher.close();
    replicas.close();
    await snapshotter.close();
    await metadataLog.close();
  };
  try {
    await metadataLog.start();
    await migrateLegacyMetadata({ dataDir: options.dataDir, nodeId, log: metadataLog, fs, logger: createLogger("migration") });
    await publisher.waitForPublished(metadataLog.committedOffset);
  } catch (error) {
    await closeAll().catch(() => {});
    throw error;
  }
  return {
    metadataLog, publisher, snapshotter, controller, admin, topicConfigs, replicas, groups, producerIds, incarnationId,
    async register(endpoints) {
      const registered = await controller.registerBroker({
        brokerId: nodeId, incarnationId, endpoints, rack: null, cleanShutdown: options.cleanShutdown,
      });
      await publisher.waitForPublished(registered.offset);
      const heartbeat = await controller.brokerHeartbeat({ brokerId: nodeId, brokerEpoch: registered.value, currentMetadataOffset: publisher.image.offset });
      await publisher.waitForPublished(heartbeat.offset);
      assert(!heartbeat.value.isFenced, "a broker caught up with its own registration is unfenced");
      brokerEpoch = registered.value;
      log.info("broker registered", { brokerEpoch: String(registered.value), incarnationId });
    },
    async whenReady() {
      assert(brokerEpoch !== null, "whenReady() after register()");
      await ensureOffsetsTopic(admin, config, publisher.image);
      // Logs of the replayed image recover in the background; each takes its role when ready (and
      // an offsets partition led here then starts loading its groups).
      await replicas.recovered();
      await groups.partitions.loaded();
    },
    close: closeAll,
  };
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
  close(): Promise<void>;
}

export async function startNode(loaded: LoadedBrokerConfig): Promise<RunningNode> {
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
    return await startLocked(loaded, directory, lock, started);
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
): Promise<RunningNode> {
  const config = loaded.values;
  const limit = raiseDescriptorLimit();
  const budget = descriptorBudget(limit.soft);
  const meta = await startupStep(`cannot use data directory ${directory}`, () => loadOrCreateMetaProperties(directory, config["node.id"], config["cluster.id"]));
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
  // The metadata log replayed (a data directory of the topics.json era migrated first); the logs it
  // names recover in the background from here.
  const core = await startupStep(`cannot open the cluster metadata in ${directory}`, () =>
    startBrokerCore({ loaded, dataDir: directory, nodeId: meta.nodeId, logs, cleanShutdown: logs.foundCleanShutdown }));
  started.push(() => core.close());
  // Log cleaner: compacts cleanup.policy=compact topics (__consumer_offsets too) in the background.
  const cleaner = startLogCleaner(logs, config, realFs, native);
  started.push(async () => void (await cleaner?.stop()));

  const listeners = config.listeners.map((entry) => parseListener("listeners", entry));
  const advertisedListeners = config["advertised.listeners"].map((entry) => parseListener("advertised.listeners", entry));
  const kafkaListeners = await startupStep("bad listeners", () =>
    kafkaListenersOf(listeners, config["listener.security.protocol.map"], loaded.explicit.has("listener.security.protocol.map"), controllerListenerNames(config)));
  const primary = kafkaListeners.find((listener) => listener.name === "PLAINTEXT") ?? kafkaListeners[0];
  if (!primary) throw new StartupError("listeners has no Kafka listener (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)");
  const tls = kafkaListeners.some((listener) => usesTls(listener.securityProtocol))
    ? await startupStep("cannot set up TLS", () => listenerTlsFromConfig(config))
    : undefined;

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
    metrics: new BrokerMetrics(),
    security: createBrokerSecurity(loaded, kafkaListeners, core.publisher),
  };
  await startupStep("cannot create the bootstrap.scram.users", () => bootstrapUsers(broker));
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
  const endpoints = servers.map(({ listener, context }) => ({
    name: listener.name, host: context.advertised.host, port: context.advertised.port, securityProtocol: securityProtocolId[listener.securityProtocol],
  }));
  await startupStep("cannot register the broker with the controller", () => core.register(endpoints));
  const httpListener = listeners.find((listener) => listener.name === "HTTP");
  let http: HttpServer | undefined;
  if (httpListener) {
    const backend = new LocalBackend(broker, {
      isReady: () => listenersUp && ready && !shuttingDown,
      kafkaConnectionCount: () => servers.reduce((sum, entry) => sum + entry.server.connectionCount, 0),
    });
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
  const becameReady = core.whenReady().then(() => {
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
    core,
    ready: becameReady,
    close() {
      closing ??= (async () => {
        shuttingDown = true;
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
  const results = await broker.admin.alterScramCredentials([], await Promise.all(missing.map(upsertionOf)));
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
