// max.connections, max.connections.per.ip and max.connections.per.ip.overrides (Kafka's keys and
// defaults: no limit). A connection over a limit is closed as soon as it is accepted, as Kafka does
// for the per-IP limit (Kafka's acceptor waits for a free slot under max.connections instead; Bun
// gives no way to leave a connection in the backlog, so Runnel closes it and the client retries).
// Refusals are logged once per limit and state change — a client that retries in a loop must not
// flood the log — with the count of refusals when the limit clears.

import { assert } from "../util/assert.ts";
import type { Logger } from "../util/logger.ts";

export interface ConnectionLimiterOptions {
  connectionsMax: number;
  perIpMax: number;
  perIpOverrides: ReadonlyMap<string, number>;
  log: Logger;
}

export class ConnectionLimiter {
  private total = 0;
  private readonly perIp = new Map<string, number>();
  /** Refusals since the limit was last logged as reached, by limit name ("max.connections" or the IP). */
  private readonly refusing = new Map<string, number>();

  constructor(private readonly options: ConnectionLimiterOptions) {
    assert(options.connectionsMax >= 0 && options.perIpMax >= 0, "connection limits are non-negative");
  }

  get connections(): number {
    return this.total;
  }

  private limitFor(ip: string): number {
    return this.options.perIpOverrides.get(ip) ?? this.options.perIpMax;
  }

  /** Count a new connection from `ip`, or refuse it (false) when a limit is reached. */
  admit(ip: string): boolean {
    if (this.total >= this.options.connectionsMax) return this.refuse("max.connections", this.options.connectionsMax, ip);
    const fromIp = this.perIp.get(ip) ?? 0;
    const ipLimit = this.limitFor(ip);
    if (fromIp >= ipLimit) return this.refuse(ip, ipLimit, ip);
    this.total += 1;
    this.perIp.set(ip, fromIp + 1);
    return true;
  }

  /** A connection admitted from `ip` closed. */
  release(ip: string): void {
    const fromIp = this.perIp.get(ip) ?? 0;
    assert(this.total > 0 && fromIp > 0, "release a connection that was admitted");
    this.total -= 1;
    if (fromIp === 1) this.perIp.delete(ip);
    else this.perIp.set(ip, fromIp - 1);
    this.cleared("max.connections", this.total < this.options.connectionsMax);
    this.cleared(ip, fromIp - 1 < this.limitFor(ip));
  }

  private refuse(limit: string, value: number, ip: string): false {
    const refused = this.refusing.get(limit);
    if (refused === undefined) {
      const what = limit === "max.connections" ? `max.connections (${value})` : `max.connections.per.ip (${value}) for ${ip}`;
      this.options.log.warn(`${what} reached: closing new connections until some close`);
      this.refusing.set(limit, 1);
    } else {
      this.refusing.set(limit, refused + 1);
      this.options.log.debug("connection refused", { limit, remote: ip });
    }
    return false;
  }

  private cleared(limit: string, below: boolean): void {
    const refused = this.refusing.get(limit);
    if (refused === undefined || !below) return;
    this.refusing.delete(limit);
    this.options.log.info("accepting connections again", { limit, refused });
  }
}
