// SASL and TLS handshakes on the wire, against a broker process: requests before authentication,
// garbage and truncated frames, a SCRAM exchange replayed from another connection, random SASL
// tokens, the bare tokens of SaslHandshake v0, random bytes and a cut ClientHello on the TLS port,
// and connections.max.reauth.ms (KIP-368). Each ends with the connection closed or the exchange
// refused — never authenticated — and afterwards the broker still serves a good client.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect as tlsConnect } from "node:tls";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { MetadataApi, SaslAuthenticateApi, SaslHandshakeApi } from "../../src/protocol/generated/index.ts";
import { ScramClient, scramMechanismByName } from "../../src/security/scram.ts";
import { prng } from "../../src/testing/record-batches.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { makeTestCertificates, type TestCertificates } from "../../src/testing/certificates.ts";
import { connectTo } from "../helpers/connection.ts";
import { decodeResponse, encodeRequest, RawConnection } from "../helpers/raw-wire.ts";

let broker: Broker;
let certs: TestCertificates;
const sha512 = scramMechanismByName("SCRAM-SHA-512")!;
const sasl = () => broker.listeners.get("SASL_PLAINTEXT")!;
const metadataRequest = (correlationId: number) => encodeRequest(MetadataApi, 12, correlationId, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });

beforeAll(async () => {
  certs = makeTestCertificates();
  broker = await startBroker({
    set: {
      listeners: "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,HTTP://127.0.0.1:0",
      "ssl.keystore.location": certs.path("keystore.pem"),
      "ssl.client.auth": "none",
      "bootstrap.scram.users": "SCRAM-SHA-512=[name=alice,password=alice-secret,iterations=4096];SCRAM-SHA-512=[name=bob,password=bob-secret,iterations=4096]",
      "super.users": "User:alice",
      "connection.failed.authentication.delay.ms": 0,
      "connections.max.reauth.ms": 1500,
    },
  });
}, 30000);

afterAll(async () => {
  await broker?.stop();
  certs?.cleanup();
});

/** SaslHandshake v1 for `mechanism` on a raw connection; returns the next correlation id. */
async function handshake(raw: RawConnection, mechanism: string, correlationId = 1): Promise<void> {
  await raw.send(encodeRequest(SaslHandshakeApi, 1, correlationId, { mechanism }));
  const [frame] = await raw.waitFrames(raw.frames.length + 1);
  expect(decodeResponse(SaslHandshakeApi, 1, raw.frames.at(-1)!).body.errorCode).toBe(ErrorCode.NONE);
  void frame;
}

async function authenticate(raw: RawConnection, correlationId: number, token: Uint8Array): Promise<{ errorCode: number; authBytes: Uint8Array; sessionLifetimeMs: bigint }> {
  const before = raw.frames.length;
  await raw.send(encodeRequest(SaslAuthenticateApi, 2, correlationId, { authBytes: token }));
  await raw.waitFrames(before + 1);
  return decodeResponse(SaslAuthenticateApi, 2, raw.frames.at(-1)!).body;
}

async function stillServes(): Promise<void> {
  const connection = await connectTo(sasl(), "after-fuzz", { security: { sasl: { mechanism: "SCRAM-SHA-512", username: "alice", password: "alice-secret" } } });
  const metadata = await connection.request(MetadataApi, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  expect(metadata.brokers.length).toBe(1);
  connection.close();
}

test("a request before SASL closes the connection; ApiVersions is served", async () => {
  const raw = await RawConnection.connect(sasl());
  await raw.send(metadataRequest(7));
  expect(await raw.waitClosed()).toBe(true);
  expect(raw.frames).toHaveLength(0);
  const connection = await connectTo(sasl(), "versions-only");
  expect(connection.versions?.get(SaslHandshakeApi.apiKey)?.maxVersion).toBe(1);
  connection.close();
});

test("an unknown mechanism answers UNSUPPORTED_SASL_MECHANISM with the list, then closes", async () => {
  const raw = await RawConnection.connect(sasl());
  await raw.send(encodeRequest(SaslHandshakeApi, 1, 1, { mechanism: "GSSAPI" }));
  await raw.waitFrames(1);
  const body = decodeResponse(SaslHandshakeApi, 1, raw.frames[0]!).body;
  expect(body.errorCode).toBe(ErrorCode.UNSUPPORTED_SASL_MECHANISM);
  expect(body.mechanisms).toEqual(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]);
  expect(await raw.waitClosed()).toBe(true);
});

