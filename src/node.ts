// A Runnel node: storage, cluster metadata and the listeners, wired together. main.ts parses the
// configuration and calls startNode; tests and the in-process harness can call it directly.
//
//   config ─▶ meta.properties (cluster id, node id) ─▶ LogManager (partitions found; they recover
//          in the background) ─▶ ClusterStore (topics.json; opens each topic's new logs)
//          ─▶ Kafka listener ─▶ (every partition recovered) ─▶ group coordinator
// close() runs the same chain backwards: listener and its connections, metadata writes, logs.

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
  await mkdir(directory, { recursive: true });
  const meta = await loadOrCreateMetaProperties(directory, config["node.id"], config["cluster.id"]);
  setLogNodeId(meta.nodeId);
  log.info("starting", { "node.id": meta.nodeId, "cluster.id": meta.clusterId, "data.dir": directory });

  const storedOverrides = await ClusterStore.readStoredOverrides(directory);
  const logs = createLogManager({
    dataDir: directory,
    brokerConfig: config,
    topicConfigFor: (topic) => resolveTopicConfig(loaded, storedOverrides.get(topic) ?? {}).values,
    logger: createLogger("storage"),
    // Idempotent-producer state per partition, rebuilt from the log at open (storage/producer-state.ts).
    producerStateFactory: () => new PartitionProducerState({ producerIdExpirationMs: config["producer.id.expiration.ms"] }),
    recoveryThreads: config["num.recovery.threads.per.data.dir"],
  });
  // Partitions found on disk recover in the background: the listener opens at once and answers
  // LEADER_NOT_AVAILABLE / NOT_LEADER_OR_FOLLOWER for the ones not ready yet (retriable).
  await logs.open({ background: true });
  const cluster = await ClusterStore.open({ dataDir: directory, config: loaded, logs });
  // Log cleaner: compacts cleanup.policy=compact topics (__consumer_offsets too) in the background.
  const cleaner = startLogCleaner(logs, config, realFs, native);

  const listeners = config.listeners.map((entry) => parseListener("listeners", entry));
  const advertisedListeners = config["advertised.listeners"].map((entry) => parseListener("advertised.listeners", entry));
  const plaintext = listeners.find((listener) => listener.name === "PLAINTEXT");
  if (!plaintext) throw new Error("listeners has no PLAINTEXT entry (the Kafka protocol listener)");

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
  let kafka: KafkaServer;
  try {
    kafka = startKafkaServer(broker, handlers, plaintext, broker.log);
  } catch (error) {
    await cleaner?.stop();
    await cluster.close();
    await logs.close();
    throw error;
  }
  broker.advertised = advertisedFor({ ...plaintext, port: kafka.port }, advertisedListeners);
  console.log(`kafka listening on ${kafka.host}:${kafka.port}`);
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
  const httpListener = listeners.find((listener) => listener.name === "HTTP");
  let http: HttpServer | undefined;
  if (httpListener) {
    try {
      const backend = new LocalBackend(broker, {
        isReady: () => listenersUp && recovered && !shuttingDown,
        kafkaConnectionCount: () => kafka.connectionCount,
      });
      http = startHttpServer(httpListener, {
        backend,
        config,
        metrics: broker.metrics!,
        clusterId: meta.clusterId,
        nodeId: meta.nodeId,
        log: createLogger("http"),
      });
    } catch (error) {
      await kafka.close();
      stopping = true;
      await logs.stopRecovery();
      (await groupsReady)?.close();
      await cleaner?.stop();
      await cluster.close();
      await logs.close();
      throw error;
    }
    console.log(`http listening on ${http.host}:${http.port}${http.scheme === "https" ? " (https)" : ""}`);
  }
  listenersUp = true;

  let closing: Promise<void> | undefined;
  return {
    kafka: { host: kafka.host, port: kafka.port },
    http: http ? { host: http.host, port: http.port } : undefined,
    broker,
    ready: groupsReady.then(() => {}),
    close() {
      closing ??= (async () => {
        shuttingDown = true;
        await http?.close();
        await kafka.close();
        stopping = true;
        await logs.stopRecovery();
        (await groupsReady)?.close();
        await cleaner?.stop();
        await cluster.close();
        await logs.close();
        log.info("stopped");
      })();
      return closing;
    },
  };
}
