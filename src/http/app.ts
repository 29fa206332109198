// The HTTP API's Hono application: every route group registered through one Router (routing.ts),
// which also answers 404/405, labels the metrics and feeds the OpenAPI description. Routes reach
// the broker only through the HttpBackend (backend.ts).
//
//   /healthz /readyz /health /metrics          operations (routes/health.ts)
//   /openapi.json                              this API described (openapi.ts)
//   /v3/clusters…                              cluster, brokers, topics, configs, records, groups
//   /consumers/{group}…                        REST Proxy v2 consumer instances
//   /, /ui…                                    the web console (console/routes.ts; http.console.enable)

import { Hono } from "hono";
import type { BrokerConfig } from "../config/index.ts";
import type { Logger } from "../util/logger.ts";
import type { BrokerMetrics } from "../util/metrics.ts";
import type { HttpAuth } from "./auth.ts";
import type { HttpBackend } from "./backend.ts";
import { ConsumerInstances } from "./consumer-instances.ts";
import { LiveStreams } from "./live-stream.ts";
import { openApiDocument } from "./openapi.ts";
import { KeylessPartitioner } from "./partitioner.ts";
import { ProduceCoalescer } from "./produce-coalescer.ts";
import { registerConsoleRoutes } from "./console/routes.ts";
import { registerClusterRoutes } from "./routes/cluster.ts";
import { registerConsumerRoutes } from "./routes/consumers.ts";
import { registerGroupOffsetRoutes } from "./routes/group-offsets.ts";
import { registerGroupRoutes } from "./routes/groups.ts";
import { registerHealthRoutes } from "./routes/health.ts";
import { registerProduceRoutes } from "./routes/produce.ts";
import { registerReadRoutes } from "./routes/read.ts";
import { registerTopicRoutes } from "./routes/topics.ts";
import { documentResponse, Router, type HttpDeps } from "./routing.ts";

/** How long shutdown waits for requests in flight (aborted long polls answer at once). */
const shutdownGraceMs = 2000;

export interface HttpAppOptions {
  backend: HttpBackend;
  config: BrokerConfig;
  metrics: BrokerMetrics;
  clusterId: string;
  nodeId: number;
  log: Logger;
  auth?: HttpAuth;
}

export interface HttpApp {
  app: Hono;
  deps: HttpDeps;
  router: Router;
  /** Requests being answered now (streams included). */
  inFlight(): number;
  /** End long polls and streams, close consumer instances (they leave their groups). */
  close(): Promise<void>;
}

export function createHttpApp(options: HttpAppOptions): HttpApp {
  const app = new Hono();
  const shutdown = new AbortController();
  const config = options.config;
  const deps: HttpDeps = {
    backend: options.backend,
    config,
    metrics: options.metrics,
    clusterId: options.clusterId,
    nodeId: options.nodeId,
    consumers: new ConsumerInstances(options.backend, {
      instancesMax: config["http.consumer.instances.max"],
      idleMs: config["http.consumer.instance.timeout.ms"],
    }, options.log),
    streams: new LiveStreams(config["http.streams.max"]),
    keyless: new KeylessPartitioner(),
    coalescer: new ProduceCoalescer(options.backend, 512 * 1024),
    log: options.log,
    shutdownSignal: shutdown.signal,
    auth: options.auth,
  };
  // No middleware: with one handler per route Hono calls it directly instead of composing a chain
  // (a measurable share of a one-record produce request). The router counts requests in flight.
  const router = new Router(app, deps);
  registerHealthRoutes(router, deps, { openConnections: () => router.inFlight });
  registerClusterRoutes(router, deps);
  registerProduceRoutes(router, deps);
  registerReadRoutes(router, deps);
  registerTopicRoutes(router, deps);
  registerGroupRoutes(router, deps);
  registerGroupOffsetRoutes(router, deps);
  registerConsumerRoutes(router, deps);
  registerConsoleRoutes(router, deps);
  router.add({ method: "GET", path: "/openapi.json", tag: "Operations", summary: "This API, described in OpenAPI 3.1.", responseTypes: ["application/json"] }, () =>
    documentResponse(openApiDocument(router.specs, "0.1.0"), "json"));
  app.notFound((c) => router.unmatched(c));
  app.onError((error, c) => {
    options.log.error("http handler failed", { path: c.req.path, error: String(error) });
    return new Response(JSON.stringify({ error_code: 500, message: "Internal server error (logged by the broker)." }), { status: 500, headers: { "content-type": "application/json" } });
  });
  return {
    app,
    deps,
    router,
    inFlight: () => router.inFlight,
    async close() {
      // Long polls and streams end now and answer what they have; requests in flight get up to
      // shutdownGraceMs to finish before the server closes their connections.
      shutdown.abort();
      await deps.consumers.close();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([router.whenIdle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, shutdownGraceMs)))]);
      clearTimeout(timer);
    },
  };
}
