// A fault-injecting network between broker processes on loopback (test-only: never imported by
// the broker). One proxy stands in front of each node's inter-broker listener; every peer connects
// to the node through it. The proxy learns which node a connection comes from by the client id of
// its first request (inter-broker connections name their node: `runnel-node-<id>`), so one rule
// table can cut any directed pair of nodes:
//
//   node 1 ──▶ proxy[2] ──▶ node 2        block(1, 2): bytes 1→2 stall on every connection
//   node 1 ◀── proxy[2] ◀── node 2        block(2, 1): answers 2→1 stall (and 2's own requests
//                                          to 1 stall at proxy[1])
//
// A cut *stalls* bytes rather than dropping them, as a real partition does to TCP (the kernel
// retransmits until the application gives up): no byte stream is ever corrupted, a peer sees
// silence and its own timeouts decide. Stalled bytes are held up to a bound per connection; past
// it the connection is closed, as a TCP retransmission timeout would. `sever` closes the
// connections of a pair at once (a reset). Connections whose first request names no node (Kafka
// clients of the test) are never cut.

import type { Socket, TCPSocketListener } from "bun";
import { assert } from "../util/assert.ts";
import { peekRequestHeader } from "./recording-proxy.ts";

/** Inter-broker client ids look like this; the number is the node id. */
export const nodeClientIdPattern = /^runnel-node-(\d+)\b/;
const heldBytesMaxDefault = 64 * 1024 * 1024;
const frameHeaderBytes = 4;

type Side = "client" | "upstream";

interface Connection {
  /** Node id of the connecting side, once its first request was seen; null when not a node. */
  source: number | null | undefined;
  /** Bytes client → node, and node → client, not yet written. */
  toNode: Uint8Array[];
  toNodeBytes: number;
  toClient: Uint8Array[];
  toClientBytes: number;
  /** The first bytes from the client, kept until a whole first frame names the source. */
  firstBytes: Uint8Array;
  client: Socket<ConnectionRef>;
  upstream: Socket<ConnectionRef> | null;
  closed: boolean;
}

interface ConnectionRef {
  connection: Connection;
  side: Side;
}

export interface FaultNetworkOptions {
  /** Stalled bytes one connection may hold before it is closed (default 64 MiB). */
  heldBytesMax?: number;
}

/** Directed cuts between node ids, and the proxies that apply them. */
export class FaultNetwork {
  private readonly blocked = new Set<string>();
  private readonly proxies = new Map<number, NodeProxy>();
  readonly heldBytesMax: number;

  constructor(options: FaultNetworkOptions = {}) {
    this.heldBytesMax = options.heldBytesMax ?? heldBytesMaxDefault;
  }

  /** Start the proxy in front of `node`; its port is known at once, its target may come later. */
  proxyFor(node: number, target?: { host: string; port: number }): NodeProxy {
    assert(!this.proxies.has(node), `a proxy for node ${node} exists`);
    const proxy = new NodeProxy(this, node, target);
    this.proxies.set(node, proxy);
    return proxy;
  }

  proxy(node: number): NodeProxy {
    const proxy = this.proxies.get(node);
    assert(proxy !== undefined, `no proxy for node ${node}`);
    return proxy;
  }

  isBlocked(from: number, to: number): boolean {
    return this.blocked.has(`${from}>${to}`);
  }

  /** Stall bytes from `from` to `to` (one way). */
  block(from: number, to: number): void {
    assert(from !== to, "a node cannot be cut from itself");
    this.blocked.add(`${from}>${to}`);
  }

  unblock(from: number, to: number): void {
    this.blocked.delete(`${from}>${to}`);
    this.pumpAll();
  }

  /** Cut both directions between the two sides (each a list of node ids). */
  partition(sideA: readonly number[], sideB: readonly number[]): void {
    for (const a of sideA) for (const b of sideB) {
      this.block(a, b);
      this.block(b, a);
    }
  }

  /** Cut `node` from every other known node, both ways. */
  isolate(node: number): void {
    const others = [...this.proxies.keys()].filter((other) => other !== node);
    this.partition([node], others);
  }

  /**
   * Every node sees a majority, but no two adjacent majorities agree (Jepsen's majorities ring):
   * with nodes in a ring, each node reaches only itself and its neighbours. Needs 5 nodes to bite.
   */
  majoritiesRing(nodes: readonly number[]): void {
    const count = nodes.length;
    for (let index = 0; index < count; index++) {
      for (let other = 0; other < count; other++) {
        const distance = Math.min((index - other + count) % count, (other - index + count) % count);
        if (distance > 1) this.block(nodes[index]!, nodes[other]!);
      }
    }
  }

  /** Lift every cut; held bytes flow again. */
  heal(): void {
    this.blocked.clear();
    this.pumpAll();
  }

  /** Close every connection between the two nodes now (both directions), as a reset would. */
  sever(a: number, b: number): void {
    this.proxies.get(a)?.closeFrom(b);
    this.proxies.get(b)?.closeFrom(a);
  }

  private pumpAll(): void {
    for (const proxy of this.proxies.values()) proxy.pumpAll();
  }

