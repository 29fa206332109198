// The Kafka protocol listener (Bun.listen on the PLAINTEXT listener). Accepts connections up to
// max.connections, closes idle ones after connections.max.idle.ms, and on shutdown stops accepting,
// lets each connection answer the requests it already read, and closes them. Framing and backpressure live in connection.ts, request decoding in dispatcher.ts.

import type { Socket, TCPSocketListener } from "bun";
import type { Listener } from "../config/index.ts";
import type { Logger } from "../util/logger.ts";
import { Connection, connectionWriteQueueBytesMax } from "./connection.ts";
import type { BrokerContext } from "./context.ts";
import { Dispatcher } from "./dispatcher.ts";
import type { AnyHandler } from "./handler.ts";

export interface KafkaServer {
  readonly host: string;
  readonly port: number;
  /** Open connections right now. */
  readonly connectionCount: number;
  /** Stop accepting, answer the requests already read (at most shutdownDrainMs), close every connection. */
  close(): Promise<void>;
}

/** How long a shutdown waits for connections to answer what they read before closing them. */
export const shutdownDrainMs = 5000;

export function startKafkaServer(
  broker: BrokerContext,
  handlers: readonly AnyHandler[],
  bind: Listener,
  log: Logger,
): KafkaServer {
  const config = broker.config.values;
  const dispatcher = new Dispatcher(broker, handlers, log.child("dispatch"));
  const connections = new Set<Connection>();
  /** Set while close() waits for the last connection to finish. */
  let onIdle: (() => void) | null = null;
  const limits = {
    requestBytesMax: config["socket.request.max.bytes"],
    inFlightRequestsMax: config["queued.max.requests"],
    writeQueueBytesMax: connectionWriteQueueBytesMax,
  };
  const idleSeconds = Math.max(1, Math.ceil(config["connections.max.idle.ms"] / 1000));
  let nextId = 1;

  const server: TCPSocketListener<Connection> = Bun.listen<Connection>({
    hostname: bind.host === "" ? "0.0.0.0" : bind.host,
    port: bind.port,
    socket: {
      open(socket: Socket<Connection>) {
        if (connections.size >= config["max.connections"]) {
          log.warn("max.connections reached; refusing a connection", { remote: socket.remoteAddress });
          socket.end();
          return;
        }
        // Responses must leave at once: with Nagle on, a small response waiting behind the
        // client's delayed ACK adds up to 40 ms of latency (Kafka sets TCP_NODELAY too).
        socket.setNoDelay(true);
        const connection = new Connection(socket, nextId++, dispatcher.dispatch, limits, log, (closed) => {
          connections.delete(closed);
          if (connections.size === 0) onIdle?.();
        });
        socket.data = connection;
        connections.add(connection);
        socket.timeout(idleSeconds);
      },
      data(socket, data) {
        socket.data?.onData(data);
      },
      drain(socket) {
        socket.data?.onDrain();
      },
      close(socket) {
        socket.data?.onSocketClosed();
      },
      error(socket, error) {
        log.debug("socket error", { remote: socket.remoteAddress, error: String(error) });
        socket.data?.onSocketClosed();
      },
      timeout(socket) {
        socket.data?.close(`idle for connections.max.idle.ms`);
      },
    },
  });

  return {
    host: server.hostname,
    port: server.port,
    get connectionCount() {
      return connections.size;
    },
    async close() {
      // Graceful: stop accepting, let every connection answer what it already read (long polls end
      // at once), and close the stragglers after shutdownDrainMs.
      server.stop(false);
      const idle = new Promise<void>((resolve) => (onIdle = resolve));
      for (const connection of [...connections]) connection.shutdown();
      let timer: ReturnType<typeof setTimeout> | undefined;
      if (connections.size > 0) await Promise.race([idle, new Promise<void>((resolve) => (timer = setTimeout(resolve, shutdownDrainMs)))]);
      clearTimeout(timer);
      onIdle = null;
      for (const connection of [...connections]) connection.close("still busy when the broker shut down");
      connections.clear();
      server.stop(true);
    },
  };
}
