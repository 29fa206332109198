// A simulated network between endpoints (nodes and clients): every message is delivered after a
// random delay (so messages reorder), or dropped, or delivered twice, and links can be cut one
// way or both. A message is dropped when its link is cut either when it is sent or when it would
// arrive, and when its destination is down at arrival.

import type { EventQueue } from "./event-queue.ts";
import type { Prng } from "./prng.ts";

export interface NetworkFaults {
  dropRate: number;
  duplicateRate: number;
  minDelayMs: number;
  maxDelayMs: number;
}

export const CALM_NETWORK: NetworkFaults = { dropRate: 0, duplicateRate: 0, minDelayMs: 1, maxDelayMs: 5 };

interface Endpoint {
  deliver(from: number, message: unknown): void;
  isUp(): boolean;
}

export class SimNetwork {
  faults: NetworkFaults = CALM_NETWORK;
  private readonly endpoints = new Map<number, Endpoint>();
  /** Cut links, as "from>to". */
  private readonly cut = new Set<string>();
  sent = 0;
  dropped = 0;

  constructor(private readonly prng: Prng, private readonly queue: EventQueue, private readonly now: () => number) {}

  register(id: number, endpoint: Endpoint): void {
    this.endpoints.set(id, endpoint);
  }

  send(from: number, to: number, message: unknown): void {
    this.sent++;
    if (this.isCut(from, to) || this.prng.chance(this.faults.dropRate)) {
      this.dropped++;
      return;
    }
    this.schedule(from, to, message);
    if (this.prng.chance(this.faults.duplicateRate)) this.schedule(from, to, message);
  }

  private schedule(from: number, to: number, message: unknown): void {
    const delay = this.prng.int(this.faults.minDelayMs, this.faults.maxDelayMs);
    this.queue.push(this.now() + delay, () => {
      const endpoint = this.endpoints.get(to);
      if (endpoint === undefined || !endpoint.isUp() || this.isCut(from, to)) {
        this.dropped++;
        return;
      }
      endpoint.deliver(from, message);
    });
  }

  isCut(from: number, to: number): boolean {
    return this.cut.size > 0 && this.cut.has(`${from}>${to}`);
  }

  cutOneWay(from: number, to: number): void {
    this.cut.add(`${from}>${to}`);
  }

  cutBoth(a: number, b: number): void {
    this.cutOneWay(a, b);
    this.cutOneWay(b, a);
  }

  /** Split `ids` into groups that cannot reach each other (clients are never cut). */
  partition(groups: readonly (readonly number[])[]): void {
    for (const [index, group] of groups.entries()) {
      for (const other of groups.slice(index + 1)) {
        for (const a of group) for (const b of other) this.cutBoth(a, b);
      }
    }
  }

  /**
   * Jepsen's majorities ring: the nodes in a cycle, each reaching only its neighbours, so each
   * sees a majority (itself and two neighbours of five) but no two see the same one.
   */
  majoritiesRing(ring: readonly number[]): void {
    for (const [index, a] of ring.entries()) {
      for (const [otherIndex, b] of ring.entries()) {
        const distance = Math.min(Math.abs(index - otherIndex), ring.length - Math.abs(index - otherIndex));
        if (distance > 1) this.cutOneWay(a, b);
      }
    }
  }

  heal(): void {
    this.cut.clear();
  }

  describeCuts(): string {
    return this.cut.size === 0 ? "none" : [...this.cut].sort().join(" ");
  }
}
