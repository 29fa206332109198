// The Raft driver's transport over the internal listeners of the other voters: Kafka requests
// through PeerConnections, on two connections per peer — "raft-fetch" for Fetch and FetchSnapshot
// (a Fetch may be parked at the leader for up to its max wait, and Kafka answers a connection's
// requests in order) and "raft" for Vote, BeginQuorumEpoch and EndQuorumEpoch.

import type { PeerConnections } from "../client/peer-connections.ts";
import type { RaftTransport } from "./driver.ts";
import type { RaftRequest, RaftResponse } from "./messages.ts";
import type { NodeId } from "./types.ts";
import { decodeRaftResponse, encodeRaftRequest } from "./wire.ts";

export class PeerRaftTransport implements RaftTransport {
  constructor(
    private readonly peers: PeerConnections,
    private readonly requestTimeoutMs: number,
  ) {}

  async send(to: NodeId, request: RaftRequest): Promise<RaftResponse> {
    const wire = encodeRaftRequest(request);
    const fetching = request.kind === "FetchRequest" || request.kind === "FetchSnapshotRequest";
    const timeoutMs = this.requestTimeoutMs + (request.kind === "FetchRequest" ? request.maxWaitMs : 0);
    const body = await this.peers.request(to, fetching ? "raft-fetch" : "raft", wire.api, wire.body as never, { version: wire.version, timeoutMs });
    return decodeRaftResponse(request, body);
  }
}
