// A Runnel node: storage, cluster metadata and the listeners, wired together. main.ts parses the
// configuration and calls startNode; tests and the in-process harness can call it directly.

import { dataDir, type LoadedBrokerConfig } from "./config/index.ts";
import { createLogger } from "./util/logger.ts";

const log = createLogger("node");

export interface RunningNode {
  /** Bound address of the Kafka listener, when started. */
  kafka?: { host: string; port: number };
  close(): Promise<void>;
}

export async function startNode(loaded: LoadedBrokerConfig): Promise<RunningNode> {
  const config = loaded.values;
  log.info("starting", { "node.id": config["node.id"], "data.dir": dataDir(config) });
  // Storage, cluster metadata and the Kafka listener are wired here as they land.
  console.log(`runnel node ${config["node.id"]} data dir ${dataDir(config)}`);
  return {
    async close() {
      log.info("stopped");
    },
  };
}
