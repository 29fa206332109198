// Broker liveness on the active controller (docs/replication.md §3): every BrokerHeartbeat renews
// its broker's session; a broker with no heartbeat for `broker.session.timeout.ms` is fenced, and
// so is one whose heartbeat connection closes (a killed process closes its sockets: no need to wait
// for the timeout; a cut network does not, and waits). Fencing moves the broker's leaderships and
// takes it out of ISRs (controller/partition-changes.ts).
//
// Sessions live only in the active controller's memory: on becoming active every unfenced broker
// gets a fresh session (it has had no chance to heartbeat to this controller yet). A fresh session
// would leave a broker that died with the previous controller — typically the previous controller
// itself, killed — unfenced for a whole session timeout, and the closing of its heartbeat connection
// was seen only by the dead controller. So a new active controller probes each unfenced broker's
// internal listener once: a refused, reset or unanswered-closed connection means its process is
// gone (loopback and a live kernel answer at once), and it is fenced at its registered epoch, as for
// a closed heartbeat connection (a broker that registered again meanwhile has a new epoch and is
// left alone). A probe that gets no answer in time (a stopped process, a stalled network) decides
// nothing: the session timeout applies, as before.

import type { ProbeOutcome } from "../../client/peer-connections.ts";
import type { Logger } from "../../util/logger.ts";
import type { QuorumController } from "./quorum-controller.ts";

interface Session {
  brokerEpoch: bigint;
  lastHeartbeatMs: number;
  /** The connection its heartbeats came on (closing it fences the broker). */
  connectionId: number | null;
}

export interface BrokerSessionsOptions {
  controller: QuorumController;
  sessionTimeoutMs: number;
  /** This node's own broker: never fenced by the session check (it heartbeats in-process when it leads). */
  selfId: number;
  logger: Logger;
  now?: () => number;
  /** Probe a broker's internal listener once (on becoming active); none: no probes. */
  probe?: (brokerId: number) => Promise<ProbeOutcome>;
}

export class BrokerSessions {
  private readonly sessions = new Map<number, Session>();
  private readonly timer: ReturnType<typeof setInterval>;
  private wasActive = false;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: BrokerSessionsOptions) {
    this.now = options.now ?? Date.now;
    const period = Math.max(10, Math.floor(options.sessionTimeoutMs / 5));
    this.timer = setInterval(() => this.check(), period);
    options.controller.onActivated((epoch) => this.probeBrokers(epoch));
  }

  /** On becoming the active controller of quorum epoch `epoch`: fence the brokers whose process is gone. */
  private probeBrokers(epoch: number): void {
    const probe = this.options.probe;
    if (probe === undefined || this.closed) return;
    for (const broker of this.options.controller.committedImage.brokers.values()) {
      if (broker.fenced || broker.id === this.options.selfId) continue;
      const startedAt = this.now();
      probe(broker.id).then(
        (outcome) => {
          // Still this activation: a later one probes again on its own image.
          if (this.closed || this.options.controller.activeEpoch !== epoch) return;
          if (outcome !== "gone") {
            this.options.logger.info("probed a broker on taking over: left to its session", { broker: broker.id, outcome, ms: this.now() - startedAt });
            return;
          }
          this.sessions.delete(broker.id);
          this.fence(broker.id, broker.epoch, `its internal listener refused or closed the connection when this controller took over (probe took ${this.now() - startedAt} ms)`);
        },
        (error: unknown) => this.options.logger.warn("probing a broker failed", { broker: broker.id, error: String(error) }),
      );
    }
  }

  /** A heartbeat (or registration) from `brokerId` on connection `connectionId`. */
  heartbeat(brokerId: number, brokerEpoch: bigint, connectionId: number | null): void {
    this.sessions.set(brokerId, { brokerEpoch, lastHeartbeatMs: this.now(), connectionId });
  }

  /** The connection `connectionId` closed: fence the brokers whose heartbeats it carried. */
  connectionClosed(connectionId: number): void {
    if (this.closed || !this.options.controller.isActive) return;
    for (const [brokerId, session] of this.sessions) {
      if (session.connectionId !== connectionId) continue;
      this.sessions.delete(brokerId);
      this.fence(brokerId, session.brokerEpoch, "its heartbeat connection closed");
    }
  }

  private check(): void {
    const controller = this.options.controller;
    if (this.closed) return;
    if (!controller.isActive) {
      this.wasActive = false;
      this.sessions.clear();
      return;
    }
    const now = this.now();
    const image = controller.committedImage;
    if (!this.wasActive) {
      this.wasActive = true;
      for (const broker of image.brokers.values()) {
        if (!broker.fenced) this.sessions.set(broker.id, { brokerEpoch: broker.epoch, lastHeartbeatMs: now, connectionId: null });
      }
    }
    for (const broker of image.brokers.values()) {
      if (broker.fenced || broker.id === this.options.selfId) continue;
      const session = this.sessions.get(broker.id);
      if (session === undefined) {
        this.sessions.set(broker.id, { brokerEpoch: broker.epoch, lastHeartbeatMs: now, connectionId: null });
        continue;
      }
      if (now - session.lastHeartbeatMs < this.options.sessionTimeoutMs) continue;
      this.sessions.delete(broker.id);
      this.fence(broker.id, broker.epoch, `no heartbeat for ${now - session.lastHeartbeatMs} ms (broker.session.timeout.ms=${this.options.sessionTimeoutMs})`);
    }
  }

  private fence(brokerId: number, brokerEpoch: bigint, reason: string): void {
    this.options.controller.fenceBroker(brokerId, brokerEpoch).then(
      (result) => {
        if (result.value) this.options.logger.info("fenced a broker", { broker: brokerId, reason });
      },
      (error: unknown) => this.options.logger.warn("fencing a broker failed", { broker: brokerId, error: String(error) }),
    );
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }
}