test("a SCRAM exchange replayed on another connection is refused", async () => {
  // Record a successful exchange.
  const recorded = new ScramClient(sha512, "alice", "alice-secret");
  const first = await RawConnection.connect(sasl());
  await handshake(first, "SCRAM-SHA-512");
  const clientFirst = recorded.first();
  const serverFirst = await authenticate(first, 2, clientFirst);
  const clientFinal = await recorded.final(serverFirst.authBytes);
  expect((await authenticate(first, 3, clientFinal)).errorCode).toBe(ErrorCode.NONE);
  first.close();
  // Replay both client messages to a new connection: the server nonce differs, the proof is refused.
  const replay = await RawConnection.connect(sasl());
  await handshake(replay, "SCRAM-SHA-512");
  expect((await authenticate(replay, 2, clientFirst)).errorCode).toBe(ErrorCode.NONE);
  const refused = await authenticate(replay, 3, clientFinal);
  expect(refused.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
  expect(await replay.waitClosed()).toBe(true);
  await stillServes();
});

test("random SASL tokens and garbage frames: refused or closed, never authenticated", async () => {
  const random = prng(20261203);
  const bytes = (length: number) => Uint8Array.from({ length }, () => Math.floor(random() * 256));
  for (let round = 0; round < 60; round++) {
    const raw = await RawConnection.connect(sasl());
    const mechanism = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"][round % 3]!;
    if (round % 4 === 3) {
      // A frame of garbage (a size prefix, then random bytes), or a frame cut short then closed.
      const body = bytes(8 + Math.floor(random() * 200));
      const frame = new Uint8Array(4 + body.length);
      new DataView(frame.buffer).setInt32(0, round % 8 === 7 ? body.length + 100 : body.length);
      frame.set(body, 4);
      await raw.send(frame);
      if (round % 8 === 7) raw.end();
      expect(await raw.waitClosed()).toBe(true);
      continue;
    }
    await handshake(raw, mechanism);
    const response = await authenticate(raw, 2, bytes(Math.floor(random() * 300)));
    const second = response.errorCode === ErrorCode.NONE ? await authenticate(raw, 3, bytes(Math.floor(random() * 300))) : response;
    expect(second.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
    expect(await raw.waitClosed()).toBe(true);
  }
  await stillServes();
}, 60000);

test("SaslHandshake v0: bare tokens; PLAIN authenticates, garbage closes", async () => {
  const good = await RawConnection.connect(sasl());
  await good.send(encodeRequest(SaslHandshakeApi, 0, 1, { mechanism: "PLAIN" }));
  await good.waitFrames(1);
  const token = new TextEncoder().encode("\u0000alice\u0000alice-secret");
  const frame = new Uint8Array(4 + token.length);
  new DataView(frame.buffer).setInt32(0, token.length);
  frame.set(token, 4);
  await good.send(frame);
  await good.waitFrames(2);
  expect(good.frames[1]!.length).toBe(0); // PLAIN's (empty) server token
  await good.send(metadataRequest(3));
  await good.waitFrames(3);
  expect(decodeResponse(MetadataApi, 12, good.frames[2]!).body.brokers.length).toBe(1);
  good.close();
  const bad = await RawConnection.connect(sasl());
  await bad.send(encodeRequest(SaslHandshakeApi, 0, 1, { mechanism: "PLAIN" }));
  await bad.waitFrames(1);
  await bad.send(new Uint8Array([0, 0, 0, 5, 1, 2, 3, 4, 5]));
  expect(await bad.waitClosed()).toBe(true);
  expect(bad.frames).toHaveLength(1);
});

test("TLS port: random bytes and a cut ClientHello close the connection; TLS clients are still served", async () => {
  const address = broker.listeners.get("SSL")!;
  const random = prng(7);
  for (let round = 0; round < 20; round++) {
    const raw = await RawConnection.connect(address);
    const junk = Uint8Array.from({ length: 1 + Math.floor(random() * 400) }, () => Math.floor(random() * 256));
    // Half the rounds look like a TLS record header (handshake, TLS 1.2) followed by garbage.
    if (round % 2 === 0) junk.set([0x16, 0x03, 0x01, 0x02, 0x00], 0);
    await raw.send(junk);
    raw.end();
    expect(await raw.waitClosed()).toBe(true);
    expect(raw.frames).toHaveLength(0);
  }
  const [host, port] = address.split(":");
  const served = await new Promise<boolean>((resolve, reject) => {
    const socket = tlsConnect({ host, port: Number(port), ca: certs.read("ca.pem"), servername: "localhost" }, () => {
      socket.write(Buffer.from(metadataRequest(1)));
    });
    socket.once("data", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", reject);
  });
  expect(served).toBe(true);
}, 30000);

test("connections.max.reauth.ms: the session lifetime is announced; a re-authentication extends it; an expired session is closed", async () => {
  const raw = await RawConnection.connect(sasl());
  await handshake(raw, "PLAIN");
  const done = await authenticate(raw, 2, new TextEncoder().encode("\u0000alice\u0000alice-secret"));
  expect(done.errorCode).toBe(ErrorCode.NONE);
  expect(done.sessionLifetimeMs).toBe(1500n);
  // Re-authenticate on the same connection (KIP-368: a new v1 handshake), as the same user.
  await handshake(raw, "PLAIN", 3);
  expect((await authenticate(raw, 4, new TextEncoder().encode("\u0000alice\u0000alice-secret"))).errorCode).toBe(ErrorCode.NONE);
  // Then stop re-authenticating: requests are served until the session expires, then the connection closes.
  const deadline = Date.now() + 10000;
  let correlationId = 10;
  while (!raw.isClosed && Date.now() < deadline) {
    await raw.send(metadataRequest(correlationId++));
    await Promise.race([raw.waitForCorrelationId(correlationId - 1), raw.waitClosed(1000)]);
  }
  expect(raw.isClosed).toBe(true);
  expect(raw.frames.length).toBeGreaterThan(4);
  // Re-authenticating as another user is refused, and the connection closes.
  const other = await RawConnection.connect(sasl());
  await handshake(other, "PLAIN");
  expect((await authenticate(other, 2, new TextEncoder().encode("\u0000alice\u0000alice-secret"))).errorCode).toBe(ErrorCode.NONE);
  await handshake(other, "PLAIN", 3);
  expect((await authenticate(other, 4, new TextEncoder().encode("\u0000bob\u0000bob-secret"))).errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
  expect(await other.waitClosed()).toBe(true);
}, 20000);
