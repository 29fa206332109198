// `controller.quorum.voters`: `id@host:port,…` (Kafka's format). Empty: a one-node cluster, the
// node the single voter of its own metadata log. A voter's internal (CONTROLLER) listener binds
// the port of its own entry unless `listeners` names a CONTROLLER entry (tests bind another port
// and put a fault-injecting proxy on the one the voters list names).

import { parseListener, type Listener } from "./listeners.ts";
import { ConfigError } from "./parse.ts";

export interface QuorumVoter {
  id: number;
  host: string;
  port: number;
}

export function parseQuorumVoters(entries: readonly string[]): QuorumVoter[] {
  const voters = entries.map((entry) => {
    const match = /^(\d+)@(\[[^\]]*\]|[^:@]+):(\d+)$/.exec(entry.trim());
    if (!match) throw new ConfigError("controller.quorum.voters", `"${entry}" is not id@host:port`);
    const port = Number(match[3]);
    if (port < 1 || port > 65535) throw new ConfigError("controller.quorum.voters", `port ${port} of "${entry}" is out of range`);
    return { id: Number(match[1]), host: match[2]!.replace(/^\[(.*)\]$/, "$1"), port };
  });
  const ids = new Set(voters.map((voter) => voter.id));
  if (ids.size !== voters.length) throw new ConfigError("controller.quorum.voters", "a node id is listed twice");
  return voters;
}

/**
 * The CONTROLLER listener this node binds: an explicit `listeners` entry wins; else a voter's own
 * voters entry; null for a one-node cluster. A node of a cluster that is not a voter (an observer,
 * joined through controller.quorum.bootstrap.servers) must name its CONTROLLER listener.
 */
export function controllerListener(nodeId: number, listeners: readonly string[], voters: readonly QuorumVoter[]): Listener | null {
  const explicit = listeners.map((entry) => parseListener("listeners", entry)).find((listener) => listener.name === "CONTROLLER");
  if (explicit) return explicit;
  if (voters.length === 0) return null;
  const own = voters.find((voter) => voter.id === nodeId);
  if (!own) throw new ConfigError("listeners", `node ${nodeId} is not a voter: give it a CONTROLLER entry (or --internal-port)`);
  return { name: "CONTROLLER", host: own.host, port: own.port };
}
