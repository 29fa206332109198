// The HTTP listener: Bun.serve (HTTP/1.1 and cleartext HTTP/2 on one port) around the Hono app.
// Development mode is off so that errors never serve source code.

import type { Listener } from "../config/index.ts";
import { createHttpApp, type HttpNodeInfo } from "./app.ts";

export interface HttpServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

export function startHttpServer(listener: Listener, info: HttpNodeInfo): HttpServer {
  const app = createHttpApp(info);
  const server = Bun.serve({
    hostname: listener.host,
    port: listener.port,
    development: false,
    // Bun.serve sets SO_REUSEPORT by default: a second node given the same port started and the
    // two answered alternately. Bind exclusively, so that a taken port refuses the start.
    reusePort: false,
    http2: true,
    fetch: app.fetch,
  });
  return {
    host: listener.host,
    port: server.port ?? listener.port,
    async close() {
      await server.stop(true);
    },
  };
}