  async close(): Promise<void> {
    for (const proxy of this.proxies.values()) proxy.close();
    this.proxies.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The proxy in front of one node's inter-broker listener. */
export class NodeProxy {
  private readonly listener: TCPSocketListener<ConnectionRef>;
  private readonly connections = new Set<Connection>();
  private target: { host: string; port: number } | undefined;

  constructor(
    private readonly network: FaultNetwork,
    readonly node: number,
    target?: { host: string; port: number },
  ) {
    this.target = target;
    this.listener = Bun.listen<ConnectionRef>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open: (socket) => this.onOpen(socket),
        data: (socket, bytes) => this.onData(socket.data.connection, "client", bytes),
        drain: (socket) => this.pump(socket.data.connection),
        close: (socket) => this.closeConnection(socket.data.connection),
        error: (socket) => this.closeConnection(socket.data.connection),
      },
    });
  }

  get port(): number {
    return this.listener.port;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Open connections through this proxy (for tests of the proxy). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Bytes held (stalled or not yet taken by a socket) across this proxy's connections. */
  get heldBytes(): number {
    let held = 0;
    for (const connection of this.connections) held += connection.toNodeBytes + connection.toClientBytes;
    return held;
  }

  setTarget(target: { host: string; port: number }): void {
    assert(target.port > 0, "target port must be known");
    this.target = target;
  }

  private onOpen(socket: Socket<ConnectionRef>): void {
    const connection: Connection = {
      source: undefined,
      toNode: [],
      toNodeBytes: 0,
      toClient: [],
      toClientBytes: 0,
      firstBytes: new Uint8Array(0),
      client: socket,
      upstream: null,
      closed: false,
    };
    socket.data = { connection, side: "client" };
    this.connections.add(connection);
    const target = this.target;
    if (!target) {
      socket.end(); // nothing to forward to yet: refuse rather than hold a half-open connection
      return;
    }
    Bun.connect<ConnectionRef>({
      hostname: target.host,
      port: target.port,
      data: { connection, side: "upstream" },
      socket: {
        open: (upstream) => {
          if (connection.closed) {
            upstream.end();
            return;
          }
          connection.upstream = upstream;
          this.pump(connection);
        },
        data: (_upstream, bytes) => this.onData(connection, "upstream", bytes),
        drain: () => this.pump(connection),
        close: () => this.closeConnection(connection),
        error: () => this.closeConnection(connection),
      },
    }).catch(() => this.closeConnection(connection));
  }

  private onData(connection: Connection, from: Side, bytes: Uint8Array): void {
    if (connection.closed) return;
    // Copy: Bun reuses the buffer it hands to this callback.
    const copy = new Uint8Array(bytes);
    if (from === "client") {
      if (connection.source === undefined) this.identify(connection, copy);
      connection.toNode.push(copy);
      connection.toNodeBytes += copy.length;
    } else {
      connection.toClient.push(copy);
      connection.toClientBytes += copy.length;
    }
    if (connection.toNodeBytes + connection.toClientBytes > this.network.heldBytesMax) {
      this.closeConnection(connection); // a TCP retransmission timeout, in effect
      return;
    }
    this.pump(connection);
  }

  /** Learn the connecting node from the client id of the first request. */
  private identify(connection: Connection, bytes: Uint8Array): void {
    const joined = new Uint8Array(connection.firstBytes.length + bytes.length);
    joined.set(connection.firstBytes, 0);
    joined.set(bytes, connection.firstBytes.length);
    connection.firstBytes = joined;
    // size(4) api key(2) version(2) correlation id(4) client id length(2), then the client id.
    const fixedBytes = frameHeaderBytes + 10;
    if (joined.length < fixedBytes) return;
    const view = new DataView(joined.buffer, joined.byteOffset, joined.byteLength);
    const clientIdLength = Math.max(0, view.getInt16(fixedBytes - 2));
    if (joined.length < fixedBytes + clientIdLength) return;
    const header = peekRequestHeader(joined.subarray(frameHeaderBytes));
    const match = header?.clientId ? nodeClientIdPattern.exec(header.clientId) : null;
    connection.source = match ? Number(match[1]) : null;
    connection.firstBytes = new Uint8Array(0);
  }

  /** Forward what the rules let through, in order, as far as each socket takes it. */
  private pump(connection: Connection): void {
    if (connection.closed) return;
    const source = connection.source;
    const upstream = connection.upstream;
    const toNodeOpen = source !== undefined && (source === null || !this.network.isBlocked(source, this.node));
    const toClientOpen = source !== undefined && (source === null || !this.network.isBlocked(this.node, source));
    if (toNodeOpen && upstream) connection.toNodeBytes -= flushQueue(connection.toNode, upstream);
    if (toClientOpen) connection.toClientBytes -= flushQueue(connection.toClient, connection.client);
    assert(connection.toNodeBytes >= 0 && connection.toClientBytes >= 0, "held byte counts stay non-negative");
  }

  pumpAll(): void {
    for (const connection of this.connections) this.pump(connection);
  }

  /** Close every connection that came from node `source`. */
  closeFrom(source: number): void {
    for (const connection of [...this.connections]) {
      if (connection.source === source) this.closeConnection(connection);
    }
  }

  private closeConnection(connection: Connection): void {
    if (connection.closed) return;
    connection.closed = true;
    this.connections.delete(connection);
    connection.client.end();
    connection.upstream?.end();
  }

  close(): void {
    this.listener.stop(true);
    for (const connection of [...this.connections]) this.closeConnection(connection);
  }
}

/** Write queued chunks while the socket takes them; returns the bytes written. */
function flushQueue(queue: Uint8Array[], socket: Socket<ConnectionRef>): number {
  let written = 0;
  while (queue.length > 0) {
    const chunk = queue[0]!;
    const taken = socket.write(chunk, 0, chunk.length);
    if (taken <= 0) break;
    written += taken;
    if (taken < chunk.length) {
      queue[0] = chunk.subarray(taken);
      break;
    }
    queue.shift();
  }
  return written;
}
