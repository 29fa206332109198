// meta.properties in the data directory, as Kafka (KRaft) keeps it: the cluster id (generated
// once: a random UUID in Kafka's 22-character base64url form) and this node's id. A data directory
// written by another node or cluster is refused at start rather than silently mixed.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, parseProperties } from "../config/index.ts";
import { randomUuid } from "../protocol/primitives.ts";
import { writeFileAtomic } from "./atomic-file.ts";

export interface MetaProperties {
  clusterId: string;
  nodeId: number;
}

export async function loadOrCreateMetaProperties(
  dataDir: string,
  nodeId: number,
  configuredClusterId: string | null,
): Promise<MetaProperties> {
  const path = join(dataDir, "meta.properties");
  if (existsSync(path)) {
    const entries = new Map(parseProperties(readFileSync(path, "utf8"), path));
    const clusterId = entries.get("cluster.id");
    const storedNodeId = Number(entries.get("node.id"));
    if (!clusterId) throw new ConfigError("cluster.id", `${path} has no cluster.id`);
    if (configuredClusterId !== null && configuredClusterId !== clusterId) {
      throw new ConfigError("cluster.id", `configured ${configuredClusterId} but ${path} says ${clusterId}`);
    }
    if (storedNodeId !== nodeId) {
      throw new ConfigError("node.id", `configured ${nodeId} but ${path} says ${entries.get("node.id")}`);
    }
    return { clusterId, nodeId };
  }
  const clusterId = configuredClusterId ?? randomUuid();
  const text = `#\n#Written by Runnel ${new Date().toISOString()}\nversion=1\ncluster.id=${clusterId}\nnode.id=${nodeId}\n`;
  await writeFileAtomic(path, text);
  return { clusterId, nodeId };
}
