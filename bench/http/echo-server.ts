// The HTTP floor for the `http` bench scenario: a plain Hono "echo 200" route on Bun.serve with
// the broker's own settings (HTTP/1.1 + h2c on one port, development off). It reads the request
// body and answers a small JSON document, doing nothing else: what the HTTP stack alone costs.

import { Hono } from "hono";

const app = new Hono();
app.post("/echo", async (c) => {
  const body = await c.req.arrayBuffer();
  return c.json({ error_code: 200, size: body.byteLength });
});
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, http2: true, development: false, idleTimeout: 120, fetch: app.fetch });
console.log(`echo listening on 127.0.0.1:${server.port}`);
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
