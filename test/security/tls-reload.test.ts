// Certificate rotation without a restart: the keystore file is replaced, SIGHUP makes the broker
// read it again; new TLS connections get the new certificate while a connection opened before
// keeps working. An unusable new file is refused (logged) and the old certificate stays.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, writeFileSync } from "node:fs";
import { connect as tlsConnect } from "node:tls";
import { MetadataApi } from "../../src/protocol/generated/index.ts";
import { makeTestCertificates, type TestCertificates } from "../../src/testing/certificates.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { connectTo } from "../helpers/connection.ts";

let broker: Broker;
let certs: TestCertificates;
let keystore: string;

beforeAll(async () => {
  certs = makeTestCertificates();
  keystore = certs.path("live-keystore.pem");
  copyFileSync(certs.path("keystore.pem"), keystore);
  broker = await startBroker({
    set: { listeners: "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,HTTP://127.0.0.1:0", "ssl.keystore.location": keystore },
  });
}, 30000);

afterAll(async () => {
  await broker?.stop();
  certs?.cleanup();
});

/** The fingerprint of the certificate a new TLS connection to the SSL listener is shown. */
function servedFingerprint(): Promise<string> {
  const [host, port] = broker.listeners.get("SSL")!.split(":");
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host, port: Number(port), ca: certs.read("ca.pem"), servername: "localhost" }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.once("error", reject);
  });
}

async function waitForFingerprint(wanted: string): Promise<void> {
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    // A connection that arrives while the listener re-binds (a moment) is reset: try again.
    if ((await servedFingerprint().catch(() => null)) === wanted) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`the listener never served ${wanted}`);
}

test("SIGHUP: new connections get the new certificate; an open connection keeps working", async () => {
  const before = await servedFingerprint();
  const open = await connectTo(broker.listeners.get("SSL")!, "reload", { security: { tls: { ca: certs.read("ca.pem") } } });
  // A new server certificate (same names, new key) replaces the file.
  const rotated = makeTestCertificates();
  try {
    const { execFileSync } = await import("node:child_process");
    execFileSync("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", rotated.path("next.key"), "-out", rotated.path("next.csr"), "-subj", "/CN=localhost"], { stdio: "ignore" });
    writeFileSync(rotated.path("next.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    execFileSync("openssl", ["x509", "-req", "-in", rotated.path("next.csr"), "-CA", certs.path("ca.pem"), "-CAkey", certs.path("ca.key"), "-CAcreateserial", "-out", rotated.path("next.pem"), "-days", "2", "-extfile", rotated.path("next.ext")], { stdio: "ignore" });
    writeFileSync(keystore, rotated.read("next.key") + rotated.read("next.pem"));
    const { X509Certificate } = await import("node:crypto");
    const next = new X509Certificate(rotated.read("next.pem")).fingerprint256;
    expect(next).not.toBe(before);
    process.kill(broker.pid!, "SIGHUP");
    await waitForFingerprint(next);
    const metadata = await open.request(MetadataApi, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    expect(metadata.brokers).toHaveLength(1);
  } finally {
    open.close();
    rotated.cleanup();
  }
}, 30000);

test("an unusable new file is refused and logged; the certificate in use stays", async () => {
  const inUse = await servedFingerprint();
  writeFileSync(keystore, "not a PEM file\n");
  process.kill(broker.pid!, "SIGHUP");
  expect(await servedFingerprint()).toBe(inUse);
  await broker.shutdown();
  expect(broker.lastStderr).toContain("TLS reload failed; keeping the current certificates");
}, 30000);
