// HTTPS with ALPN: with http.ssl.certificate.location and http.ssl.key.location set, the HTTP
// listener serves TLS and offers h2 (and http/1.1) by ALPN: curl --http2 negotiates HTTP/2,
// curl --http1.1 stays on HTTP/1.1, node:http2 connects with the certificate as its CA.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, startBroker, type Broker } from "../helpers/broker.ts";
import { curl, h2, h2Session } from "./helpers.ts";

let broker: Broker;
let directory: string;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), "runnel-tls-"));
  await run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(directory, "key.pem"), "-out", join(directory, "cert.pem")]);
  broker = await startBroker({ set: { "http.ssl.certificate.location": join(directory, "cert.pem"), "http.ssl.key.location": join(directory, "key.pem") } });
});
afterAll(async () => {
  await broker?.stop();
  rmSync(directory, { recursive: true, force: true });
});

test("TLS: ALPN h2 for curl --http2 and node:http2, HTTP/1.1 still served", async () => {
  expect(broker.httpUrl).toStartWith("https://127.0.0.1:");
  const cacert = join(directory, "cert.pem");
  const viaH2 = await curl("1.1", "GET", `${broker.httpUrl}/healthz`, { extra: ["--http2", "--cacert", cacert] });
  expect(viaH2.status).toBe(200);
  expect(viaH2.version).toBe("2");
  const viaH1 = await curl("1.1", "GET", `${broker.httpUrl}/healthz`, { extra: ["--cacert", cacert] });
  expect(viaH1.status).toBe(200);
  expect(viaH1.version).toBe("1.1");
  const session = h2Session(broker.httpUrl, { ca: readFileSync(cacert, "utf8") });
  try {
    const answer = await h2(session, "GET", "/readyz");
    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual({ status: "ready" });
  } finally {
    session.close();
  }
  // Plain HTTP on the TLS port is refused (no cleartext fallback).
  await expect(fetch(broker.httpUrl.replace("https:", "http:") + "/healthz")).rejects.toThrow();
});
