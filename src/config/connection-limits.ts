// max.connections.per.ip.overrides (Kafka's key): "host:count" entries, comma-separated, e.g.
// "127.0.0.1:200,10.0.0.7:5". Kafka resolves host names once at start; Runnel takes IP addresses only
// (no name lookups at start), and an IPv6 address is split at its last colon ("::1:50").

import { ConfigError } from "./parse.ts";

export function parseConnectionOverrides(text: string): Map<string, number> {
  const overrides = new Map<string, number>();
  for (const raw of text.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const colon = entry.lastIndexOf(":");
    const host = colon > 0 ? entry.slice(0, colon).trim() : "";
    const count = colon > 0 ? entry.slice(colon + 1).trim() : "";
    if (host === "" || !/^\d+$/.test(count)) {
      throw new ConfigError("max.connections.per.ip.overrides", `"${entry}" is not host:count`);
    }
    if (!/^[0-9.]+$/.test(host) && !host.includes(":")) {
      throw new ConfigError("max.connections.per.ip.overrides", `"${host}" is not an IP address (host names are not looked up)`);
    }
    overrides.set(host, Number(count));
  }
  return overrides;
}
