// A node that is not a voter joins a cluster through `controller.quorum.bootstrap.servers`
// (KIP-853's name): `host:port,…` of some voters' CONTROLLER listeners. It asks them
// DescribeQuorum v2 — whose Nodes name each voter's CONTROLLER endpoint — until one answers with
// the voter set, then follows the metadata log as a Raft observer (it never stands for election).
// The cluster id is asked of the same server (Metadata's ClusterId): once the voters have changed
// (KIP-853) it can no longer be derived from the voters list.

import { KafkaConnection } from "../client/connection.ts";
import type { ClientSecurity } from "../client/security.ts";
import { parseListener } from "../config/listeners.ts";
import type { QuorumVoter } from "../config/quorum-voters.ts";
import { ConfigError } from "../config/parse.ts";
import { DescribeQuorumApi } from "../protocol/generated/describe-quorum.ts";
import { MetadataApi } from "../protocol/generated/metadata.ts";

const metadataTopicName = "__cluster_metadata";

export interface BootstrapServer {
  host: string;
  port: number;
}

export function parseBootstrapServers(entries: readonly string[]): BootstrapServer[] {
  return entries.map((entry) => {
    const listener = (() => {
      try {
        return parseListener("controller.quorum.bootstrap.servers", `CONTROLLER://${entry.trim()}`);
      } catch {
        throw new ConfigError("controller.quorum.bootstrap.servers", `"${entry}" is not host:port`);
      }
    })();
    return { host: listener.host, port: listener.port };
  });
}

export interface DiscoveredQuorum {
  voters: QuorumVoter[];
  /** The cluster id the bootstrap server answered with (null if it named none). */
  clusterId: string | null;
}

/** The voters one bootstrap server names (with their CONTROLLER endpoints) and its cluster id, or null. */
async function askVoters(server: BootstrapServer, clientId: string, security: ClientSecurity): Promise<DiscoveredQuorum | null> {
  const connection = await KafkaConnection.connect({ host: server.host, port: server.port, clientId, requestTimeoutMs: 3000, connectTimeoutMs: 3000, security });
  try {
    const response = await connection.request(DescribeQuorumApi,
      { topics: [{ topicName: metadataTopicName, partitions: [{ partitionIndex: 0 }] }] }, { version: 2 });
    const partition = response.topics[0]?.partitions[0];
    if (!partition || partition.errorCode !== 0 || partition.currentVoters.length === 0) return null;
    const voters: QuorumVoter[] = [];
    for (const voter of partition.currentVoters) {
      const endpoint = response.nodes.find((node) => node.nodeId === voter.replicaId)?.listeners.find((listener) => listener.name === "CONTROLLER");
      if (!endpoint) return null;
      voters.push({ id: voter.replicaId, host: endpoint.host, port: endpoint.port });
    }
    const metadata = await connection.request(MetadataApi, { topics: [] }, { version: 9 });
    return { voters, clusterId: metadata.clusterId };
  } finally {
    connection.close();
  }
}

/**
 * Ask the bootstrap servers in turn (every `retryMs`) until one names the voters; throws after
 * `timeoutMs` with the last problem.
 */
export async function discoverVoters(
  servers: readonly BootstrapServer[], nodeId: number, timeoutMs: number,
  /** TLS and SASL of the voters' internal listeners (security/inter-broker.ts). */
  security: ClientSecurity = {}, retryMs = 200,
): Promise<DiscoveredQuorum> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = "no answer yet";
  for (let attempt = 0; ; attempt++) {
    const server = servers[attempt % servers.length]!;
    try {
      const discovered = await askVoters(server, `runnel-node-${nodeId}`, security);
      if (discovered) return { ...discovered, voters: discovered.voters.sort((left, right) => left.id - right.id) };
      lastProblem = `${server.host}:${server.port} knows no quorum leader yet`;
    } catch (error) {
      lastProblem = `${server.host}:${server.port}: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (Date.now() >= deadline) throw new Error(`no bootstrap server named the quorum voters within ${timeoutMs} ms (${lastProblem})`);
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}
