// Connections from this node to the other nodes of its cluster (docs/replication.md §7): one
// connection per (peer, purpose) — Kafka answers requests in order per connection, so a long-poll
// Raft Fetch must not hold a Vote or a heartbeat behind it — every one sending client id
// `runnel-node-<id>` (the fault proxy of the cluster tests tells nodes apart by it), reconnecting
// with exponential backoff (`reconnect.backoff.ms` doubling up to `reconnect.backoff.max.ms`) and
// bounded in flight per connection (a request past the bound waits for a slot).
//
//   peers.request(2, "raft", VoteApi, body, { version: 2 })   // connects on first use
//   peers.onClosed((peer, purpose) => …)                      // a connection to a peer closed
//
// A request fails (rejects) when the connection cannot be made (then no new attempt before the
// backoff has passed), times out, or closes; callers retry on their own schedule.

import type { Api } from "../protocol/api.ts";
import type { Init } from "../protocol/primitives.ts";
import { ApiVersionsApi } from "../protocol/generated/api-versions.ts";
import { KafkaConnection } from "./connection.ts";
import { ConnectionError, RequestTimeoutError } from "./errors.ts";
import type { ClientSecurity } from "./security.ts";

export interface PeerAddress {
  host: string;
  port: number;
}

export interface PeerConnectionsOptions {
  nodeId: number;
  /** Address of each peer's internal (CONTROLLER) listener. */
  addresses: ReadonlyMap<number, PeerAddress> | ((peer: number) => PeerAddress | undefined);
  reconnectBackoffMs: number;
  reconnectBackoffMaxMs: number;
  requestTimeoutMs: number;
  /** Requests in flight per connection before more wait (default 64). */
  inFlightMax?: number;
  connectTimeoutMs?: number;
  /** TLS and SASL of the peers' internal listeners (security/inter-broker.ts); default PLAINTEXT. */
  security?: ClientSecurity;
}

interface Slot {
  connection: KafkaConnection | null;
  connecting: Promise<KafkaConnection> | null;
  failures: number;
  retryAtMs: number;
  waiters: (() => void)[];
}

/**
 * What one reachability probe of a peer found: it answered; its listener is gone (the connection was
 * refused, reset or closed unanswered — on loopback, a dead process); or no answer in time (a stopped
 * process or a stalled network: nothing can be concluded).
 */
export type ProbeOutcome = "answered" | "gone" | "no answer";

export function nodeClientId(nodeId: number): string {
  return `runnel-node-${nodeId}`;
}

export class PeerConnections {
  private readonly slots = new Map<string, Slot>();
  private readonly closedListeners: ((peer: number, purpose: string) => void)[] = [];
  private closed = false;
  readonly clientId: string;

  constructor(private readonly options: PeerConnectionsOptions) {
    this.clientId = nodeClientId(options.nodeId);
  }

  /** The TLS and SASL these connections use (replica fetchers connect the same way). */
  get security(): ClientSecurity | undefined {
    return this.options.security;
  }

  onClosed(listener: (peer: number, purpose: string) => void): void {
    this.closedListeners.push(listener);
  }

  private address(peer: number): PeerAddress | undefined {
    const addresses = this.options.addresses;
    return typeof addresses === "function" ? addresses(peer) : addresses.get(peer);
  }

  async request<Request, Response>(peer: number, purpose: string, api: Api<Request, Response>, body: Init<Request>, options: { version: number; timeoutMs?: number; clientId?: string }): Promise<Response> {
    const slot = this.slot(peer, purpose);
    const connection = await this.connection(peer, purpose, slot);
    const inFlightMax = this.options.inFlightMax ?? 64;
    while (connection.inFlight >= inFlightMax && !connection.isClosed) await new Promise<void>((resolve) => slot.waiters.push(resolve));
    try {
      return await connection.request(api, body, { version: options.version, timeoutMs: options.timeoutMs ?? this.options.requestTimeoutMs, clientId: options.clientId });
    } finally {
      slot.waiters.shift()?.();
    }
  }

