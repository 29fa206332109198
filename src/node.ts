// A Runnel node: storage, cluster metadata and the listeners, wired together. main.ts parses the
// configuration and calls startNode; tests and the in-process harness can call it directly.
//
//   config ─▶ lock <data dir>/.lock ─▶ meta.properties (cluster id, node id) ─▶ LogManager
//          (partitions found; they recover in the background) ─▶ ClusterStore (topics.json;
//          opens each topic's new logs) ─▶ Kafka listener ─▶ HTTP listener ─▶ (every partition
//          recovered) ─▶ group coordinator
// close() runs the same chain backwards: listeners and their connections, metadata writes, logs,
// and the lock last. A step that fails closes what was started and throws a StartupError: one line
// saying what failed and where, which main.ts prints before exiting non-zero.

import { mkdir } from "node:fs/promises";
import { ClusterStore, loadOrCreateMetaProperties } from "./cluster/index.ts";
import { startGroups } from "./groups/index.ts";
import { advertisedFor, dataDir, parseListener, resolveTopicConfig, type LoadedBrokerConfig } from "./config/index.ts";
import type { BrokerContext } from "./kafka/context.ts";
import { handlers } from "./kafka/handlers/index.ts";
import { startKafkaServer, type KafkaServer } from "./kafka/listener.ts";
import { LocalBackend } from "./http/local-backend.ts";
import { startHttpServer, type HttpServer } from "./http/server.ts";
import { native } from "./native/index.ts";
import { startLogCleaner } from "./storage/cleaner.ts";
import { createLogManager, realFs } from "./storage/index.ts";
import { DataDirectoryLockedError, describeLock, lockDataDirectory, type DirectoryLock } from "./storage/dir-lock.ts";
import { raiseDescriptorLimit } from "./native/libc.ts";
import { descriptorBudget } from "./util/descriptor-budget.ts";
import { StartupError, startupStep } from "./util/startup-error.ts";
import { PartitionProducerState } from "./storage/producer-state.ts";
import { systemClock } from "./util/clock.ts";
import { createLogger, setLogNodeId } from "./util/logger.ts";
import { BrokerMetrics } from "./util/metrics.ts";

const log = createLogger("node");

