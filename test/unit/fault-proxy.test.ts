// The fault-injecting proxy used by the cluster tests (src/testing/fault-proxy.ts): a cut stalls
// bytes of the named direction only and releases them in order on heal; connections of clients
// that name no node pass; sever closes; too many held bytes close the connection.

import { afterEach, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { FaultNetwork } from "../../src/testing/fault-proxy.ts";

/** A Kafka-like request frame: size, api key, version, correlation id, client id, body. */
function frame(clientId: string, body: string): Uint8Array {
  const id = new TextEncoder().encode(clientId);
  const payload = new TextEncoder().encode(body);
  const bytes = new Uint8Array(4 + 10 + id.length + payload.length);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, bytes.length - 4);
  view.setInt16(4, 1); // api key
  view.setInt16(6, 4); // version
  view.setInt32(8, 7); // correlation id
  view.setInt16(12, id.length);
  bytes.set(id, 14);
  bytes.set(payload, 14 + id.length);
  return bytes;
}

/** A target that echoes every byte back and counts what it received. */
function echoServer(): { listener: TCPSocketListener<undefined>; received: () => number } {
  let received = 0;
  const listener = Bun.listen<undefined>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket, bytes) {
        received += bytes.length;
        socket.write(new Uint8Array(bytes));
      },
    },
  });
  return { listener, received: () => received };
}

interface TestClient {
  socket: Socket<undefined>;
  received: () => number;
  closed: () => boolean;
}

async function connect(port: number): Promise<TestClient> {
  let received = 0;
  let closed = false;
  const socket = await Bun.connect<undefined>({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_socket, bytes) {
        received += bytes.length;
      },
      close() {
        closed = true;
      },
    },
  });
  return { socket, received: () => received, closed: () => closed };
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("fault proxy", () => {
  test("passes bytes both ways when nothing is cut", async () => {
    const echo = echoServer();
    const network = new FaultNetwork();
    cleanups.push(() => echo.listener.stop(true), () => network.close());
    const proxy = network.proxyFor(2, { host: "127.0.0.1", port: echo.listener.port });
    const client = await connect(proxy.port);
    cleanups.push(() => { client.socket.end(); });
    const request = frame("runnel-node-1", "hello");
    client.socket.write(request);
    await until(() => client.received() === request.length, "the echo");
    expect(echo.received()).toBe(request.length);
  });

  test("a cut 1→2 stalls requests of node 1 (not dropped) and heal releases them in order", async () => {
    const echo = echoServer();
    const network = new FaultNetwork();
    cleanups.push(() => echo.listener.stop(true), () => network.close());
    const proxy = network.proxyFor(2, { host: "127.0.0.1", port: echo.listener.port });
    network.block(1, 2);
    const client = await connect(proxy.port);
    cleanups.push(() => { client.socket.end(); });
    const first = frame("runnel-node-1", "one");
    const second = frame("runnel-node-1", "two");
    client.socket.write(first);
    client.socket.write(second);
    await until(() => proxy.heldBytes === first.length + second.length, "both frames held");
    expect(echo.received()).toBe(0);
    network.heal();
    await until(() => client.received() === first.length + second.length, "the echo after heal");
    expect(echo.received()).toBe(first.length + second.length);
    expect(proxy.heldBytes).toBe(0);
  });

  test("a one-way cut 2→1 lets requests through but holds the answers", async () => {
    const echo = echoServer();
    const network = new FaultNetwork();
    cleanups.push(() => echo.listener.stop(true), () => network.close());
    const proxy = network.proxyFor(2, { host: "127.0.0.1", port: echo.listener.port });
    network.block(2, 1);
    const client = await connect(proxy.port);
    cleanups.push(() => { client.socket.end(); });
    const request = frame("runnel-node-1", "ping");
    client.socket.write(request);
    await until(() => echo.received() === request.length && proxy.heldBytes === request.length, "request delivered, answer held");
    expect(client.received()).toBe(0);
    network.unblock(2, 1);
    await until(() => client.received() === request.length, "the answer after unblock");
  });

  test("clients that name no node are never cut", async () => {
    const echo = echoServer();
    const network = new FaultNetwork();
    cleanups.push(() => echo.listener.stop(true), () => network.close());
    const proxy = network.proxyFor(2, { host: "127.0.0.1", port: echo.listener.port });
    network.isolate(2);
    network.block(1, 2);
    const client = await connect(proxy.port);
    cleanups.push(() => { client.socket.end(); });
    const request = frame("kcat", "data");
    client.socket.write(request);
    await until(() => client.received() === request.length, "the echo");
  });

  test("sever closes the connections of a pair; too many held bytes close a connection", async () => {
    const echo = echoServer();
    const network = new FaultNetwork({ heldBytesMax: 1024 });
    cleanups.push(() => echo.listener.stop(true), () => network.close());
    const proxy = network.proxyFor(2, { host: "127.0.0.1", port: echo.listener.port });
    const severed = await connect(proxy.port);
    severed.socket.write(frame("runnel-node-3", "x"));
    await until(() => severed.received() > 0, "the first echo");
    network.sever(2, 3);
    await until(() => severed.closed(), "the severed connection to close");

    network.block(1, 2);
    const flooding = await connect(proxy.port);
    flooding.socket.write(frame("runnel-node-1", "y".repeat(2000)));
    await until(() => flooding.closed(), "the over-full connection to close");
    expect(echo.received()).toBe(frame("runnel-node-3", "x").length);
  });

  test("majoritiesRing on five nodes cuts exactly the non-neighbours", () => {
    const network = new FaultNetwork();
    network.majoritiesRing([1, 2, 3, 4, 5]);
    expect(network.isBlocked(1, 2)).toBe(false);
    expect(network.isBlocked(1, 5)).toBe(false);
    expect(network.isBlocked(1, 3)).toBe(true);
    expect(network.isBlocked(4, 1)).toBe(true);
    expect(network.isBlocked(3, 4)).toBe(false);
    network.heal();
    expect(network.isBlocked(1, 3)).toBe(false);
  });
});
