// One Kafka protocol listener (Bun.listen; one per Kafka entry of `listeners`: PLAINTEXT, SSL,
// SASL_PLAINTEXT, SASL_SSL — TLS options from tls.ts, the session of each connection from
// session.ts; a TLS listener takes the client certificate's principal at the handshake when
// ssl.client.auth asks for one, and reloads its certificates on reloadTls()). Closes idle connections
// after connections.max.idle.ms, and on shutdown stops accepting, lets each connection answer the
// requests it already read, and closes them. Framing and backpressure live in connection.ts,
// request decoding in dispatcher.ts, the connection limits in connection-limits.ts.
//
// File descriptors: a connection over its limits is closed as soon as it is accepted, and the
// connection limit is at most the node's descriptor share for connections (util/descriptor-budget),
// so accepting never fails for want of a descriptor. Should descriptors run out anyway (something
// else took them), Bun's accept would fail with EMFILE and spin at 100% CPU without telling us; a
// watchdog counts the process's descriptors while they are scarce and stops accepting (the port is
// closed, existing connections are served) until enough are free again, logging each change once.

import type { Socket, TCPSocketListener } from "bun";
import { readdirSync } from "node:fs";
import type { KafkaListener, Listener } from "../config/index.ts";
import { parseConnectionOverrides } from "../config/index.ts";
import type { Logger } from "../util/logger.ts";
import { Connection, connectionWriteQueueBytesMax } from "./connection.ts";
import { ConnectionLimiter } from "./connection-limits.ts";
import { FramePool } from "./frame-pool.ts";
import type { BrokerContext } from "./context.ts";
import { Dispatcher } from "./dispatcher.ts";
import type { AnyHandler } from "./handler.ts";
import { RequestMemoryPool } from "./request-memory.ts";
import { Session } from "./session.ts";
import { LogLimiter } from "../util/log-limiter.ts";
import type { ListenerTls } from "../security/tls.ts";

export interface KafkaServer {
  readonly host: string;
  readonly port: number;
  /** Open connections right now. */
  readonly connectionCount: number;
  /** Whether the listening socket is open (false while backing off for want of descriptors). */
  readonly accepting: boolean;
  /** What the limits see right now (tests, and an operator's view through the HTTP API later). */
  stats(): ListenerStats;
  readonly listenerName: string;
  /**
   * Read the certificates again and accept new connections with them (connections open now keep
   * theirs). Throws, keeping the old ones, when the new files cannot be used.
   */
  reloadTls(): void;
  /** Stop accepting, answer the requests already read (at most shutdownDrainMs), close every connection. */
  close(): Promise<void>;
}

/** How long a shutdown waits for connections to answer what they read before closing them. */
export const shutdownDrainMs = 5000;

export interface ListenerStats {
  connections: number;
  /** Connections whose reads are paused by a limit. */
  pausedConnections: number;
  /** Connections waiting for queued.max.request.bytes to start a request. */
  connectionsWaitingForMemory: number;
  /** Bytes of requests being received or handled (queued.max.request.bytes counts them). */
  queuedRequestBytes: number;
  /** Requests dispatched and not yet answered, over all connections. */
  requestsInFlight: number;
  /** Responses ready but held behind an unanswered earlier request of the same connection. */
  heldResponses: number;
  /** The most requests one connection ever had in flight (queued.max.requests bounds it). */
  requestsInFlightHighWater: number;
}

export interface KafkaServerOptions {
  /** The node's descriptor share for connections (default: no limit beyond max.connections). */
  connectionsMax?: number;
  /** The soft RLIMIT_NOFILE, for the descriptor watchdog (default: no watchdog). */
  descriptorLimit?: number;
  /** Descriptors kept free; the watchdog stops accepting below a quarter of it (default 32). */
  descriptorReserve?: number;
  /** TLS of an SSL or SASL_SSL listener (tls.ts). */
  tls?: ListenerTls;
}

const watchdogIntervalMs = 1000;

