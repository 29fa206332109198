// The HTTP API's Hono application. For now it serves only what operators need to see that a
// node is up; the produce/consume API (JSON and CBOR) comes with the HTTP issue and plugs its
// routes in here, calling the same storage and group entry points as the Kafka handlers.
//
//   GET /health   → 200 {"status":"ok","nodeId":…,"clusterId":…,"topics":N}

import { Hono } from "hono";

export interface HttpNodeInfo {
  nodeId: number;
  clusterId: string;
  topicCount(): number;
}

export function createHttpApp(info: HttpNodeInfo): Hono {
  const app = new Hono();
  app.get("/health", (c) =>
    c.json({ status: "ok", nodeId: info.nodeId, clusterId: info.clusterId, topics: info.topicCount() }),
  );
  app.notFound((c) => c.json({ error: "not found", path: c.req.path }, 404));
  return app;
}
