// listeners with Kafka's security protocols (src/config/listeners.ts) and the TLS material of the
// listeners (src/security/tls.ts): the protocol map, CONTROLLER and HTTP left out, clear errors
// naming the key for what cannot work.

import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, kafkaListenersOf, loadBrokerConfig, parseListener } from "../../src/config/index.ts";
import { listenerTlsFromConfig } from "../../src/security/tls.ts";
import { makeTestCertificates } from "../../src/testing/certificates.ts";

const certs = makeTestCertificates();
afterAll(() => certs.cleanup());

const parse = (text: string) => text.split(",").map((entry) => parseListener("listeners", entry));
const defaultMap = "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL";

test("each Kafka listener gets its protocol; HTTP and CONTROLLER are not Kafka client listeners", () => {
  const listeners = kafkaListenersOf(parse("PLAINTEXT://h:1,SASL_SSL://h:2,HTTP://h:3,CONTROLLER://h:4,INTERNAL://h:5"), `${defaultMap},INTERNAL:SASL_PLAINTEXT`, true);
  expect(listeners.map((listener) => [listener.name, listener.securityProtocol])).toEqual([["PLAINTEXT", "PLAINTEXT"], ["SASL_SSL", "SASL_SSL"], ["INTERNAL", "SASL_PLAINTEXT"]]);
});

test("a name missing from the map is refused naming the key; bad map entries too", () => {
  expect(() => kafkaListenersOf(parse("EXTERNAL://h:1"), defaultMap, false)).toThrow(/listener.security.protocol.map.*EXTERNAL/);
  expect(() => kafkaListenersOf(parse("PLAINTEXT://h:1"), "PLAINTEXT:TLS", true)).toThrow(ConfigError);
  expect(() => kafkaListenersOf(parse("PLAINTEXT://h:1,PLAINTEXT://h:2"), defaultMap, false)).toThrow(/appears twice/);
  expect(() => kafkaListenersOf(parse("PLAINTEXT://h:1,SSL://h:1"), defaultMap, false)).toThrow(/both bind/);
});

function tlsConfig(set: Record<string, string>) {
  return loadBrokerConfig({ overrides: Object.entries(set) }).values;
}

test("TLS material: a keystore file, inline PEM, and the errors for what cannot be used", () => {
  expect(listenerTlsFromConfig(tlsConfig({ "ssl.keystore.location": certs.path("keystore.pem") })).bunOptions().requestCert).toBe(false);
  const inline = listenerTlsFromConfig(tlsConfig({ "ssl.keystore.certificate.chain": certs.read("server.pem"), "ssl.keystore.key": certs.read("server.key"), "ssl.truststore.certificates": certs.read("ca.pem"), "ssl.client.auth": "required" }));
  expect(inline.bunOptions()).toMatchObject({ requestCert: true, rejectUnauthorized: true });
  expect(() => listenerTlsFromConfig(tlsConfig({}))).toThrow(/ssl.keystore/);
  expect(() => listenerTlsFromConfig(tlsConfig({ "ssl.keystore.location": join(certs.dir, "missing.pem") }))).toThrow(/cannot read/);
  const mismatched = join(certs.dir, "mismatched.pem");
  writeFileSync(mismatched, certs.read("alice.key") + certs.read("server.pem"));
  expect(() => listenerTlsFromConfig(tlsConfig({ "ssl.keystore.location": mismatched }))).toThrow(/does not belong/);
  expect(() => listenerTlsFromConfig(tlsConfig({ "ssl.keystore.location": certs.path("keystore.pem"), "ssl.client.auth": "required" }))).toThrow(/trust store/);
  expect(() => listenerTlsFromConfig(tlsConfig({ "ssl.keystore.location": certs.path("keystore.pem"), "ssl.principal.mapping.rules": "RULE:x" }))).toThrow(/ssl.principal.mapping.rules/);
});