export function startKafkaServer(
  broker: BrokerContext,
  handlers: readonly AnyHandler[],
  bind: Listener & Partial<Pick<KafkaListener, "securityProtocol">>,
  log: Logger,
  options: KafkaServerOptions = {},
): KafkaServer {
  const config = broker.config.values;
  const securityProtocol = bind.securityProtocol ?? "PLAINTEXT";
  const refusedTlsLog = new LogLimiter(20);
  const dispatcher = new Dispatcher(broker, handlers, log.child("dispatch"));
  const connections = new Set<Connection>();
  /** Set while close() waits for the last connection to finish. */
  let onIdle: (() => void) | null = null;
  const limits = {
    requestBytesMax: config["socket.request.max.bytes"],
    inFlightRequestsMax: config["queued.max.requests"],
    writeQueueBytesMax: connectionWriteQueueBytesMax,
    requestMemory: new RequestMemoryPool(config["queued.max.request.bytes"]),
    // Up to 32 MiB of free buffers for large Produce frames (frame-pool.ts).
    framePool: new FramePool(32 * 1024 * 1024),
  };
  const limiter = new ConnectionLimiter({
    connectionsMax: Math.min(config["max.connections"], options.connectionsMax ?? Number.MAX_SAFE_INTEGER),
    perIpMax: config["max.connections.per.ip"],
    perIpOverrides: parseConnectionOverrides(config["max.connections.per.ip.overrides"]),
    log,
  });
  const idleSeconds = Math.max(1, Math.ceil(config["connections.max.idle.ms"] / 1000));
  let nextId = 1;
  let inFlightHighWater = 0;
  const hostname = bind.host === "" ? "0.0.0.0" : bind.host;

  const handlersOfSocket = {
    open(socket: Socket<Connection>) {
      const remote = socket.remoteAddress;
      if (!limiter.admit(remote)) {
        socket.end();
        return;
      }
      // Responses must leave at once: with Nagle on, a small response waiting behind the
      // client's delayed ACK adds up to 40 ms of latency (Kafka sets TCP_NODELAY too).
      socket.setNoDelay(true);
      const connection = new Connection(socket, nextId++, dispatcher.dispatch, limits, log, (closed) => {
        inFlightHighWater = Math.max(inFlightHighWater, closed.requestsInFlightHighWater);
        if (connections.delete(closed)) limiter.release(remote);
        if (connections.size === 0) onIdle?.();
      });
      connection.session = new Session(bind.name, securityProtocol, remote, (reason) => connection.closeWhenAnswered(reason), (ms) => connection.mute(ms));
      socket.data = connection;
      connections.add(connection);
      socket.timeout(idleSeconds);
    },
    handshake(socket: Socket<Connection>, success: boolean, authorizationError: Error | null) {
      const connection = socket.data;
      if (!connection || !options.tls) return;
      const verdict = options.tls.clientVerdict(socket, success, authorizationError);
      if (verdict.kind === "refuse") {
        const leftOut = refusedTlsLog.admit();
        if (leftOut !== null) log.warn("refused a TLS client", { listener: bind.name, remote: socket.remoteAddress, reason: verdict.reason, ...(leftOut > 0 ? { notLogged: leftOut } : {}) });
        connection.close(verdict.reason);
        return;
      }
      if (verdict.principal !== null && securityProtocol === "SSL") connection.session.principal = verdict.principal;
    },
    data(socket: Socket<Connection>, data: Buffer) {
      socket.data?.onData(data);
    },
    drain(socket: Socket<Connection>) {
      socket.data?.onDrain();
    },
    close(socket: Socket<Connection>) {
      socket.data?.onSocketClosed();
    },
    error(socket: Socket<Connection>, error: Error) {
      log.debug("socket error", { remote: socket.remoteAddress, error: String(error) });
      socket.data?.onSocketClosed();
    },
    timeout(socket: Socket<Connection>) {
      socket.data?.close(`idle for connections.max.idle.ms`);
    },
  };
  let tlsOptions = options.tls?.bunOptions();
  const listen = (port: number): TCPSocketListener<Connection> =>
    Bun.listen<Connection>({ hostname, port, socket: handlersOfSocket, ...(tlsOptions ? { tls: tlsOptions } : {}) });

  let server: TCPSocketListener<Connection> | null = listen(bind.port);
  const port = server.port;
  const watchdog = options.descriptorLimit === undefined ? null : startDescriptorWatchdog({
    limit: options.descriptorLimit,
    reserve: options.descriptorReserve ?? 32,
    log,
    stopAccepting() {
      server?.stop(false); // existing connections stay
      server = null;
    },
    resumeAccepting() {
      server = listen(port);
    },
  });

  return {
    host: server.hostname,
    port,
    listenerName: bind.name,
    reloadTls() {
      if (!options.tls) return;
      const next = options.tls.reload();
      // Bun cannot swap a listening socket's certificate: listen again on the same port with the
      // new one. Open connections keep the old; a connection arriving in between (microseconds)
      // is refused and retried by the client.
      if (server === null) {
        tlsOptions = next;
        return;
      }
      server.stop(false);
      const previous = tlsOptions;
      tlsOptions = next;
      try {
        server = listen(port);
      } catch (error) {
        tlsOptions = previous;
        server = listen(port);
        throw error;
      }
    },
    get connectionCount() {
      return connections.size;
    },
    get accepting() {
      return server !== null;
    },
    stats() {
      const stats: ListenerStats = {
        connections: connections.size,
        pausedConnections: 0,
        connectionsWaitingForMemory: 0,
        queuedRequestBytes: limits.requestMemory.used,
        requestsInFlight: 0,
        heldResponses: 0,
        requestsInFlightHighWater: inFlightHighWater,
      };
      for (const connection of connections) {
        if (connection.isPaused) stats.pausedConnections++;
        if (connection.waitingForMemory) stats.connectionsWaitingForMemory++;
        stats.requestsInFlight += connection.requestsInFlight;
        stats.heldResponses += connection.heldResponses;
        stats.requestsInFlightHighWater = Math.max(stats.requestsInFlightHighWater, connection.requestsInFlightHighWater);
      }
      return stats;
    },
    async close() {
      // Graceful: stop accepting, let every connection answer what it already read (long polls end
      // at once), and close the stragglers after shutdownDrainMs.
      watchdog?.stop();
      const listening = server;
      server = null;
      listening?.stop(false);
      const idle = new Promise<void>((resolve) => (onIdle = resolve));
      for (const connection of [...connections]) connection.shutdown();
      let timer: ReturnType<typeof setTimeout> | undefined;
      if (connections.size > 0) await Promise.race([idle, new Promise<void>((resolve) => (timer = setTimeout(resolve, shutdownDrainMs)))]);
      clearTimeout(timer);
      onIdle = null;
      for (const connection of [...connections]) connection.close("still busy when the broker shut down");
      connections.clear();
      listening?.stop(true);
    },
  };
}

