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
