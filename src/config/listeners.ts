// `listeners` / `advertised.listeners` entries: NAME://host:port, Kafka's format. PLAINTEXT is
// the Kafka protocol listener, HTTP the HTTP API. An empty host or 0.0.0.0 / :: binds every
// interface and is advertised as this machine's host name unless advertised.listeners says otherwise.

import { hostname } from "node:os";
import { ConfigError } from "./parse.ts";

export interface Listener {
  name: string;
  host: string;
  port: number;
}

export function parseListener(key: string, entry: string): Listener {
  const match = /^([A-Za-z_][A-Za-z0-9_]*):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(entry.trim());
  if (!match) throw new ConfigError(key, `"${entry}" is not NAME://host:port`);
  const port = Number(match[3]);
  if (port > 65535) throw new ConfigError(key, `port ${port} is out of range`);
  const host = match[2]!.replace(/^\[(.*)\]$/, "$1");
  return { name: match[1]!.toUpperCase(), host, port };
}

export function isWildcard(host: string): boolean {
  return host === "" || host === "0.0.0.0" || host === "::";
}

export function formatListener(listener: Listener): string {
  const host = listener.host.includes(":") ? `[${listener.host}]` : listener.host;
  return `${listener.name}://${host}:${listener.port}`;
}

/** The address clients are told for a bound listener (bound port filled in). */
export function advertisedFor(bound: Listener, advertised: Listener[]): Listener {
  const explicit = advertised.find((entry) => entry.name === bound.name);
  if (explicit) return { ...explicit, port: explicit.port === 0 ? bound.port : explicit.port };
  return { ...bound, host: isWildcard(bound.host) ? hostname() : bound.host };
}

// ----- security protocols -------------------------------------------------------------------

export const securityProtocols = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] as const;
export type SecurityProtocol = (typeof securityProtocols)[number];
/** Kafka's SecurityProtocol ids (BrokerEndpoint.securityProtocol). */
export const securityProtocolId: Record<SecurityProtocol, number> = { PLAINTEXT: 0, SSL: 1, SASL_PLAINTEXT: 2, SASL_SSL: 3 };

/** Listener names that are not Kafka client listeners: the HTTP API, and the controllers' own. */
export const httpListenerName = "HTTP";
export const defaultControllerListenerNames = ["CONTROLLER"];

export interface KafkaListener extends Listener {
  securityProtocol: SecurityProtocol;
}

export const usesTls = (protocol: SecurityProtocol): boolean => protocol === "SSL" || protocol === "SASL_SSL";
export const usesSasl = (protocol: SecurityProtocol): boolean => protocol === "SASL_PLAINTEXT" || protocol === "SASL_SSL";

/** listener.security.protocol.map: NAME:PROTOCOL,… */
export function parseProtocolMap(key: string, text: string): Map<string, SecurityProtocol> {
  const map = new Map<string, SecurityProtocol>();
  for (const entry of text.split(",").map((item) => item.trim()).filter((item) => item.length > 0)) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*):([A-Za-z_]+)$/.exec(entry);
    const protocol = match?.[2]!.toUpperCase() as SecurityProtocol | undefined;
    if (!match || !protocol || !securityProtocols.includes(protocol)) {
      throw new ConfigError(key, `"${entry}" is not NAME:PROTOCOL with PROTOCOL one of ${securityProtocols.join(", ")}`);
    }
    map.set(match[1]!.toUpperCase(), protocol);
  }
  return map;
}

/**
 * The security protocol of a listener name, as Kafka decides it: the map's entry; a controller
 * listener missing from a map that was not set explicitly is PLAINTEXT; any other name missing from
 * the map is a configuration error.
 */
export function securityProtocolOf(name: string, map: ReadonlyMap<string, SecurityProtocol>, mapIsExplicit: boolean, controllerNames: readonly string[]): SecurityProtocol {
  const mapped = map.get(name);
  if (mapped) return mapped;
  if (!mapIsExplicit && controllerNames.includes(name)) return "PLAINTEXT";
  throw new ConfigError("listener.security.protocol.map", `no security protocol for listener ${name} (add ${name}:PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)`);
}

/**
 * The Kafka client listeners of `listeners` with their protocols: every entry but HTTP and the
 * controller listeners (controller.listener.names; CONTROLLER by default), which others bind.
 * Names must be distinct, and so must ports other than 0 on one host.
 */
export function kafkaListenersOf(
  listeners: readonly Listener[],
  protocolMapText: string,
  mapIsExplicit: boolean,
  controllerNames: readonly string[] = defaultControllerListenerNames,
): KafkaListener[] {
  const map = parseProtocolMap("listener.security.protocol.map", protocolMapText);
  const names = new Set<string>();
  for (const listener of listeners) {
    if (names.has(listener.name)) throw new ConfigError("listeners", `listener name ${listener.name} appears twice`);
    names.add(listener.name);
  }
  const result: KafkaListener[] = [];
  for (const listener of listeners) {
    if (listener.name === httpListenerName || controllerNames.includes(listener.name)) continue;
    const securityProtocol = securityProtocolOf(listener.name, map, mapIsExplicit, controllerNames);
    const clash = result.find((other) => other.port !== 0 && other.port === listener.port && other.host === listener.host);
    if (clash) throw new ConfigError("listeners", `${listener.name} and ${clash.name} both bind ${listener.host}:${listener.port}`);
    result.push({ ...listener, securityProtocol });
  }
  return result;
}