interface WatchdogOptions {
  limit: number;
  reserve: number;
  log: Logger;
  stopAccepting(): void;
  resumeAccepting(): void;
}

/** Open descriptors of this process (Linux: /proc/self/fd), or null where that cannot be read. */
function openDescriptors(): number | null {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return null;
  }
}

/**
 * Stop accepting when fewer than reserve/4 descriptors are free, accept again once reserve/2 are
 * (hysteresis, so that it does not flap). Counting reads /proc/self/fd (O(descriptors)), so it runs
 * every second while the process holds half of its limit or more, every ten seconds otherwise.
 */
function startDescriptorWatchdog(options: WatchdogOptions): { stop(): void } {
  let stopped = false;
  let ticks = 0;
  let lastCount = 0;
  const check = () => {
    ticks += 1;
    const scarce = stopped || lastCount * 2 >= options.limit;
    if (!scarce && ticks % 10 !== 0) return;
    const count = openDescriptors();
    if (count === null) return;
    lastCount = count;
    const free = options.limit - count;
    if (!stopped && free < options.reserve / 4) {
      stopped = true;
      options.stopAccepting();
      options.log.error("out of file descriptors: not accepting connections until some are free (raise ulimit -n?)", { open: count, limit: options.limit });
    } else if (stopped && free >= options.reserve / 2) {
      try {
        options.resumeAccepting();
        stopped = false;
        options.log.warn("file descriptors available again: accepting connections", { open: count, limit: options.limit });
      } catch (error) {
        options.log.debug("cannot listen again yet", { error: String(error) });
      }
    }
  };
  const timer = setInterval(check, watchdogIntervalMs);
  timer.unref?.();
  return { stop: () => clearInterval(timer) };
}
