// Controller voter changes from any node (KIP-853's AddRaftVoter 80 / RemoveRaftVoter 81, docs/elastic.md):
// the quorum leader appends the voters entry itself (RaftMetadataLog.changeVoters, which waits for
// the commit); any other node forwards the request to the leader over the internal listener, as
// Kafka's brokers forward to the controller. The endpoint a new voter is reached at is the
// CONTROLLER listener named in the request, else the one it registered as a broker.

import type { PeerConnections } from "../client/peer-connections.ts";
import type { MetadataImage } from "../cluster/image.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { AddRaftVoterApi } from "../protocol/generated/add-raft-voter.ts";
import { RemoveRaftVoterApi } from "../protocol/generated/remove-raft-voter.ts";
import type { RaftMetadataLog } from "./driver.ts";
import type { NodeId, Voter } from "./types.ts";

export type VoterChange = { add: NodeId; endpoint?: { host: string; port: number } } | { remove: NodeId };

export interface VoterChangeContext {
  readonly nodeId: NodeId;
  readonly raft: RaftMetadataLog;
  readonly peers: PeerConnections;
  readonly image: () => MetadataImage;
  /** controller.quorum.voters (or the voters learned through the bootstrap servers) with their endpoints. */
  readonly staticVoters: readonly Voter[];
  readonly clusterId: string;
  /** controller.quorum.retry.backoff.ms: the wait between tries while the leadership moves. */
  readonly retryBackoffMs: number;
}

/** The CONTROLLER endpoint of `id`: the voters entry's, else the static list's, else its broker registration's. */
function endpointOf(context: VoterChangeContext, id: NodeId, recorded?: Voter): { host: string; port: number } | undefined {
  if (recorded !== undefined && recorded.port >= 0) return { host: recorded.host, port: recorded.port };
  const known = context.staticVoters.find((voter) => voter.id === id);
  if (known !== undefined) return { host: known.host, port: known.port };
  const endpoint = context.image().brokers.get(id)?.endpoints.find((candidate) => candidate.name === "CONTROLLER");
  return endpoint === undefined ? undefined : { host: endpoint.host, port: endpoint.port };
}

/** Every current voter with its CONTROLLER endpoint (DescribeQuorum v2's Nodes). */
export function currentVoterEndpoints(context: VoterChangeContext): Voter[] {
  const voters: Voter[] = [];
  for (const voter of context.raft.currentVoters()) {
    const endpoint = endpointOf(context, voter.id, voter);
    if (endpoint !== undefined) voters.push({ id: voter.id, ...endpoint });
  }
  return voters;
}

/**
 * Make the change (on the leader) or have the leader make it; throws a KafkaError when refused.
 * While the leadership moves (no leader known, a stale one answering NOT_LEADER_OR_FOLLOWER, its
 * connection failing) the change is tried again every controller.quorum.retry.backoff.ms until
 * `timeoutMs`. A retry that finds the change already made (DUPLICATE_VOTER for an add,
 * VOTER_NOT_FOUND for a remove: the first try's answer was lost) counts as done.
 */
export async function changeVoters(context: VoterChangeContext, change: VoterChange, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await changeVotersOnce(context, change, Math.max(1, deadline - Date.now()));
    } catch (error) {
      const code = error instanceof KafkaError ? error.code : ErrorCode.NETWORK_EXCEPTION;
      const alreadyDone = attempt > 0 && code === ("add" in change ? ErrorCode.DUPLICATE_VOTER : ErrorCode.VOTER_NOT_FOUND);
      if (alreadyDone) return;
      const leadershipMoving = code === ErrorCode.NOT_LEADER_OR_FOLLOWER || code === ErrorCode.NOT_CONTROLLER || code === ErrorCode.NETWORK_EXCEPTION;
      if (!leadershipMoving || Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, context.retryBackoffMs));
    }
  }
}

async function changeVotersOnce(context: VoterChangeContext, change: VoterChange, timeoutMs: number): Promise<void> {
  const raft = context.raft;
  if (raft.status().role === "leader") {
    if ("remove" in change) return raft.changeVoters({ remove: change.remove }, timeoutMs);
    const endpoint = change.endpoint ?? endpointOf(context, change.add);
    if (endpoint === undefined) throw new KafkaError(ErrorCode.INVALID_REQUEST, `node ${change.add} has no CONTROLLER endpoint: start it (it registers one) or name its listener`);
    return raft.changeVoters({ add: { id: change.add, ...endpoint } }, timeoutMs);
  }
  const leader = raft.leader.leaderId;
  if (leader < 0 || leader === context.nodeId) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, "no metadata quorum leader is known");
  const options = { version: 0, timeoutMs: timeoutMs + 2000 };
  const answer = "remove" in change
    ? await context.peers.request(leader, "admin", RemoveRaftVoterApi, { clusterId: context.clusterId, voterId: change.remove }, options)
    : await context.peers.request(leader, "admin", AddRaftVoterApi, {
      clusterId: context.clusterId, timeoutMs, voterId: change.add,
      listeners: change.endpoint === undefined ? [] : [{ name: "CONTROLLER", host: change.endpoint.host, port: change.endpoint.port }],
    }, options);
  if (answer.errorCode !== ErrorCode.NONE) throw new KafkaError(answer.errorCode, answer.errorMessage ?? `the quorum leader ${leader} refused the voter change`);
}
