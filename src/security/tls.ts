// TLS of the Kafka listeners from Kafka's PEM keys (KIP-651):
//   ssl.keystore.type=PEM with ssl.keystore.location (one file: private key + certificate chain)
//   or ssl.keystore.certificate.chain + ssl.keystore.key (inline PEM); ssl.key.password for an
//   encrypted key; ssl.truststore.location or ssl.truststore.certificates (the CAs client
//   certificates must chain to); ssl.client.auth=required|requested|none.
// Everything is read and checked at start (a key that does not match its certificate, a file
// that is not PEM: a clear error naming the key) and again on reload(), which keeps the old
// material when the new one is unusable.
//
// Client certificates: `required` — Bun (BoringSSL) refuses a client without a certificate that
// chains to the trust store during the handshake (the client sees a TLS alert); `requested` — a
// client may come without one (User:ANONYMOUS) but a certificate it presents must verify. The
// principal is "User:" + the certificate's distinguished name mapped by ssl.principal.mapping.rules.

import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Socket, TLSOptions } from "bun";
import type { BrokerConfig } from "../config/index.ts";
import { ConfigError } from "../config/parse.ts";
import { applyPrincipalRules, distinguishedNameOf, parsePrincipalMappingRules, type PrincipalRule } from "./principal-mapping.ts";

export type ClientVerdict = { kind: "accept"; principal: string | null } | { kind: "refuse"; reason: string };

export interface ListenerTls {
  /** The options Bun.listen takes now. */
  bunOptions(): TLSOptions;
  /** Read the files again; returns the new options (throws, keeping the old, when unusable). */
  reload(): TLSOptions;
  /** After the handshake: keep the client (with its certificate's principal) or refuse it. */
  clientVerdict(socket: Socket<unknown>, success: boolean, authorizationError: Error | null): ClientVerdict;
}

interface PemMaterial {
  cert: string;
  key: string;
  ca: string | undefined;
}

function pemBlocks(text: string, kind: RegExp): string[] {
  return [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)].filter((match) => kind.test(match[1]!)).map((match) => match[0]);
}

function readPem(key: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(key, `cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Key, certificate chain and CAs from the config, checked: the key decrypts and matches the certificate. */
function loadMaterial(config: BrokerConfig): PemMaterial {
  let certificateText: string;
  let keyText: string;
  const location = config["ssl.keystore.location"];
  if (location !== null) {
    const text = readPem("ssl.keystore.location", location);
    certificateText = pemBlocks(text, /CERTIFICATE$/).join("\n");
    keyText = pemBlocks(text, /PRIVATE KEY$/).join("\n");
  } else {
    certificateText = config["ssl.keystore.certificate.chain"] ?? "";
    keyText = config["ssl.keystore.key"] ?? "";
  }
  const keyName = location !== null ? "ssl.keystore.location" : "ssl.keystore.key";
  if (pemBlocks(certificateText, /CERTIFICATE$/).length === 0) {
    throw new ConfigError(location !== null ? "ssl.keystore.location" : "ssl.keystore.certificate.chain", "no PEM certificate (a TLS listener needs ssl.keystore.location, or ssl.keystore.certificate.chain and ssl.keystore.key)");
  }
  if (pemBlocks(keyText, /PRIVATE KEY$/).length !== 1) throw new ConfigError(keyName, "exactly one PEM private key expected");
  const passphrase = config["ssl.key.password"] ?? undefined;
  let privateKey;
  try {
    privateKey = createPrivateKey({ key: keyText, format: "pem", passphrase });
  } catch (error) {
    throw new ConfigError(passphrase === undefined ? keyName : "ssl.key.password", `the private key cannot be read: ${(error as Error).message}`);
  }
  const leaf = new X509Certificate(pemBlocks(certificateText, /CERTIFICATE$/)[0]!);
  if (!leaf.checkPrivateKey(privateKey)) throw new ConfigError(keyName, "the private key does not belong to the first certificate of the chain");
  // Bun is given the decrypted key: no passphrase to keep in its options.
  const key = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  const trustLocation = config["ssl.truststore.location"];
  const trust = trustLocation !== null ? readPem("ssl.truststore.location", trustLocation) : config["ssl.truststore.certificates"];
  const ca = trust === null ? undefined : pemBlocks(trust, /CERTIFICATE$/).join("\n");
  if (trust !== null && !ca) throw new ConfigError(trustLocation !== null ? "ssl.truststore.location" : "ssl.truststore.certificates", "no PEM certificate in the trust store");
  return { cert: certificateText, key, ca };
}

/**
 * This node's TLS as a client of the other nodes' internal listeners (as Kafka's brokers use their
 * keystore and truststore both ways): the trust store's CAs (the system's when none), and the
 * keystore's certificate for a listener that asks for one.
 */
export function peerTlsFromConfig(config: BrokerConfig): { ca?: string; cert: string; key: string } {
  const material = loadMaterial(config);
  return { cert: material.cert, key: material.key, ...(material.ca !== undefined ? { ca: material.ca } : {}) };
}

export function listenerTlsFromConfig(config: BrokerConfig): ListenerTls {
  const clientAuth = config["ssl.client.auth"] as "required" | "requested" | "none";
  const rules: PrincipalRule[] = parsePrincipalMappingRules("ssl.principal.mapping.rules", config["ssl.principal.mapping.rules"]);
  const build = (): TLSOptions => {
    const material = loadMaterial(config);
    if (clientAuth !== "none" && material.ca === undefined) {
      throw new ConfigError("ssl.truststore.location", `ssl.client.auth=${clientAuth} needs a trust store (the CAs client certificates chain to)`);
    }
    return {
      cert: material.cert,
      key: material.key,
      ...(material.ca !== undefined ? { ca: material.ca } : {}),
      requestCert: clientAuth !== "none",
      rejectUnauthorized: clientAuth === "required",
    };
  };
  let current = build();
  return {
    bunOptions: () => current,
    reload() {
      current = build();
      return current;
    },
    clientVerdict(socket, success, authorizationError) {
      if (!success) return { kind: "refuse", reason: `TLS handshake failed: ${String(authorizationError)}` };
      if (clientAuth === "none") return { kind: "accept", principal: null };
      const certificate = socket.getPeerCertificate() as { subject?: Record<string, string | string[]> } | undefined;
      const presented = certificate !== undefined && certificate !== null && certificate.subject !== undefined;
      if (!presented) {
        return clientAuth === "required" ? { kind: "refuse", reason: "no client certificate (ssl.client.auth=required)" } : { kind: "accept", principal: null };
      }
      if (!socket.authorized) return { kind: "refuse", reason: `client certificate does not verify: ${String(socket.getAuthorizationError?.() ?? authorizationError)}` };
      const distinguishedName = distinguishedNameOf(certificate.subject);
      const name = applyPrincipalRules(rules, distinguishedName);
      if (name === null) return { kind: "refuse", reason: `no ssl.principal.mapping.rules apply to ${distinguishedName}` };
      return { kind: "accept", principal: `User:${name}` };
    },
  };
}
