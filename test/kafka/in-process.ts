// An in-process Kafka server over the in-memory log (see memory-log.ts), for tests of the Kafka
// layer itself: the real metadata log, controller, replicas and groups (startBrokerCore), partition
// logs in memory. The real-client compat tests use test/helpers/broker.ts (a real process).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBrokerConfig } from "../../src/config/index.ts";
import type { BrokerContext } from "../../src/kafka/context.ts";
import { handlers } from "../../src/kafka/handlers/index.ts";
import { startKafkaServer, type KafkaServer } from "../../src/kafka/listener.ts";
import { startBrokerCore, type BrokerCore } from "../../src/node.ts";
import { systemClock } from "../../src/util/clock.ts";
import { createLogger } from "../../src/util/logger.ts";
import { MemoryLogManager } from "./memory-log.ts";

export interface InProcessServer {
  server: KafkaServer;
  broker: BrokerContext;
  core: BrokerCore;
  logs: MemoryLogManager;
  bootstrap: string;
  close(): Promise<void>;
}

export interface InProcessOptions {
  /** Runs after the metadata is replayed and the listener bound, before this broker registers. */
  beforeRegister?: (core: BrokerCore, port: number) => Promise<void>;
}

export async function startInProcess(overrides: [string, string][] = [], options: InProcessOptions = {}): Promise<InProcessServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "runnel-kafka-"));
  const loaded = loadBrokerConfig({ overrides: [["log.dirs", dataDir], ["offsets.topic.num.partitions", "3"], ...overrides] });
  const logs = new MemoryLogManager();
  const nodeId = loaded.values["node.id"];
  const core = await startBrokerCore({ loaded, dataDir, nodeId, logs, cleanShutdown: true });
  const bind = { name: "PLAINTEXT", host: "127.0.0.1", port: 0 };
  const broker: BrokerContext = {
    config: loaded, nodeId, clusterId: "AAAAAAAAAAAAAAAAAAAAAQ", advertised: bind,
    metadata: core.publisher, topicConfigs: core.topicConfigs, admin: core.admin, replicas: core.replicas, producerIds: core.producerIds,
    groups: core.groups, clock: systemClock, log: createLogger("kafka"), apiRanges: [],
  };
  const server = startKafkaServer(broker, handlers, bind, broker.log);
  broker.advertised = { ...bind, port: server.port };
  await options.beforeRegister?.(core, server.port);
  await core.register([{ name: "PLAINTEXT", host: "127.0.0.1", port: server.port, securityProtocol: 0 }]);
  await core.whenReady();
  return {
    server, broker, core, logs,
    bootstrap: `127.0.0.1:${server.port}`,
    async close() {
      await server.close();
      await core.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
