// PeerConnections (src/client/peer-connections.ts): a node's connections to the other nodes — the
// client id names the node, one connection per peer and purpose, no new connection attempt before
// the reconnect backoff has passed, and a closed connection is reported.

import { afterEach, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { PeerConnections } from "../../src/client/peer-connections.ts";
import { DescribeQuorumApi } from "../../src/protocol/generated/describe-quorum.ts";
import { peekRequestHeader } from "../../src/testing/recording-proxy.ts";

const listeners: TCPSocketListener<unknown>[] = [];
afterEach(() => {
  for (const listener of listeners.splice(0)) listener.stop(true);
});

/** A server that records the client id of the first request of each chunk it reads, and never answers. */
function recordingServer(): { port: number; clientIds: string[]; sockets: Socket<unknown>[] } {
  const clientIds: string[] = [];
  const sockets: Socket<unknown>[] = [];
  const listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        sockets.push(socket);
      },
      data(_socket, bytes) {
        const header = peekRequestHeader(bytes.subarray(4));
        if (header?.clientId) clientIds.push(header.clientId);
      },
    },
  });
  listeners.push(listener as TCPSocketListener<unknown>);
  return { port: listener.port, clientIds, sockets };
}

const body = { topics: [{ topicName: "__cluster_metadata", partitions: [{ partitionIndex: 0 }] }] };

test("client id runnel-node-<id>, one connection per peer and purpose, a closed one reported", async () => {
  const server = recordingServer();
  const peers = new PeerConnections({ nodeId: 7, addresses: new Map([[2, { host: "127.0.0.1", port: server.port }]]), reconnectBackoffMs: 10, reconnectBackoffMaxMs: 100, requestTimeoutMs: 300 });
  const closed: string[] = [];
  peers.onClosed((peer, purpose) => closed.push(`${peer}/${purpose}`));
  const answers = [
    peers.request(2, "raft", DescribeQuorumApi, body, { version: 0, timeoutMs: 5000 }).catch(() => "failed"),
    peers.request(2, "raft", DescribeQuorumApi, body, { version: 0, timeoutMs: 5000 }).catch(() => "failed"),
    peers.request(2, "admin", DescribeQuorumApi, body, { version: 0, timeoutMs: 5000 }).catch(() => "failed"),
  ];
  // The two "raft" requests may arrive in one chunk: at least one id per connection.
  while (server.sockets.length < 2 || server.clientIds.length < 2) await Bun.sleep(5);
  expect(server.sockets).toHaveLength(2);
  expect(new Set(server.clientIds)).toEqual(new Set(["runnel-node-7"]));
  for (const socket of server.sockets) socket.end();
  expect(await Promise.all(answers)).toEqual(["failed", "failed", "failed"]);
  while (closed.length < 2) await Bun.sleep(5);
  expect(closed.sort()).toEqual(["2/admin", "2/raft"]);
  peers.close();
});

test("no new attempt before the backoff has passed: the request fails at once", async () => {
  const server = recordingServer();
  const port = server.port;
  listeners.pop()!.stop(true); // nothing listens there now
  const peers = new PeerConnections({ nodeId: 1, addresses: new Map([[3, { host: "127.0.0.1", port }]]), reconnectBackoffMs: 60_000, reconnectBackoffMaxMs: 60_000, requestTimeoutMs: 1000 });
  await expect(peers.request(3, "raft", DescribeQuorumApi, body, { version: 0 })).rejects.toThrow();
  await expect(peers.request(3, "raft", DescribeQuorumApi, body, { version: 0 })).rejects.toThrow(/retrying after the backoff/);
  await expect(peers.request(4, "raft", DescribeQuorumApi, body, { version: 0 })).rejects.toThrow(/no known address/);
  peers.close();
});
