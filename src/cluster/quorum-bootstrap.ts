// A node that is not a voter joins a cluster through `controller.quorum.bootstrap.servers`
// (KIP-853's name): `host:port,…` of some voters' CONTROLLER listeners. It asks them
// DescribeQuorum v2 — whose Nodes name each voter's CONTROLLER endpoint — until one answers with
// the voter set, then follows the metadata log as a Raft observer (it never stands for election).
// The voters' addresses are the ones their own voters lists name, so the cluster id a node derives
// from them is the voters' own.

import { KafkaConnection } from "../client/connection.ts";
import type { ClientSecurity } from "../client/security.ts";
import { parseListener } from "../config/listeners.ts";
import type { QuorumVoter } from "../config/quorum-voters.ts";
import { ConfigError } from "../config/parse.ts";
import { DescribeQuorumApi } from "../protocol/generated/describe-quorum.ts";

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

/** The voters one bootstrap server names (with their CONTROLLER endpoints), or null. */
async function askVoters(server: BootstrapServer, clientId: string, security: ClientSecurity): Promise<QuorumVoter[] | null> {
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
    return voters;
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
): Promise<QuorumVoter[]> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = "no answer yet";
  for (let attempt = 0; ; attempt++) {
    const server = servers[attempt % servers.length]!;
    try {
      const voters = await askVoters(server, `runnel-node-${nodeId}`, security);
      if (voters) return voters.sort((left, right) => left.id - right.id);
      lastProblem = `${server.host}:${server.port} knows no quorum leader yet`;
    } catch (error) {
      lastProblem = `${server.host}:${server.port}: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (Date.now() >= deadline) throw new Error(`no bootstrap server named the quorum voters within ${timeoutMs} ms (${lastProblem})`);
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}