  /** Resolves once the connection for (peer, purpose) is open (opening it if needed); rejects as request would. */
  async connected(peer: number, purpose: string): Promise<void> {
    await this.connection(peer, purpose, this.slot(peer, purpose));
  }

  /**
   * Probe `peer` once on a fresh connection (no backoff, no pooled connection): an ApiVersions
   * request, bounded by `timeoutMs` for the connect and for the answer each.
   */
  async probe(peer: number, timeoutMs: number): Promise<ProbeOutcome> {
    const address = this.address(peer);
    if (!address || this.closed) return "no answer";
    let connection: KafkaConnection | null = null;
    try {
      connection = await KafkaConnection.connect({
        host: address.host, port: address.port, clientId: this.clientId, negotiateVersions: false, connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs,
        ...(this.options.security?.tls ? { security: { tls: this.options.security.tls } } : {}),
      });
      await connection.request(ApiVersionsApi, { clientSoftwareName: "runnel-probe", clientSoftwareVersion: "0" }, { version: 0, timeoutMs });
      return "answered";
    } catch (error) {
      if (error instanceof RequestTimeoutError) return "no answer";
      return error instanceof ConnectionError ? "gone" : "answered";
    } finally {
      connection?.close();
    }
  }

  private slot(peer: number, purpose: string): Slot {
    const key = `${peer}/${purpose}`;
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { connection: null, connecting: null, failures: 0, retryAtMs: 0, waiters: [] };
      this.slots.set(key, slot);
    }
    return slot;
  }

  private connection(peer: number, purpose: string, slot: Slot): Promise<KafkaConnection> {
    if (this.closed) return Promise.reject(new ConnectionError("peer connections are closed"));
    if (slot.connection && !slot.connection.isClosed) return Promise.resolve(slot.connection);
    if (slot.connecting) return slot.connecting;
    const address = this.address(peer);
    if (!address) return Promise.reject(new ConnectionError(`node ${peer} has no known address`));
    if (Date.now() < slot.retryAtMs) return Promise.reject(new ConnectionError(`node ${peer} (${address.host}:${address.port}) unreachable; retrying after the backoff`));
    slot.connecting = KafkaConnection.connect({
      host: address.host, port: address.port, clientId: this.clientId, negotiateVersions: false,
      connectTimeoutMs: this.options.connectTimeoutMs ?? this.options.requestTimeoutMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
      ...(this.options.security ? { security: this.options.security } : {}),
    }).then(
      (connection) => {
        slot.connecting = null;
        if (this.closed) {
          connection.close();
          throw new ConnectionError("peer connections are closed");
        }
        slot.connection = connection;
        slot.failures = 0;
        connection.onClose(() => {
          if (slot.connection === connection) slot.connection = null;
          for (const waiter of slot.waiters.splice(0)) waiter();
          this.backOff(slot);
          if (!this.closed) for (const listener of this.closedListeners) listener(peer, purpose);
        });
        return connection;
      },
      (error: unknown) => {
        slot.connecting = null;
        this.backOff(slot);
        throw error;
      },
    );
    return slot.connecting;
  }

  private backOff(slot: Slot): void {
    const { reconnectBackoffMs, reconnectBackoffMaxMs } = this.options;
    const wait = Math.min(reconnectBackoffMaxMs, reconnectBackoffMs * 2 ** Math.min(slot.failures, 20));
    slot.failures++;
    // Kafka's jitter (±20%) keeps nodes that lost a peer together from reconnecting in step.
    slot.retryAtMs = Date.now() + wait * (0.8 + 0.4 * Math.random());
  }

  /** Close the connections to `peer` (all purposes, or one). */
  disconnect(peer: number, purpose?: string): void {
    for (const [key, slot] of this.slots) {
      const [id, slotPurpose] = key.split("/");
      if (Number(id) !== peer || (purpose !== undefined && slotPurpose !== purpose)) continue;
      slot.connection?.close();
    }
  }

  close(): void {
    this.closed = true;
    for (const slot of this.slots.values()) {
      slot.connection?.close();
      for (const waiter of slot.waiters.splice(0)) waiter();
    }
    this.slots.clear();
  }
}
