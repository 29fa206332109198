// ssl.client.auth=required, with kcat (librdkafka): a client with no certificate gets the TLS
// alert certificate_required (116) from the handshake and librdkafka names it; an untrusted or an
// expired certificate is refused before any request is served — librdkafka reports an SSL error
// ("SSL routines"), though not an alert: Bun 1.4.4 completes the handshake whatever the
// certificate (its verify callback always continues; oven-sh/bun#33630, not released) and the
// broker can only close the connection. A client with a good certificate is served throughout.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { makeTestCertificates, type TestCertificates } from "../../src/testing/certificates.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";

let certs: TestCertificates;
let broker: Broker;

beforeAll(async () => {
  certs = makeTestCertificates();
  broker = await startBroker({
    set: {
      listeners: "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
      "ssl.keystore.location": certs.path("keystore.pem"),
      "ssl.truststore.location": certs.path("ca.pem"),
      "ssl.client.auth": "required",
      "super.users": "User:CN=alice,OU=eng,O=Acme",
    },
  });
}, 30_000);

afterAll(async () => {
  await broker?.stop();
  certs?.cleanup();
});

async function kcatMetadata(certificate: string | null): Promise<{ code: number; stdout: string; stderr: string }> {
  const certificateSettings = certificate === null ? [] : ["-X", `ssl.certificate.location=${certs.path(`${certificate}.pem`)}`, "-X", `ssl.key.location=${certs.path(`${certificate}.key`)}`];
  const child = Bun.spawn([
    "kcat", "-b", broker.listeners.get("SSL")!, "-X", "broker.address.family=v4", "-X", "security.protocol=SSL",
    "-X", `ssl.ca.location=${certs.path("ca.pem")}`, ...certificateSettings, "-L", "-m", "3",
  ], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

test("required client certificates: missing, untrusted and expired are refused at the TLS layer; a good one is served", async () => {
  const [missing, rogue, expired, alice] = await Promise.all([kcatMetadata(null), kcatMetadata("rogue"), kcatMetadata("expired"), kcatMetadata("alice")]);
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toMatch(/alert certificate required|SSL alert number 116/);
  for (const refused of [rogue, expired]) {
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/SSL routines|SSL handshake failed/);
    expect(refused.stdout).not.toContain("Metadata for");
  }
  expect(alice.code).toBe(0);
  expect(alice.stdout).toContain("Metadata for all topics");
}, 60_000);
