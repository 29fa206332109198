// An in-process Kafka server over the in-memory log (see memory-log.ts), for tests of the Kafka
// layer itself. The real-client compat tests use test/helpers/broker.ts (a real process).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClusterStore } from "../../src/cluster/index.ts";
import { loadBrokerConfig } from "../../src/config/index.ts";
import type { BrokerContext } from "../../src/kafka/context.ts";
import { handlers } from "../../src/kafka/handlers/index.ts";
import { startKafkaServer, type KafkaServer } from "../../src/kafka/listener.ts";
import { systemClock } from "../../src/util/clock.ts";
import { createLogger } from "../../src/util/logger.ts";
import { MemoryLogManager } from "./memory-log.ts";

export interface InProcessServer {
  server: KafkaServer;
  broker: BrokerContext;
  logs: MemoryLogManager;
  bootstrap: string;
  close(): Promise<void>;
}

export async function startInProcess(overrides: [string, string][] = []): Promise<InProcessServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "runnel-kafka-"));
  const loaded = loadBrokerConfig({ overrides: [["log.dirs", dataDir], ...overrides] });
  const logs = new MemoryLogManager();
  const cluster = await ClusterStore.open({ dataDir, config: loaded, logs });
  const bind = { name: "PLAINTEXT", host: "127.0.0.1", port: 0 };
  const broker: BrokerContext = {
    config: loaded, nodeId: loaded.values["node.id"], clusterId: "AAAAAAAAAAAAAAAAAAAAAQ", advertised: bind,
    logs, cluster, clock: systemClock, log: createLogger("kafka"), apiRanges: [],
  };
  const server = startKafkaServer(broker, handlers, bind, broker.log);
  broker.advertised = { ...bind, port: server.port };
  return {
    server, broker, logs,
    bootstrap: `127.0.0.1:${server.port}`,
    async close() {
      await server.close();
      await cluster.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
