// The HTTP listener: Bun.serve around the Hono app. One port serves HTTP/1.1 and cleartext
// HTTP/2 (prior knowledge, h2c); with http.ssl.certificate.location and http.ssl.key.location it
// serves HTTPS instead, offering h2 and http/1.1 by ALPN.
//
// Limits and timeouts:
//   - development mode is off: errors never serve HTML pages with source;
//   - idleTimeout is http.idle.timeout.ms (Bun's default of 10 s would cut long polls and quiet
//     live streams; streams also send keep-alive comments every http.stream.keepalive.ms, and a
//     long poll waits at most http.long.poll.max.ms, below the idle timeout);
//   - maxRequestBodySize is the streaming produce bound (http.stream.request.max.bytes): Bun
//     refuses bodies past it with a bare 413; one-shot bodies are capped by the routes themselves
//     at http.request.max.bytes with a REST Proxy-style 413;
//   - a slow client holds only its own streams: every body is read and written through bounded
//     streams, never buffered whole.

import { readFileSync } from "node:fs";
import type { BrokerConfig, Listener } from "../config/index.ts";
import type { Logger } from "../util/logger.ts";
import type { BrokerMetrics } from "../util/metrics.ts";
import { createHttpApp } from "./app.ts";
import type { HttpAuth } from "./auth.ts";
import type { HttpBackend } from "./backend.ts";

/** Longest wait at shutdown for responses being written (a stalled stream is cut after it). */
const shutdownWriteGraceMs = 1000;

export interface HttpServer {
  host: string;
  port: number;
  /** "https" when TLS is configured. */
  scheme: "http" | "https";
  close(): Promise<void>;
}

export interface HttpServerOptions {
  backend: HttpBackend;
  config: BrokerConfig;
  metrics: BrokerMetrics;
  clusterId: string;
  nodeId: number;
  log: Logger;
  auth?: HttpAuth;
}

function tlsOf(config: BrokerConfig): { cert: string; key: string } | undefined {
  const certificate = config["http.ssl.certificate.location"];
  const key = config["http.ssl.key.location"];
  if (certificate === null && key === null) return undefined;
  if (certificate === null || key === null) {
    throw new Error("http.ssl.certificate.location and http.ssl.key.location must be set together");
  }
  return { cert: readFileSync(certificate, "utf8"), key: readFileSync(key, "utf8") };
}

export function startHttpServer(listener: Listener, options: HttpServerOptions): HttpServer {
  const http = createHttpApp(options);
  const tls = tlsOf(options.config);
  const server = Bun.serve({
    hostname: listener.host,
    port: listener.port,
    development: false,
    // Bun.serve sets SO_REUSEPORT by default: a second node given the same port started and the
    // two answered alternately. Bind exclusively, so that a taken port refuses the start.
    reusePort: false,
    http2: true,
    ...(tls ? { tls } : {}),
    idleTimeout: Math.min(255, Math.ceil(options.config["http.idle.timeout.ms"] / 1000)),
    maxRequestBodySize: options.config["http.stream.request.max.bytes"],
    fetch: http.app.fetch,
  });
  return {
    host: listener.host,
    port: server.port ?? listener.port,
    scheme: tls ? "https" : "http",
    async close() {
      // Stop accepting first, then let what is in flight answer, then close every connection.
      void server.stop(false);
      await http.close();
      // A response returned by its handler is still being written for a moment: wait (bounded)
      // until Bun has none pending, so that aborted long polls reach their clients.
      const deadline = performance.now() + shutdownWriteGraceMs;
      while (server.pendingRequests > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      await server.stop(true);
    },
  };
}
