// How the client reaches a secured broker: TLS (a CA to trust, optionally a client certificate for
// mutual TLS) and SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) after ApiVersions, as Kafka clients do:
// SaslHandshake v1 names the mechanism, then each token goes in a SaslAuthenticate request.
// `clientSecurityFromProperties` reads the keys of a Kafka client properties file (Java and
// librdkafka names), for the CLI's --command-config.

import { readFileSync } from "node:fs";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { SaslAuthenticateApi } from "../protocol/generated/sasl-authenticate.ts";
import { SaslHandshakeApi } from "../protocol/generated/sasl-handshake.ts";
import { ScramClient, scramMechanismByName } from "../security/scram.ts";

export interface ClientTls {
  /** PEM CA certificates the broker's certificate must chain to (default: the system's). */
  ca?: string;
  /** PEM certificate chain and key for mutual TLS. */
  cert?: string;
  key?: string;
  /** Default true. */
  rejectUnauthorized?: boolean;
}

export interface ClientSasl {
  mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";
  username: string;
  password: string;
}

export interface ClientSecurity {
  tls?: ClientTls;
  sasl?: ClientSasl;
}

/** The part of KafkaConnection the exchange needs. */
interface SaslTransport {
  readonly address: string;
  request: <Request, Response>(api: import("../protocol/api.ts").Api<Request, Response>, body: import("../protocol/primitives.ts").Init<Request>, options?: { version?: number }) => Promise<Response>;
}

/** Authenticate a fresh connection. Throws KafkaError(SASL_AUTHENTICATION_FAILED …) with the broker's message. */
export async function authenticate(connection: SaslTransport, sasl: ClientSasl): Promise<void> {
  const handshake = await connection.request(SaslHandshakeApi, { mechanism: sasl.mechanism }, { version: 1 });
  if (handshake.errorCode !== ErrorCode.NONE) {
    throw new KafkaError(handshake.errorCode, `${connection.address}: SASL mechanism ${sasl.mechanism} refused (broker offers ${handshake.mechanisms.join(", ")})`);
  }
  const step = async (bytes: Uint8Array): Promise<Uint8Array> => {
    const response = await connection.request(SaslAuthenticateApi, { authBytes: bytes });
    if (response.errorCode !== ErrorCode.NONE) throw new KafkaError(response.errorCode, response.errorMessage ?? "SASL authentication failed");
    return response.authBytes;
  };
  if (sasl.mechanism === "PLAIN") {
    await step(new TextEncoder().encode(`\u0000${sasl.username}\u0000${sasl.password}`));
    return;
  }
  const mechanism = scramMechanismByName(sasl.mechanism);
  if (!mechanism) throw new Error(`unsupported SASL mechanism ${sasl.mechanism}`);
  const scram = new ScramClient(mechanism, sasl.username, sasl.password);
  const serverFirst = await step(scram.first());
  const serverFinal = await step(await scram.final(serverFirst));
  scram.verify(serverFinal);
}

/** A Java-style properties text (key=value lines, # comments). */
export function parseProperties(text: string): Map<string, string> {
  const properties = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith("!")) continue;
    const at = line.search(/[=:]/);
    if (at <= 0) continue;
    properties.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return properties;
}

/**
 * security.protocol, sasl.mechanism(s), sasl.username/sasl.password or sasl.jaas.config
 * (username="…" password="…"), ssl.truststore.location / ssl.ca.location (PEM),
 * ssl.keystore.location (PEM key + chain) or ssl.certificate.location + ssl.key.location.
 */
export function clientSecurityFromProperties(properties: ReadonlyMap<string, string>): ClientSecurity {
  const protocol = (properties.get("security.protocol") ?? "PLAINTEXT").toUpperCase();
  if (!["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"].includes(protocol)) throw new Error(`security.protocol ${protocol} is not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL`);
  const security: ClientSecurity = {};
  if (protocol.endsWith("SSL")) {
    const caPath = properties.get("ssl.truststore.location") ?? properties.get("ssl.ca.location");
    const keystore = properties.get("ssl.keystore.location");
    const certPath = properties.get("ssl.certificate.location");
    const keyPath = properties.get("ssl.key.location");
    const keystoreText = keystore ? readFileSync(keystore, "utf8") : undefined;
    security.tls = {
      ca: caPath ? readFileSync(caPath, "utf8") : undefined,
      cert: keystoreText ?? (certPath ? readFileSync(certPath, "utf8") : undefined),
      key: keystoreText ?? (keyPath ? readFileSync(keyPath, "utf8") : undefined),
    };
  }
  if (protocol.startsWith("SASL")) {
    const mechanism = (properties.get("sasl.mechanism") ?? properties.get("sasl.mechanisms") ?? "PLAIN").toUpperCase();
    if (mechanism !== "PLAIN" && mechanism !== "SCRAM-SHA-256" && mechanism !== "SCRAM-SHA-512") throw new Error(`sasl.mechanism ${mechanism} is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`);
    const jaas = properties.get("sasl.jaas.config") ?? "";
    const username = properties.get("sasl.username") ?? /username="([^"]*)"/.exec(jaas)?.[1];
    const password = properties.get("sasl.password") ?? /password="([^"]*)"/.exec(jaas)?.[1];
    if (username === undefined || password === undefined) throw new Error("SASL needs sasl.username and sasl.password (or sasl.jaas.config with username=\"…\" password=\"…\")");
    security.sasl = { mechanism, username, password };
  }
  return security;
}