export interface RunningNode {
  /** Bound address of the Kafka listener. */
  kafka: { host: string; port: number };
  /** Bound address of the HTTP listener, when listeners has an HTTP entry. */
  http?: { host: string; port: number };
  /** What the handlers see: config, logs, topics, subsystems. */
  broker: BrokerContext;
  /**
   * Resolves once every partition found at start has recovered and the group coordinator is
   * loaded (the node prints `runnel ready: kafka on HOST:PORT` then). Connections are accepted
   * before: partitions not ready and group requests answer retriable errors meanwhile.
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

  const storedOverrides = await startupStep(`cannot read topic metadata in ${directory}`, () => ClusterStore.readStoredOverrides(directory));
  const logs = createLogManager({
    dataDir: directory,
    brokerConfig: config,
    topicConfigFor: (topic) => resolveTopicConfig(loaded, storedOverrides.get(topic) ?? {}).values,
    logger: createLogger("storage"),
    // Idempotent-producer state per partition, rebuilt from the log at open (storage/producer-state.ts).
    producerStateFactory: () => new PartitionProducerState({ producerIdExpirationMs: config["producer.id.expiration.ms"] }),
    recoveryThreads: config["num.recovery.threads.per.data.dir"],
    segmentDescriptorsMax: budget.segmentFiles,
    closeConcurrencyMax: budget.logsClosing,
  });
  // Partitions found on disk recover in the background: the listener opens at once and answers
  // LEADER_NOT_AVAILABLE / NOT_LEADER_OR_FOLLOWER for the ones not ready yet (retriable).
  await startupStep(`cannot open the logs in ${directory}`, () => logs.open({ background: true }));
  started.push(() => logs.close());
  started.push(async () => void (await logs.stopRecovery()));
  const cluster = await startupStep(`cannot open topic metadata in ${directory}`, () => ClusterStore.open({ dataDir: directory, config: loaded, logs }));
  started.push(() => cluster.close());
  // Log cleaner: compacts cleanup.policy=compact topics (__consumer_offsets too) in the background.
  const cleaner = startLogCleaner(logs, config, realFs, native);
  started.push(async () => void (await cleaner?.stop()));

  const listeners = config.listeners.map((entry) => parseListener("listeners", entry));
  const advertisedListeners = config["advertised.listeners"].map((entry) => parseListener("advertised.listeners", entry));
  const plaintext = listeners.find((listener) => listener.name === "PLAINTEXT");
  if (!plaintext) throw new StartupError("listeners has no PLAINTEXT entry (the Kafka protocol listener)");

  const broker: BrokerContext = {
    config: loaded,
    nodeId: meta.nodeId,
    clusterId: meta.clusterId,
    advertised: plaintext,
    logs,
    cluster,
    clock: systemClock,
    log: createLogger("kafka"),
    apiRanges: [],
    metrics: new BrokerMetrics(),
  };
  // readyz: every listener up and every partition recovered (groups loaded); false again from the
  // start of shutdown.
  let listenersUp = false;
  let recovered = false;
  let shuttingDown = false;
  const kafka = await startupStep(`cannot listen for Kafka clients on ${plaintext.host}:${plaintext.port}`, () =>
    startKafkaServer(broker, handlers, plaintext, broker.log, {
      connectionsMax: budget.connections,
      descriptorLimit: budget.limit,
      descriptorReserve: budget.reserve,
    }));
  started.push(() => kafka.close());
  broker.advertised = advertisedFor({ ...plaintext, port: kafka.port }, advertisedListeners);
  const httpListener = listeners.find((listener) => listener.name === "HTTP");
  let http: HttpServer | undefined;
  if (httpListener) {
    const backend = new LocalBackend(broker, {
      isReady: () => listenersUp && recovered && !shuttingDown,
      kafkaConnectionCount: () => kafka.connectionCount,
    });
    http = await startupStep(`cannot listen for HTTP on ${httpListener.host}:${httpListener.port}`, () =>
      startHttpServer(httpListener, {
        backend,
        config,
        metrics: broker.metrics!,
        clusterId: meta.clusterId,
        nodeId: meta.nodeId,
        log: createLogger("http"),
      }));
  }
  // Printed once every listener is up: a start that fails on the HTTP port never said "listening".
  console.log(`kafka listening on ${kafka.host}:${kafka.port}`);
  if (http) console.log(`http listening on ${http.host}:${http.port}${http.scheme === "https" ? " (https)" : ""}`);
  listenersUp = true;
  // Group coordinator: once every partition has recovered, opens (or creates) __consumer_offsets
  // and replays it; until then group requests answer COORDINATOR_NOT_AVAILABLE (retriable).
  let stopping = false;
  const groupsReady = logs.startRecovery().then(async () => {
    if (stopping) return null;
    const groups = await startGroups({ config, cluster });
    broker.groups = groups;
    if (!stopping) console.log(`runnel ready: kafka on ${kafka.host}:${kafka.port}`);
    return groups;
  }).catch((error: unknown) => {
    log.error("the group coordinator did not start; group requests answer COORDINATOR_NOT_AVAILABLE", { error: String(error) });
    return null;
  });
  void groupsReady.then(() => {
    recovered = true;
  });

  let closing: Promise<void> | undefined;
  return {
    kafka: { host: kafka.host, port: kafka.port },
    http: http ? { host: http.host, port: http.port } : undefined,
    broker,
    ready: groupsReady.then(() => {}),
    close() {
      closing ??= (async () => {
        shuttingDown = true;
        try {
          await http?.close();
          await kafka.close();
          stopping = true;
          await logs.stopRecovery();
          (await groupsReady)?.close();
          await cleaner?.stop();
          await cluster.close();
          await logs.close();
        } finally {
          lock.release();
        }
        log.info("stopped");
      })();
      return closing;
    },
  };
}
